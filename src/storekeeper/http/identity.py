"""Who makes a request: its bearer token verified and its session checked, once, up front."""

from __future__ import annotations

from flask import request

from storekeeper.domain import accounts
from storekeeper.domain.accounts import ACCOUNTS
from storekeeper.domain.errors import Unauthenticated
from storekeeper.http.bodies import body_bytes
from storekeeper.http.context import services, unit_of_work
from storekeeper.http.openapi import current_operation
from storekeeper.http.state import Caller, state
from storekeeper.security import Claims, TokenError, TokenKind


def bearer_claims(kind: TokenKind) -> Claims | None:
    """The verified claims of the request's bearer token; None without one, 401 when bad."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    try:
        return services().tokens.verify(token.strip(), kind)
    except TokenError:
        raise Unauthenticated(f"The {kind} token is invalid or expired.") from None


def verify_token() -> None:
    """Before anything else: verify the bearer token of a protected operation or of a read.

    A protected operation without a valid token is a 401. A read is public, but a read that
    carries a token is made by that user, so a bad, expired or revoked token is a 401 there
    too rather than being silently ignored.
    """
    op = current_operation()
    if op is None:
        return
    kind: TokenKind = op.token_kind
    if op.auth:
        claims = bearer_claims(kind)
        if claims is None:
            article = "an" if kind[0] in "aeiou" else "a"
            raise Unauthenticated(f"This operation needs {article} {kind} token.")
    elif request.method in ("GET", "HEAD") and "Authorization" in request.headers:
        kind = "access"
        claims = bearer_claims(kind)
    else:
        return
    state().token = (claims, kind) if claims is not None else None


def resolve_caller() -> None:
    """Before the handler: who the verified token speaks for, while its session lives.

    Before the idempotency hook: a stored answer is replayed only to a live session. The
    session is read in a unit of work; the caller found is the one identity the handler hands
    to its use case.
    """
    current = state()
    if current.token is None:
        return
    claims, kind = current.token
    if request.method not in ("GET", "HEAD"):
        # A request keeps the connection its first unit of work checks out until it ends
        # (app.py): the body comes first, so a client that is slow to send it holds no
        # connection while it does.
        body_bytes()
    with unit_of_work() as work:
        actor = accounts.authenticate(
            work[ACCOUNTS], claims.user_id, claims.session_id, claims.stamp, kind
        )
    current.caller = Caller(claims, actor)


def caller() -> Caller:
    """The caller of a protected operation (the hooks refuse such a request without one)."""
    found = state().caller
    if found is None:
        raise Unauthenticated("A bearer token is required.")
    return found
