"""Password hashing and token issue/verify: no Flask, no database."""

from __future__ import annotations

import re
import secrets
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from storekeeper.offload import Runner, inline

TokenKind = Literal["access", "refresh"]
ALGORITHM = "HS256"
_REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti", "type", "sid", "stm"]
# A subject is a canonical id in ASCII digits: str.isdigit() also admits "²", which int()
# then refuses.
_SUBJECT = re.compile(r"[1-9][0-9]{0,18}", re.ASCII)
# Session ids and credential stamps are short URL-safe strings this server made.
_OPAQUE = re.compile(r"[A-Za-z0-9_-]{1,64}", re.ASCII)
# Tokens whose signature one process has verified, kept so that a client sending the same
# token on every request pays the HMAC and the JSON decoding once: about a fifth of a
# single read's time (docs/performance.md). Bounded; expiry is still checked on every use,
# and revocation is the session check's business, never this cache's.
VERIFIED_TOKENS_CACHED = 4096

# argon2id at OWASP's minimum recommendation (19 MiB, 2 passes, 1 lane), above it nowhere
# cheaper: login cost is a deliberate defence, measured separately in the benchmarks.
PASSWORD_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)


class TokenError(Exception):
    """A token that must be refused; the message says why (for logs, not clients)."""


@dataclass(frozen=True, slots=True)
class Claims:
    """What a verified token says."""

    user_id: int
    kind: TokenKind
    session_id: str
    # The user's credential stamp when the token was issued: a token is good only while
    # the stamp is still the user's (domain/accounts.py, authenticate).
    stamp: str
    expires_at: int
    issued_at: int


@dataclass(frozen=True, slots=True)
class TokenPair:
    """The tokens one login issues; both share a session id."""

    access: str
    refresh: str
    session_id: str


class Tokens:
    """Issues and verifies HS256 JWTs with one pinned algorithm."""

    def __init__(self, secret: str, access_ttl: int, refresh_ttl: int) -> None:
        self._secret = secret
        self.access_ttl = access_ttl
        self.refresh_ttl = refresh_ttl
        # Per instance, so that another secret never sees this one's tokens; a refused token
        # raises and is never kept.
        self._verified = lru_cache(maxsize=VERIFIED_TOKENS_CACHED)(self._decode)

    def _encode(self, user_id: int, kind: TokenKind, session_id: str, stamp: str, ttl: int) -> str:
        now = int(time.time())
        claims = {
            "sub": str(user_id),
            "type": kind,
            "sid": session_id,
            "stm": stamp,
            "jti": uuid.uuid4().hex,
            "iat": now,
            "exp": now + ttl,
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def issue_pair(self, user_id: int, stamp: str) -> TokenPair:
        """An access and a refresh token for a new session of a user with this stamp."""
        session_id = secrets.token_hex(16)
        return TokenPair(
            self._encode(user_id, "access", session_id, stamp, self.access_ttl),
            self._encode(user_id, "refresh", session_id, stamp, self.refresh_ttl),
            session_id,
        )

    def issue_access(self, user_id: int, session_id: str, stamp: str) -> str:
        """A fresh access token in an existing session."""
        return self._encode(user_id, "access", session_id, stamp, self.access_ttl)

    def verify(self, token: str, kind: TokenKind) -> Claims:
        """The claims of a valid token of this kind; TokenError otherwise."""
        claims = self._verified(token)
        if claims.kind != kind:
            raise TokenError(f"expected a {kind} token")
        if claims.expires_at <= time.time():
            raise TokenError("ExpiredSignatureError")
        return claims

    def subject(self, token: str) -> int | None:
        """The user a valid, unexpired token of either kind names; None for any other token."""
        try:
            claims = self._verified(token)
        except TokenError:
            return None
        return claims.user_id if claims.expires_at > time.time() else None

    def _decode(self, token: str) -> Claims:
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.PyJWTError as exc:
            raise TokenError(type(exc).__name__) from None
        kind = claims.get("type")
        if kind not in ("access", "refresh"):
            raise TokenError("unknown token type")
        sub, sid, stamp = (_opaque(claims.get(name)) for name in ("sub", "sid", "stm"))
        if not _SUBJECT.fullmatch(sub):
            raise TokenError("malformed subject")
        exp, iat = claims["exp"], claims["iat"]
        if not isinstance(exp, int) or not isinstance(iat, int):
            raise TokenError("malformed times")
        return Claims(int(sub), kind, sid, stamp, exp, iat)


def _opaque(value: object) -> str:
    """A claim that must be a short URL-safe string; TokenError otherwise."""
    if not isinstance(value, str) or not _OPAQUE.fullmatch(value):
        raise TokenError("malformed subject, session or stamp")
    return value


class Passwords:
    """argon2id hashing; unknown users cost the same work as wrong passwords.

    `run` says where the hashing runs: a server worker hands it to a thread pool, so that its
    event loop keeps serving meanwhile (storekeeper.offload).
    """

    def __init__(self, hasher: PasswordHasher = PASSWORD_HASHER, run: Runner = inline) -> None:
        self._hasher = hasher
        self._run = run
        self._dummy = hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        """A fresh hash of the password."""
        return self._run(lambda: self._hasher.hash(password))

    def verify(self, stored: str | None, password: str) -> bool:
        """Whether the password matches; with no stored hash, burn the same time and say no."""
        return self._run(lambda: self._matches(stored, password))

    def _matches(self, stored: str | None, password: str) -> bool:
        try:
            return self._hasher.verify(stored or self._dummy, password) and stored is not None
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored: str) -> bool:
        """Whether the stored hash was made with other parameters than today's."""
        return self._hasher.check_needs_rehash(stored)
