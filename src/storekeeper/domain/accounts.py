"""Use cases for users and their sessions."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from storekeeper.domain.errors import (
    Conflict,
    Forbidden,
    Invalid,
    NotFound,
    TooManyAttempts,
    Unauthenticated,
)
from storekeeper.domain.model import Actor, ActorState, Session, User
from storekeeper.domain.ports import (
    AttemptLimiter,
    Counter,
    PasswordHasher,
    Slot,
    TokenIssuer,
    UnitsOfWork,
)
from storekeeper.domain.values import RateLimit, check_username, name_key


class AccountRepository(Protocol):
    """Users and revoked sessions inside one unit of work."""

    def add_user(
        self, username: str, email: str | None, password_hash: str, is_admin: bool, stamp: str
    ) -> int: ...
    def get_user(self, user_id: int) -> User | None: ...
    def lock_user(self, user_id: int) -> None: ...
    def user_by_username(self, username: str) -> User | None: ...
    def email_taken(self, email: str) -> bool: ...
    def set_password_hash(self, user_id: int, password_hash: str, stamp: str) -> None: ...
    def set_credentials(self, user_id: int, password_hash: str, stamp: str) -> None: ...
    def set_admin(self, user_id: int, is_admin: bool) -> None: ...
    def owns_stores(self, user_id: int) -> bool: ...
    def delete_user(self, user_id: int) -> None: ...
    def revoke_session(self, session_id: str, user_id: int, expires_at: datetime) -> None: ...
    def actor_state(self, user_id: int, session_id: str) -> ActorState | None: ...


ACCOUNTS: Slot[AccountRepository] = Slot("accounts")
BAD_LOGIN = "The username or password is wrong."
USERNAME_TAKEN = "This username is taken."
EMAIL_TAKEN = "This email address is already registered."
# A username's failed logins, from every address together, may reach this many times what
# one address may try: no single address can lock its owner out, while guessing one account
# from many addresses still meets a ceiling (docs/api.md).
USERNAME_CEILING = 5


def new_credential_stamp() -> str:
    """A stamp no user has had: 128 random bits, URL-safe.

    Tokens carry their user's stamp, and every change of credentials replaces it, so a token
    issued under old credentials (before a reset, before a restore, or to an account whose id
    a restore handed out again) names a stamp that no longer exists.
    """
    return secrets.token_urlsafe(16)


@dataclass(frozen=True, slots=True)
class NewAccount:
    """A registration that passed its checks, its password hashed."""

    username: str
    email: str | None
    password_hash: str = field(repr=False)


def check_new_account(repo: AccountRepository, username: str, email: str | None) -> None:
    """Refuse a registration's name or email before any hashing: a taken one costs no hash.

    The unique constraints still decide a race between two registrations (add_account).
    """
    try:
        check_username(username)
    except ValueError as exc:
        raise Invalid.field("username", str(exc)) from None
    if repo.user_by_username(username) is not None:
        raise Conflict(USERNAME_TAKEN)
    if email is not None and repo.email_taken(email):
        raise Conflict(EMAIL_TAKEN)


def hash_new_account(
    hasher: PasswordHasher, username: str, password: str, email: str | None
) -> NewAccount:
    """Hash a checked registration's password, outside any transaction.

    The hash may wait for a pool thread: inside a unit of work it would count against the
    unit's deadline, and inside a write one it would hold the database's write lock.
    """
    return NewAccount(username, email, hasher.hash(password))


def add_account(repo: AccountRepository, account: NewAccount, is_admin: bool = False) -> User:
    """Create a checked account; usernames and emails are unique case-insensitively."""
    user_id = repo.add_user(
        account.username, account.email, account.password_hash, is_admin, new_credential_stamp()
    )
    user = repo.get_user(user_id)
    assert user is not None
    return user


def register(
    repo: AccountRepository,
    hasher: PasswordHasher,
    username: str,
    password: str,
    email: str | None,
    is_admin: bool = False,
) -> User:
    """Check, hash and create an account in one unit of work (the operator's commands)."""
    check_new_account(repo, username, email)
    return add_account(repo, hash_new_account(hasher, username, password, email), is_admin)


def check_register_rate(limiter: AttemptLimiter, limit: RateLimit, client: str) -> None:
    """Count a registration against its address; refuse one over the limit."""
    wait = limiter.hit([Counter(f"register:addr:{client}", limit)])
    if wait is not None:
        raise TooManyAttempts("Too many registrations from this address; retry later.", wait)


def login(
    units: UnitsOfWork,
    hasher: PasswordHasher,
    issuer: TokenIssuer,
    username: str,
    password: str,
) -> Session:
    """Check a password and open a session; an unknown user costs the same hash work.

    The password is checked outside any transaction (see hash_new_account).
    """
    with units() as work:
        user = work[ACCOUNTS].user_by_username(username)
    if not hasher.verify(user.password_hash if user else None, password) or user is None:
        raise Unauthenticated(BAD_LOGIN)
    if hasher.needs_rehash(user.password_hash):
        rehashed = hasher.hash(password)
        with units(write=True) as work:
            # Only while the credentials are those just checked: never undo a reset.
            work[ACCOUNTS].set_password_hash(user.id, rehashed, user.credential_stamp)
    # The stamp read with the hash: a reset committed after this read replaced it, so these
    # tokens are refused from their first use (no window, and no whole-second cut-off).
    pair = issuer.issue_pair(user.id, user.credential_stamp)
    return Session(pair.access, pair.refresh, issuer.access_ttl)


def authenticate(
    repo: AccountRepository, user_id: int, session_id: str, stamp: str, token_kind: str
) -> Actor:
    """Who a verified token speaks for, while its session lives (`stamp`: the token's).

    A signature proves only who the token was issued to: a logout, a change of credentials
    (a password reset, a restore) or a deleted account ends it, on every instance at once,
    because the state is read here.
    """
    state = repo.actor_state(user_id, session_id)
    if state is None or not state.accepts(stamp):
        raise Unauthenticated(f"The {token_kind} token has been revoked.")
    return Actor(user_id, state.is_admin)


def check_login_rate(limiter: AttemptLimiter, limit: RateLimit, username: str, client: str) -> None:
    """Before a password is checked: count the attempt against its address, and refuse it
    while the address, or the username's failures from every address, are over their limits.
    """
    wait = limiter.hit([Counter(f"login:addr:{client}", limit)], [_failures(username, limit)])
    if wait is not None:
        raise TooManyAttempts("Too many login attempts; retry later.", wait)


def count_failed_login(limiter: AttemptLimiter, limit: RateLimit, username: str) -> None:
    """A wrong password or unknown username counts against the username's ceiling."""
    limiter.add([_failures(username, limit)])


def _failures(username: str, limit: RateLimit) -> Counter:
    return Counter(f"login:user:{name_key(username)}", limit.times(USERNAME_CEILING))


def refresh(issuer: TokenIssuer, actor: Actor, session_id: str, stamp: str) -> str:
    """A new access token for the session of an authenticated refresh token (its stamp)."""
    return issuer.issue_access(actor.user_id, session_id, stamp)


def logout(repo: AccountRepository, issuer: TokenIssuer, user_id: int, session_id: str) -> None:
    """Revoke a session's access and refresh tokens until they would have expired anyway."""
    expires = datetime.now(UTC) + timedelta(seconds=max(issuer.access_ttl, issuer.refresh_ttl))
    repo.revoke_session(session_id, user_id, expires)


def _self_or_admin(actor: Actor | None, user_id: int) -> Actor:
    if actor is None:
        raise Unauthenticated("Authentication is required.")
    if actor.user_id != user_id and not actor.is_admin:
        raise Forbidden("Only the user themself or an admin may do this.")
    return actor


def get_user(repo: AccountRepository, actor: Actor | None, user_id: int) -> User:
    """A user, seen by themself or an admin."""
    _self_or_admin(actor, user_id)
    user = repo.get_user(user_id)
    if user is None:
        raise NotFound("No user with this id.")
    return user


def delete_user(
    repo: AccountRepository,
    actor: Actor | None,
    user_id: int,
    guard: Callable[[], None] | None = None,
) -> None:
    """Delete a user who owns no store."""
    _self_or_admin(actor, user_id)
    if repo.get_user(user_id) is None:
        raise NotFound("No user with this id.")
    if guard is not None:
        guard()
    if repo.owns_stores(user_id):
        raise Conflict("The user still owns stores; delete them or ask an admin first.")
    repo.delete_user(user_id)


@dataclass(frozen=True, slots=True)
class AdminOutcome:
    """What ensure_admin did: created the user, or reset an existing user's password."""

    user: User
    created: bool


def ensure_admin(
    repo: AccountRepository,
    hasher: PasswordHasher,
    username: str,
    password: str,
    reset_password: bool = False,
) -> AdminOutcome:
    """Create an admin; an existing user only with `reset_password`, which ends their sessions.

    An existing username is refused without it (Conflict): silently replacing a password
    would lock its owner out while sessions opened with the old one stayed valid. With it
    the user is made an admin with the new password and a new credential stamp, so every
    token issued before, even by a login that read the old hash while this ran, is refused.
    """
    user = repo.user_by_username(username)
    if user is None:
        return AdminOutcome(register(repo, hasher, username, password, None, is_admin=True), True)
    if not reset_password:
        raise Conflict("A user with this username exists already.")
    repo.set_admin(user.id, True)
    repo.set_credentials(user.id, hasher.hash(password), new_credential_stamp())
    reset = repo.get_user(user.id)
    assert reset is not None
    return AdminOutcome(reset, False)
