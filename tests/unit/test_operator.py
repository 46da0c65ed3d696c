"""Unit tests of the operator's edges: create-admin's rules, the variable table, DB errors."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storekeeper.db.session import connection_problem
from storekeeper.domain import accounts
from storekeeper.domain.errors import Conflict
from storekeeper.domain.model import ActorState, User
from storekeeper.settings import PREFIX, VARIABLES, load_settings, variables_help

README = Path(__file__).parents[2] / "README.md"


class FakeAccounts:
    """Users in a dict: just what ensure_admin touches."""

    def __init__(self) -> None:
        self.users: dict[int, User] = {}

    def add_user(
        self, username: str, email: str | None, password_hash: str, is_admin: bool, stamp: str
    ) -> int:
        user_id = len(self.users) + 1
        self.users[user_id] = User(
            user_id, username, email, is_admin, datetime.now(UTC), password_hash, stamp
        )
        return user_id

    def get_user(self, user_id: int) -> User | None:
        return self.users.get(user_id)

    def user_by_username(self, username: str) -> User | None:
        return next((u for u in self.users.values() if u.username == username), None)

    def set_password_hash(self, user_id: int, password_hash: str) -> None:
        self.users[user_id] = replace(self.users[user_id], password_hash=password_hash)

    def set_admin(self, user_id: int, is_admin: bool) -> None:
        self.users[user_id] = replace(self.users[user_id], is_admin=is_admin)

    def set_credentials(self, user_id: int, password_hash: str, stamp: str) -> None:
        self.users[user_id] = replace(
            self.users[user_id], password_hash=password_hash, credential_stamp=stamp
        )


class PlainHasher:
    """A reversible 'hash', enough to see which password is stored."""

    def hash(self, password: str) -> str:
        return f"hashed:{password}"

    def verify(self, stored: str | None, password: str) -> bool:
        return stored == f"hashed:{password}"

    def needs_rehash(self, stored: str) -> bool:
        return False


def _ensure(repo: FakeAccounts, password: str, reset: bool = False) -> accounts.AdminOutcome:
    return accounts.ensure_admin(
        repo,  # type: ignore[arg-type]
        PlainHasher(),
        "ada",
        password,
        reset_password=reset,
    )


def test_create_admin_makes_a_new_admin() -> None:
    repo = FakeAccounts()
    outcome = _ensure(repo, "first password")
    assert outcome.created and outcome.user.is_admin
    assert repo.users[1].password_hash == "hashed:first password"
    assert len(repo.users[1].credential_stamp) >= 22  # 128 random bits


def test_create_admin_never_replaces_an_existing_password_unasked() -> None:
    repo = FakeAccounts()
    repo.add_user("ada", None, "hashed:hers", False, "her-stamp")
    with pytest.raises(Conflict):
        _ensure(repo, "someone else's")
    assert repo.users[1].password_hash == "hashed:hers"
    assert not repo.users[1].is_admin and repo.users[1].credential_stamp == "her-stamp"


def test_a_reset_sets_the_password_promotes_and_replaces_the_stamp() -> None:
    repo = FakeAccounts()
    repo.add_user("ada", None, "hashed:hers", False, "her-stamp")
    outcome = _ensure(repo, "a new one", reset=True)
    assert not outcome.created and outcome.user.is_admin
    assert repo.users[1].password_hash == "hashed:a new one"
    assert repo.users[1].credential_stamp not in ("her-stamp", "")
    assert outcome.user.credential_stamp == repo.users[1].credential_stamp


def test_actor_state_accepts_only_live_sessions_under_the_current_stamp() -> None:
    assert ActorState(False, False, "now").accepts("now", "s1")
    assert not ActorState(False, True, "now").accepts("now", "s1")
    assert not ActorState(True, False, "now").accepts("before", "s1")
    assert not ActorState(True, False, "now").accepts("", "s1")
    kept = ActorState(False, False, "now", "s1", "before")
    assert kept.accepts("before", "s1") and kept.accepts("now", "s2")
    assert not kept.accepts("before", "s2")


def test_credential_stamps_are_never_handed_out_twice() -> None:
    stamps = {accounts.new_credential_stamp() for _ in range(1000)}
    assert len(stamps) == 1000


def test_settings_read_only_the_variables_in_the_table(tmp_path: Path) -> None:
    class Recording(dict[str, str]):
        read: set[str] = set()

        def get(self, key: str, default: object = None) -> object:  # type: ignore[override]
            self.read.add(key)
            return super().get(key, default)

    env = Recording({PREFIX + "INSTANCE_PATH": str(tmp_path)})
    load_settings(env)
    assert env.read <= {PREFIX + v.name for v in VARIABLES}


def test_help_and_readme_name_every_variable() -> None:
    configuration = README.read_text().split("## Configuration", 1)[1].split("\n## ", 1)[0]
    in_readme = set(re.findall(r"STOREKEEPER_[A-Z_]+", configuration))
    assert in_readme == {PREFIX + v.name for v in VARIABLES}
    assert all(PREFIX + v.name in variables_help() for v in VARIABLES)
    assert PREFIX + "ADMIN_PASSWORD" in variables_help("create-admin")
    assert PREFIX + "ADMIN_PASSWORD" not in variables_help("serve")


class DriverError(Exception):
    """Stands in for a psycopg / sqlite3 error."""


class Wrapped(Exception):
    """Stands in for SQLAlchemy's wrapper, which keeps the driver's error as .orig."""

    def __init__(self, orig: Exception) -> None:
        super().__init__(str(orig))
        self.orig = orig


PG = "postgresql+psycopg://app:s3cret@db.example:5433/shop"
AT = 'connection failed: connection to server at "10.0.0.5", port 5433 failed: '


@pytest.mark.parametrize(
    ("said", "named"),
    [
        (AT + "Connection refused\n\tIs the server running", "nothing is listening there"),
        (AT + 'FATAL:  database "shop" does not exist', 'database "shop" does not exist'),
        (AT + 'FATAL:  password authentication failed for user "app"', "password is wrong"),
        (AT + "timeout expired", "no answer within"),
    ],
)
def test_connection_problems_are_one_line_naming_the_problem(said: str, named: str) -> None:
    line = connection_problem(PG, Wrapped(DriverError(said)))
    assert named in line and "db.example:5433" in line and "'app'" in line
    assert "\n" not in line and "s3cret" not in line
