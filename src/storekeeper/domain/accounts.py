"""Use cases for users and their sessions."""

from __future__ import annotations

import hashlib
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
from storekeeper.domain.jobs import JOBS, JobRepository
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
    def change_password(
        self, user_id: int, password_hash: str, old_stamp: str, kept_session: str, kept_stamp: str
    ) -> bool: ...
    def set_email(self, user_id: int, email: str | None) -> None: ...
    def user_by_verified_email(self, email: str) -> User | None: ...
    def add_token(
        self, user_id: int, purpose: str, digest: str, email: str | None, expires_at: datetime
    ) -> None: ...
    def use_token(self, purpose: str, digest: str, user_id: int | None) -> UsedToken | None: ...
    def token_usable(self, purpose: str, digest: str) -> bool: ...
    def verify_email(self, user_id: int, email: str) -> bool: ...
    def set_admin(self, user_id: int, is_admin: bool) -> None: ...
    def owns_stores(self, user_id: int) -> bool: ...
    def delete_user(self, user_id: int) -> None: ...
    def revoke_session(self, session_id: str, user_id: int, expires_at: datetime) -> None: ...
    def actor_state(self, user_id: int, session_id: str) -> ActorState | None: ...


@dataclass(frozen=True, slots=True)
class UsedToken:
    """Whose a just-used emailed token was, and the address it was sent to."""

    user_id: int
    email: str | None


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


def add_account(
    repo: AccountRepository,
    account: NewAccount,
    is_admin: bool = False,
    jobs: JobRepository | None = None,
) -> User:
    """Create a checked account; usernames and emails are unique case-insensitively.

    With `jobs`, an account with an email address gets the welcome email, which asks to
    verify it (sent by the worker once this transaction has committed).
    """
    user_id = repo.add_user(
        account.username, account.email, account.password_hash, is_admin, new_credential_stamp()
    )
    if jobs is not None and account.email is not None:
        jobs.add(WELCOME, {"user_id": user_id, "email": account.email}, user_id)
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
    _count(
        limiter,
        "Too many registrations from this address",
        [Counter(f"register:addr:{client}", limit)],
    )


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
    if state is None or not state.accepts(stamp, session_id):
        raise Unauthenticated(f"The {token_kind} token has been revoked.")
    return Actor(user_id, state.is_admin)


def check_login_rate(limiter: AttemptLimiter, limit: RateLimit, username: str, client: str) -> None:
    """Before a password is checked: count the attempt against its address, and refuse it
    while the address, or the username's failures from every address, are over their limits.
    """
    counted = [Counter(f"login:addr:{client}", limit)]
    _count(limiter, "Too many login attempts", counted, [_failures(username, limit)])


def count_failed_login(limiter: AttemptLimiter, limit: RateLimit, username: str) -> None:
    """A wrong password or unknown username counts against the username's ceiling."""
    limiter.add([_failures(username, limit)])


def _count(
    limiter: AttemptLimiter,
    refusal: str,
    counted: list[Counter],
    watched: list[Counter] | None = None,
) -> None:
    """Count an attempt; TooManyAttempts (with the wait) when a counter is full."""
    wait = limiter.hit(counted, watched or [])
    if wait is not None:
        raise TooManyAttempts(f"{refusal}; retry later.", wait)


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


# Account emails: the kinds of job that send them (background/account_mail.py runs them).
# (Names of things, not passwords: S105 is off for them.)
WELCOME = "email.welcome"
VERIFY_EMAIL = "email.verify"
EMAIL_CHANGED = "email.changed"
PASSWORD_CHANGED = "email.password_changed"  # noqa: S105
PASSWORD_RESET = "email.password_reset"  # noqa: S105
PASSWORD_RESET_DONE = "email.password_reset_done"  # noqa: S105
# Emailed tokens: what they are for, how long they live (API.md, Accounts).
VERIFY = "verify_email"
RESET = "password_reset"
VERIFY_TTL = timedelta(hours=48)
RESET_TTL = timedelta(minutes=30)
BAD_TOKEN = "is invalid, used or expired"  # noqa: S105
WRONG_PASSWORD = "is wrong"  # noqa: S105
RESET_PER_EMAIL = RateLimit(5, 3600)
RESET_PER_ADDRESS = RateLimit(20, 3600)


