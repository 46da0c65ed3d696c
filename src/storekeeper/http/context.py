"""Per-request access to the database, the repositories and the caller's identity."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import current_app, g, request

from storekeeper.db.accounts import AccountRepository
from storekeeper.db.idempotency import IdempotencyRepository
from storekeeper.db.repository import CatalogRepository
from storekeeper.db.session import Database
from storekeeper.domain.errors import Unauthenticated
from storekeeper.domain.model import Actor
from storekeeper.security import Claims, Passwords, TokenError, TokenKind, Tokens
from storekeeper.settings import Settings


@dataclass(frozen=True, slots=True)
class Work:
    """The repositories of one transaction."""

    catalog: CatalogRepository
    accounts: AccountRepository
    keys: IdempotencyRepository


def settings() -> Settings:
    """The running app's settings."""
    value: Settings = current_app.config["STOREKEEPER_SETTINGS"]
    return value


def database() -> Database:
    """The running app's database."""
    value: Database = current_app.extensions["storekeeper.db"]
    return value


def tokens() -> Tokens:
    """The running app's token issuer."""
    value: Tokens = current_app.extensions["storekeeper.tokens"]
    return value


def passwords() -> Passwords:
    """The running app's password hasher."""
    value: Passwords = current_app.extensions["storekeeper.passwords"]
    return value


@contextmanager
def unit_of_work(write: bool = False) -> Iterator[Work]:
    """One transaction for the request's use case; a token's session is checked in it first."""
    with database().unit_of_work(write) as conn:
        work = Work(CatalogRepository(conn), AccountRepository(conn), IdempotencyRepository(conn))
        if "claims" in g and "actor" not in g:
            current_actor(work)
        yield work


def bearer_claims(kind: TokenKind) -> Claims | None:
    """The verified claims of the request's bearer token; None without one, 401 when bad."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    try:
        return tokens().verify(token.strip(), kind)
    except TokenError:
        raise Unauthenticated(f"The {kind} token is invalid or expired.") from None


def authenticate_request() -> None:
    """Before anything else, check the bearer token of a protected operation or of a read.

    A protected operation without a valid token is a 401. A read is public, but a read that
    carries a token is made by that user, so a bad, expired or revoked token is a 401 there
    too rather than being silently ignored. The session itself is checked in the request's
    unit of work.
    """
    view = current_app.view_functions.get(request.endpoint or "")
    op = getattr(view, "__openapi__", None)
    if op is None:
        return
    if op.auth:
        g.claims = bearer_claims(op.token_kind)
        if g.claims is None:
            raise Unauthenticated(f"This operation needs an {op.token_kind} token.")
    elif request.method in ("GET", "HEAD") and "Authorization" in request.headers:
        g.claims = bearer_claims("access")


def request_claims() -> Claims | None:
    """The claims of the token checked by authenticate_request, if any."""
    claims: Claims | None = g.get("claims")
    return claims


def current_actor(work: Work) -> Actor | None:
    """The authenticated caller (None when no token was sent); 401 for a revoked one."""
    if "actor" in g:
        actor: Actor | None = g.actor
        return actor
    claims = request_claims()
    actor = None
    if claims is not None:
        state = work.accounts.actor_state(claims.user_id, claims.session_id)
        if state is None or not state.accepts(claims.issued_at):
            raise Unauthenticated("The access token has been revoked.")
        actor = Actor(claims.user_id, state.is_admin)
        g.user_id = claims.user_id
    g.actor = actor
    return actor
