"""Registration, login, token refresh and logout, and user accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from email_validator import EmailNotValidError, validate_email
from flask import Blueprint, Response, request
from pydantic import AfterValidator, BaseModel, Field, StrictStr

from storekeeper.domain import accounts, values
from storekeeper.domain.accounts import ACCOUNTS
from storekeeper.domain.errors import Unauthenticated
from storekeeper.domain.jobs import JOBS
from storekeeper.domain.model import Actor
from storekeeper.domain.ports import Work
from storekeeper.http.bodies import guard, respond
from storekeeper.http.clients import client_address
from storekeeper.http.conditional import Preconditions
from storekeeper.http.context import services
from storekeeper.http.identity import Caller
from storekeeper.http.operations import operation
from storekeeper.http.schemas import CREATED_AT, NO_NUL, InModel, OutModel, example

bp = Blueprint("users", __name__)
# Pragma for HTTP/1.0 caches that predate Cache-Control.
NO_STORE = {"Cache-Control": "private, no-store", "Pragma": "no-cache"}


@bp.after_request
def private(response: Response) -> Response:
    """Accounts and tokens are one person's: no shared cache keeps them, and no browser either."""
    response.headers.update(NO_STORE)
    return response


# Request and response models


# The pattern documents the rule; the validator words its refusal.
Username = Annotated[
    StrictStr,
    Field(
        min_length=values.USERNAME_MIN,
        max_length=values.USERNAME_MAX,
        json_schema_extra={"pattern": f"^{values.USERNAME_CHARS.pattern}$"},
    ),
    AfterValidator(values.check_username),
]
Password = Annotated[
    StrictStr,
    Field(min_length=values.PASSWORD_MIN, max_length=values.PASSWORD_MAX, json_schema_extra=NO_NUL),
]


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError:
        raise ValueError("is not a valid email address") from None


Email = Annotated[
    StrictStr,
    Field(max_length=254, json_schema_extra={"format": "email"}),
    AfterValidator(_email),
]


class RegisterIn(InModel):
    """A new account."""

    model_config = example(
        {"username": "ada", "password": "correct horse battery", "email": "ada@example.com"}
    )

    username: Username
    password: Password
    email: Email | None = None


class LoginIn(InModel):
    """Credentials."""

    model_config = example({"username": "ada", "password": "correct horse battery"})

    username: Annotated[StrictStr, Field(min_length=1, max_length=40, json_schema_extra=NO_NUL)]
    password: Annotated[StrictStr, Field(min_length=1, max_length=128, json_schema_extra=NO_NUL)]


class UserCreatedOut(OutModel):
    """A registered user."""

    model_config = example({"id": 1, "username": "ada"})

    id: int
    username: str


class UserOut(OutModel):
    """A user, as seen by themself or an admin."""

    model_config = example(
        {
            "id": 1,
            "username": "ada",
            "email": "ada@example.com",
            "email_verified": True,
            "is_admin": False,
            "created_at": CREATED_AT,
        }
    )

    id: int
    username: str
    email: str | None
    # Whether the address's verification link was used (false when there is no address).
    email_verified: bool
    is_admin: bool
    created_at: datetime


# Tokens as they look (three base64url parts); these are no real tokens of any server.
_ACCESS = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwidHlwIjoiYWNjZXNzIn0.c2lnbmF0dXJl"
_REFRESH = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxIiwidHlwIjoicmVmcmVzaCJ9.c2lnbmF0dXJl"


class TokensOut(BaseModel):
    """The tokens of a new session."""

    model_config = example(
        {
            "access_token": _ACCESS,
            "refresh_token": _REFRESH,
            "token_type": "Bearer",
            "expires_in": 900,
        }
    )

    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int


class AccessTokenOut(BaseModel):
    """A fresh access token."""

    model_config = example({"access_token": _ACCESS, "token_type": "Bearer", "expires_in": 900})

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int


# Handlers