def new_emailed_token() -> tuple[str, str]:
    """A token for a link (256 random bits, URL-safe) and the digest that is stored instead.

    A fast hash is enough: the token is random and long, so nothing can be guessed from its
    digest, and a stolen table of digests opens no account.
    """
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    """The stored form of an emailed token."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue_emailed_token(
    repo: AccountRepository, user_id: int, purpose: str, email: str | None, now: datetime
) -> str:
    """Record a new single-use token for a user; the token itself goes into the email only."""
    token, digest = new_emailed_token()
    ttl = VERIFY_TTL if purpose == VERIFY else RESET_TTL
    repo.add_token(user_id, purpose, digest, email, now + ttl)
    return token


def change_email(
    repo: AccountRepository,
    jobs: JobRepository,
    actor: Actor,
    email: str | None,
    guard: Callable[[], None] | None = None,
) -> User:
    """Change (or remove) the caller's address; the new one is unverified until its link is used.

    The new address gets a verification email and the old one a notice. The same address
    again sends a fresh verification email while it is unverified, and changes nothing.
    """
    user = repo.get_user(actor.user_id)
    if user is None:
        raise NotFound("No user with this id.")
    if guard is not None:
        guard()
    same = email is not None and user.email is not None and name_key(email) == name_key(user.email)
    if same and user.email_verified:
        return user
    if not same:
        if email is not None and repo.email_taken(email):
            raise Conflict(EMAIL_TAKEN)
        repo.set_email(user.id, email)
        if user.email is not None:
            jobs.add(
                EMAIL_CHANGED,
                {"user_id": user.id, "old_email": user.email, "new_email": email},
                user.id,
            )
    if email is not None:
        jobs.add(VERIFY_EMAIL, {"user_id": user.id, "email": email}, user.id)
    changed = repo.get_user(user.id)
    assert changed is not None
    return changed


def verify_email(repo: AccountRepository, actor: Actor, token: str) -> None:
    """Use an address's verification token: the caller's, single use, for their address now."""
    used = repo.use_token(VERIFY, token_digest(token), actor.user_id)
    if used is None or used.email is None or not repo.verify_email(actor.user_id, used.email):
        raise Invalid.field("token", BAD_TOKEN)


def check_password_attempts(limiter: AttemptLimiter, limit: RateLimit, username: str) -> None:
    """Refuse a password check while the username's failed logins are over their ceiling."""
    _count(limiter, "Too many failed password attempts", [], [_failures(username, limit)])


def change_password(
    units: UnitsOfWork,
    hasher: PasswordHasher,
    limiter: AttemptLimiter,
    limit: RateLimit,
    caller: Actor,
    session: tuple[str, str],
    current: str,
    new: str,
) -> None:
    """Change the caller's password, knowing the current one; every other session ends.

    `session` is the caller's (session id, stamp): it goes on. A wrong current password
    counts as a failed login of the username. Hashes are made outside any transaction.
    """
    with units() as work:
        user = work[ACCOUNTS].get_user(caller.user_id)
    if user is None:
        raise NotFound("No user with this id.")
    check_password_attempts(limiter, limit, user.username)
    if not hasher.verify(user.password_hash, current):
        count_failed_login(limiter, limit, user.username)
        raise Invalid.field("current_password", WRONG_PASSWORD)
    password_hash = hasher.hash(new)
    session_id, stamp = session
    with units(write=True) as work:
        repo = work[ACCOUNTS]
        # Only over the credentials just checked: a reset meanwhile wins.
        if not repo.change_password(
            user.id, password_hash, user.credential_stamp, session_id, stamp
        ):
            raise Conflict("The password was changed meanwhile; sign in again.")
        work[JOBS].add(PASSWORD_CHANGED, {"user_id": user.id}, user.id)


def request_password_reset(
    limiter: AttemptLimiter, units: UnitsOfWork, email: str, client: str
) -> None:
    """Queue a reset email for the account with this verified address, if there is one.

    The request does the same work whether or not there is: the worker looks the address up,
    so neither the answer nor its timing tells which addresses have accounts. The limits are
    counted first, outside the job's transaction (the limiter may write to the database).
    """
    counted = [
        Counter(f"reset:email:{name_key(email)}", RESET_PER_EMAIL),
        Counter(f"reset:addr:{client}", RESET_PER_ADDRESS),
    ]
    _count(limiter, "Too many password reset requests", counted)
    with units(write=True) as work:
        work[JOBS].add(PASSWORD_RESET, {"email": email}, None)


def confirm_password_reset(
    units: UnitsOfWork, hasher: PasswordHasher, token: str, new: str
) -> None:
    """Set a new password with an emailed reset token: single use; every session ends.

    A token that cannot be used is refused before the hash is made, so made-up tokens cost
    no hashing; the use itself is decided after it, by one conditional update.
    """
    digest = token_digest(token)
    with units() as work:
        if not work[ACCOUNTS].token_usable(RESET, digest):
            raise Invalid.field("token", BAD_TOKEN)
    password_hash = hasher.hash(new)
    with units(write=True) as work:
        repo = work[ACCOUNTS]
        used = repo.use_token(RESET, digest, None)
        if used is None:
            raise Invalid.field("token", BAD_TOKEN)
        repo.set_credentials(used.user_id, password_hash, new_credential_stamp())
        work[JOBS].add(PASSWORD_RESET_DONE, {"user_id": used.user_id}, used.user_id)
