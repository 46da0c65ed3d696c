"""Registration, login, token refresh and logout, and user accounts."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from storekeeper.db.accounts import SqlRateLimiter
from storekeeper.domain import accounts
from storekeeper.domain.errors import Unauthenticated
from storekeeper.http.bodies import guard, read_body, respond
from storekeeper.http.clients import client_address
from storekeeper.http.context import (
    current_actor,
    database,
    passwords,
    request_claims,
    settings,
    tokens,
    unit_of_work,
)
from storekeeper.http.idempotency import bind
from storekeeper.http.openapi import operation
from storekeeper.http.problems import ApiError
from storekeeper.http.schemas import (
    AccessTokenOut,
    LoginIn,
    RegisterIn,
    TokensOut,
    UserCreatedOut,
    UserOut,
)
from storekeeper.ratelimit import RateLimiterUnavailable, RedisRateLimiter
from storekeeper.security import Claims

bp = Blueprint("users", __name__)
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _claims() -> Claims:
    claims = request_claims()
    if claims is None:  # authenticate_request refuses such requests before the handler
        raise Unauthenticated("A bearer token is required.")
    return claims


@bp.post("/register")
@operation(
    "Users",
    status=201,
    response=UserCreatedOut,
    body=RegisterIn,
    errors=(409,),
    creates="/user/{id}",
)
def register() -> Response:
    """Create an account; usernames and emails are unique case-insensitively."""
    data = read_body(RegisterIn)
    with unit_of_work(write=True) as work:
        user = accounts.register(
            work.accounts, passwords(), data.username, data.password, data.email
        )
        return bind(work, respond(UserCreatedOut, user, 201, {"Location": f"/user/{user.id}"}))


def _check_rate(username: str) -> None:
    cfg = settings()
    client = client_address(
        request.remote_addr, request.headers.get("X-Forwarded-For"), cfg.trusted_proxies
    )
    keys = accounts.rate_limit_keys(username, client)
    redis_limiter: RedisRateLimiter | None = current_app.extensions.get("storekeeper.redis_limiter")
    if redis_limiter is not None:
        try:
            wait = redis_limiter.hit(keys)
        except RateLimiterUnavailable:
            raise ApiError(
                503, "Login is unavailable: the rate limiter cannot count.", {"Retry-After": "5"}
            ) from None
    else:
        with database().unit_of_work(write=True) as conn:
            wait = SqlRateLimiter(conn, cfg.login_rate_limit).hit(keys)
    if wait is not None:
        raise ApiError(429, "Too many login attempts; retry later.", {"Retry-After": str(wait)})


@bp.post("/login")
@operation("Users", response=TokensOut, body=LoginIn, errors=(401, 429))
def login() -> Response:
    """Exchange a username and password for an access and a refresh token.

    A wrong username and a wrong password get the same 401. More than the configured number of
    attempts per minute for one username or from one address get 429 with `Retry-After`.
    """
    data = read_body(LoginIn)
    _check_rate(data.username)
    # A read transaction: on SQLite a write one would hold the database's write lock for the
    # whole password check. The rare rehash after a parameter change upgrades it.
    with unit_of_work() as work:
        session = accounts.login(work.accounts, passwords(), tokens(), data.username, data.password)
    return respond(TokensOut, session, 200, NO_STORE)


@bp.post("/refresh")
@operation("Users", response=AccessTokenOut, auth=True, token_kind="refresh")  # noqa: S106
def refresh() -> Response:
    """Exchange a refresh token (as Bearer) for a new access token."""
    claims = _claims()
    with unit_of_work() as work:
        access = accounts.refresh(
            work.accounts, tokens(), claims.user_id, claims.session_id, claims.issued_at
        )
    body = {"access_token": access, "token_type": "Bearer", "expires_in": tokens().access_ttl}
    return respond(AccessTokenOut, body, 200, NO_STORE)


@bp.post("/logout")
@operation("Users", status=204, auth=True)
def logout() -> Response:
    """Revoke the session: its access token and the refresh token issued with it."""
    claims = _claims()
    with unit_of_work(write=True) as work:
        current_actor(work)
        accounts.logout(work.accounts, tokens(), claims.user_id, claims.session_id)
        return bind(work, Response(status=204))


@bp.get("/user/me")
@operation("Users", response=UserOut, auth=True)
def get_me() -> Response:
    """Read the caller's own account."""
    with unit_of_work() as work:
        actor = current_actor(work)
        user = accounts.get_user(work.accounts, actor, _claims().user_id)
    return respond(UserOut, user)


@bp.get("/user/<id:id>")
@operation("Users", response=UserOut, auth=True)
def get_user(id: int) -> Response:
    """Read a user (the user themself or an admin)."""
    with unit_of_work() as work:
        user = accounts.get_user(work.accounts, current_actor(work), id)
    return respond(UserOut, user)


@bp.delete("/user/<id:id>")
@operation("Users", status=204, auth=True, errors=(409,), conditional=True)
def delete_user(id: int) -> Response:
    """Delete a user who owns no store (the user themself or an admin)."""
    with unit_of_work(write=True) as work:
        check = guard(UserOut, lambda: work.accounts.get_user(id), lambda: work.accounts.lock(id))
        accounts.delete_user(work.accounts, current_actor(work), id, check)
    return Response(status=204)