@bp.post("/register")
@operation(
    "Users",
    status=201,
    response=UserCreatedOut,
    body=RegisterIn,
    errors=(409, 429),
    creates="/user/{id}",
)
def register(body: RegisterIn) -> Response:
    """Create an account; usernames and emails are unique case-insensitively.

    With an `email`, a welcome email goes to it (from the background worker) with a link
    that verifies the address. More than the configured number of registrations from one
    client address (default 10 an hour in production, 1,000 in development) get 429 with
    `Retry-After`.
    """
    # Its own units of work: the password is hashed between the check and the insert, in no
    # transaction (so its answer is stored under an Idempotency-Key in one more).
    found = services()
    with found.sign_ins():
        accounts.check_register_rate(found.limiter, found.settings.register_rate_limit, client())
        with found.units() as work:
            accounts.check_new_account(work[ACCOUNTS], body.username, body.email)
        account = accounts.hash_new_account(
            found.passwords, body.username, body.password, body.email
        )
        with found.units(write=True) as work:
            user = accounts.add_account(work[ACCOUNTS], account, jobs=work[JOBS])
    return respond(UserCreatedOut, user, 201, {"Location": f"/user/{user.id}"})


def client() -> str:
    """The address an attempt is counted against (the proxy's client, when trusted)."""
    trusted = services().settings.trusted_proxies
    return client_address(request.remote_addr, request.headers.get("X-Forwarded-For"), trusted)


@bp.post("/login")
@operation("Users", response=TokensOut, body=LoginIn, errors=(401, 429), idempotency_key=False)
def login(body: LoginIn) -> Response:
    """Exchange a username and password for an access and a refresh token.

    A wrong username and a wrong password get the same 401. More than the configured number of
    attempts per minute from one client address, or five times as many failed attempts for one
    username from all addresses together, get 429 with `Retry-After`.
    """
    found = services()
    limit = found.settings.login_rate_limit
    with found.sign_ins():
        accounts.check_login_rate(found.limiter, limit, body.username, client())
        try:
            session = accounts.login(
                found.units, found.passwords, found.tokens, body.username, body.password
            )
        except Unauthenticated:
            accounts.count_failed_login(found.limiter, limit, body.username)
            raise
    return respond(TokensOut, session, 200)


@bp.post("/refresh")
@operation(
    "Users",
    response=AccessTokenOut,
    auth=True,
    token_kind="refresh",  # noqa: S106
    idempotency_key=False,
)
def refresh(caller: Caller) -> Response:
    """Exchange a refresh token (as Bearer) for a new access token."""
    tokens = services().tokens
    access = accounts.refresh(tokens, caller.actor, caller.claims.session_id, caller.claims.stamp)
    body = {"access_token": access, "token_type": "Bearer", "expires_in": tokens.access_ttl}
    return respond(AccessTokenOut, body, 200)


# Idempotent by itself: a retry meets an ended session (401). A key would name the session
# only through the token, so a key reused in a new session would replay and end nothing.
@bp.post("/logout")
@operation("Users", status=204, auth=True, idempotency_key=False)
def logout(caller: Caller, work: Work) -> Response:
    """Revoke the session: its access token and the refresh token issued with it.

    A retry gets 401: the session has ended. `Idempotency-Key` is ignored here.
    """
    claims = caller.claims
    accounts.logout(work[ACCOUNTS], services().tokens, claims.user_id, claims.session_id)
    return Response(status=204)


@bp.get("/user/me")
@operation("Users", response=UserOut, auth=True)
def get_me(actor: Actor, work: Work) -> Response:
    """Read the caller's own account."""
    return respond(UserOut, accounts.get_user(work[ACCOUNTS], actor, actor.user_id))


@bp.get("/user/<id:id>")
@operation("Users", response=UserOut, auth=True)
def get_user(id: int, actor: Actor, work: Work) -> Response:
    """Read a user (the user themself or an admin)."""
    return respond(UserOut, accounts.get_user(work[ACCOUNTS], actor, id))


@bp.delete("/user/<id:id>")
@operation("Users", status=204, auth=True, errors=(409,), conditional=True)
def delete_user(id: int, actor: Actor, work: Work, conditions: Preconditions | None) -> Response:
    """Delete a user who owns no store (the user themself or an admin)."""
    repo = work[ACCOUNTS]
    check = guard(conditions, UserOut, lambda: repo.get_user(id), lambda: repo.lock_user(id))
    accounts.delete_user(repo, actor, id, check)
    return Response(status=204)
