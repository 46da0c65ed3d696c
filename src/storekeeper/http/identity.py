"""Who makes a request: its bearer token verified, then its session checked."""

from __future__ import annotations

from dataclasses import dataclass

from flask import request

from storekeeper.domain import accounts
from storekeeper.domain.accounts import ACCOUNTS
from storekeeper.domain.errors import Unauthenticated
from storekeeper.domain.model import Actor
from storekeeper.domain.ports import Work
from storekeeper.security import Claims, TokenError, TokenKind, Tokens


@dataclass(frozen=True, slots=True)
class Caller:
    """Who a request's bearer token speaks for: its verified claims and the live actor."""

    claims: Claims
    actor: Actor


@dataclass(frozen=True, slots=True)
class Token:
    """A bearer token whose signature, expiry and kind are verified; its session not yet."""

    claims: Claims
    kind: TokenKind

    def authenticate(self, work: Work) -> Caller:
        """The caller, while the token's session lives (401 once it ended)."""
        claims = self.claims
        actor = accounts.authenticate(
            work[ACCOUNTS], claims.user_id, claims.session_id, claims.stamp, self.kind
        )
        return Caller(claims, actor)


def bearer_claims(tokens: Tokens, kind: TokenKind) -> Claims | None:
    """The verified claims of the request's bearer token; None without one, 401 when bad."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("The Authorization header must be 'Bearer <token>'.")
    try:
        return tokens.verify(token.strip(), kind)
    except TokenError:
        raise Unauthenticated(f"The {kind} token is invalid or expired.") from None


def verify_token(tokens: Tokens, auth: bool, kind: TokenKind) -> Token | None:
    """The request's verified token, before anything else is read.

    A protected operation (`auth`) without a valid token of its kind is a 401. A read is
    public, but a read that carries a token is made by that user, so a bad, expired or revoked
    token is a 401 there too rather than being silently ignored.
    """
    if auth:
        claims = bearer_claims(tokens, kind)
        if claims is None:
            article = "an" if kind[0] in "aeiou" else "a"
            raise Unauthenticated(f"This operation needs {article} {kind} token.")
        return Token(claims, kind)
    if request.method in ("GET", "HEAD") and "Authorization" in request.headers:
        claims = bearer_claims(tokens, "access")
        return None if claims is None else Token(claims, "access")
    return None
