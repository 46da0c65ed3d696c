"""A restore never resurrects or hands over a session (issue 18), on SQLite and PostgreSQL.

Before the credential stamps, a restore brought back the backup's id counters while the
tokens of accounts registered after the backup still verified: the next person to register
got the same id, and the old token acted as them. Sessions logged out after the backup came
back too.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from storekeeper.settings import PREFIX
from tests.e2e.live import BIN, run, server_env, server_process
from tests.helpers import missing, postgres_available, postgres_database

pytestmark = pytest.mark.slow
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class Tokens:
    """One session's bearer header and refresh token."""

    bearer: dict[str, str]
    refresh: str


def _register(base: str, username: str) -> int:
    body = {"username": username, "password": PASSWORD}
    created = requests.post(f"{base}/register", json=body, timeout=10)
    assert created.status_code == 201, created.text
    user_id: int = created.json()["id"]
    return user_id


def _login(base: str, username: str) -> Tokens:
    body = {"username": username, "password": PASSWORD}
    answer = requests.post(f"{base}/login", json=body, timeout=10)
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    return Tokens({"Authorization": f"Bearer {tokens['access_token']}"}, tokens["refresh_token"])


def _status_of_me(base: str, tokens: Tokens) -> int:
    return requests.get(f"{base}/user/me", headers=tokens.bearer, timeout=10).status_code


@dataclass(frozen=True)
class Before:
    """Tokens issued before the restore."""

    ada_open: Tokens  # open when the backup was taken, still open at the restore
    ada_closed: Tokens  # open at the backup, logged out after it
    bob: Tokens  # an account registered after the backup
    bob_id: int


def _sessions_around_a_backup(instance: Path, env: dict[str, str], backup: list[str]) -> Before:
    with server_process(str(instance), env) as (base, _):
        _register(base, "ada")
        ada_open, ada_closed = _login(base, "ada"), _login(base, "ada")
        taken = subprocess.run(backup, env=env, capture_output=True, text=True, timeout=120)
        assert taken.returncode == 0, taken.stderr
        bob_id = _register(base, "bob")
        bob = _login(base, "bob")
        logout = requests.post(f"{base}/logout", headers=ada_closed.bearer, timeout=10)
        assert logout.status_code == 204
        assert _status_of_me(base, bob) == _status_of_me(base, ada_open) == 200
    return Before(ada_open, ada_closed, bob, bob_id)


def _check_after_restore(instance: Path, env: dict[str, str], before: Before) -> int:
    """Every token from before is refused; a new account is nobody's old self. Carol's id."""
    with server_process(str(instance), env) as (base, _):
        for tokens in (before.ada_open, before.ada_closed, before.bob):
            assert _status_of_me(base, tokens) == 401
            renewed = requests.post(
                f"{base}/refresh",
                headers={"Authorization": f"Bearer {tokens.refresh}"},
                timeout=10,
            )
            assert renewed.status_code == 401
        carol_id = _register(base, "carol")
        carol = _login(base, "carol")
        assert (
            requests.get(f"{base}/user/me", headers=carol.bearer, timeout=10).json()["username"]
            == "carol"
        )
        # Bob's token names an id that may now be Carol's: it must not act as her.
        assert _status_of_me(base, before.bob) == 401
        taken_over = requests.post(
            f"{base}/store", json={"name": "Taken over"}, headers=before.bob.bearer, timeout=10
        )
        assert taken_over.status_code == 401
        # The restored account signs in again with its password.
        assert _status_of_me(base, _login(base, "ada")) == 200
    return carol_id


def test_sqlite_restore_refuses_every_earlier_token_and_never_reuses_an_id(
    tmp_path: Path,
) -> None:
    instance, copy = tmp_path / "instance", tmp_path / "backup.db"
    instance.mkdir()
    assert run(["db", "upgrade"], instance).returncode == 0
    env = server_env(str(instance))

    before = _sessions_around_a_backup(
        instance, env, [str(BIN / "storekeeper"), "db", "backup", str(copy)]
    )
    restored = run(["db", "restore", str(copy)], instance)
    assert restored.returncode == 0, restored.stderr
    carol_id = _check_after_restore(instance, env, before)
    # The counter went on from the replaced database's: Bob's id is nobody's now.
    assert carol_id > before.bob_id


def test_postgresql_restore_with_end_sessions_refuses_every_earlier_token(
    tmp_path: Path,
) -> None:
    if not postgres_available():
        missing("PostgreSQL")
    dump = tmp_path / "backup.dump"
    with postgres_database() as url:
        settings = {PREFIX + "DATABASE_URL": url}
        env = server_env(str(tmp_path), **settings)
        assert run(["db", "upgrade"], tmp_path, **settings).returncode == 0
        before = _sessions_around_a_backup(
            tmp_path, env, ["pg_dump", "-Fc", "--file", str(dump), url]
        )
        # The documented steps: pg_restore into the original, instances stopped, then
        # end-sessions before they start again.
        restore = subprocess.run(
            ["pg_restore", "--clean", "--if-exists", "--no-owner", "--dbname", url, str(dump)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert restore.returncode == 0, restore.stderr
        ended = run(["db", "end-sessions"], tmp_path, **settings)
        assert ended.returncode == 0, ended.stderr
        assert "ended every session of 1 users" in ended.stderr
        carol_id = _check_after_restore(tmp_path, env, before)
        # pg_restore brought the sequence back, so Bob's id went to Carol: the case the
        # stamp exists for.
        assert carol_id == before.bob_id
