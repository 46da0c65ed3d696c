"""What the tests share: databases made for a run, settings, users and the catalog over HTTP.

Test modules import these from here, never from another test module or a conftest.py.
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import psycopg
import pytest
from flask.testing import FlaskClient
from sqlalchemy import text, update

from deploy.databases import database_url, fresh_database
from storekeeper.db.models import Base
from storekeeper.db.models import User as UserRow
from storekeeper.db.session import Database
from storekeeper.domain.values import RateLimit
from storekeeper.http.operations import Operation, operation_of
from storekeeper.settings import Settings, normalise_database_url

PG_ADMIN_URL = os.environ.get(
    "STOREKEEPER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
TEST_SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct horse battery"
# Request budgets (http/budgets.py) no test trips by accident; the budget tests set their own.
GENEROUS_BUDGET = 1_000_000
PROBLEM = "application/problem+json"


# Databases


def postgres_available() -> bool:
    """Whether the test PostgreSQL server answers."""
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


def missing(what: str) -> NoReturn:
    """Skip for want of `what`, except in CI, where a skip would hide the tests."""
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI")
    pytest.skip(f"{what} is not available")


def require(available: bool, what: str) -> None:
    """Skip (fail in CI) unless `what` is available."""
    if not available:
        missing(what)


def postgres_url(name: str) -> str:
    """The libpq URL of database `name` on the test PostgreSQL server."""
    return database_url(PG_ADMIN_URL, name)


def postgres_database(prefix: str = "storekeeper_e2e") -> AbstractContextManager[str]:
    """A fresh database on the test PostgreSQL server; its libpq URL, dropped afterwards."""
    return fresh_database(PG_ADMIN_URL, f"{prefix}_{os.getpid()}")


@contextmanager
def new_database(backend: str, folder: Path, prefix: str) -> Iterator[str]:
    """The SQLAlchemy URL of a new, empty database of `backend`: a file in `folder`, or a
    PostgreSQL database dropped afterwards (skipped, or failed in CI, when none answers).
    """
    if backend == "sqlite":
        yield f"sqlite:///{folder}/{prefix}.db"
        return
    if not postgres_available():
        missing(f"PostgreSQL at {PG_ADMIN_URL}")
    with postgres_database(prefix) as url:
        yield normalise_database_url(url)


@dataclass
class ProvisionedDatabase:
    """A database made for this test run."""

    backend: str
    url: str


# How a test leaves the session's database: every table of the models empty, and ids that
# start from 1 again, so no test sees the rows or the ids another used (a PUT at 2^53 - 1
# would otherwise push every later test's POSTs up there). Everything is derived from
# Base.metadata: a new table or id column needs no change here.
#
# Measured per test (200 tests, a few rows in five tables, this 2-core machine):
#   SQLite      DELETE per table + sqlite_sequence                    0.8 ms
#               a copy of a migrated file + engine + create_app       33 ms
#   PostgreSQL  DELETE per table + setval per id sequence             3.6 ms
#               one TRUNCATE ... RESTART IDENTITY of every table      19 ms
#               CREATE DATABASE ... TEMPLATE + connect + DROP         86 ms, + create_app 29 ms
# TRUNCATE makes new files for every table, which costs more than deleting a few rows;
# a database per test would add about a minute to the suite. Deleting it is.


def empty_database(database: Database) -> None:
    """Delete every row of every mapped table and restart their ids at 1."""
    tables = Base.metadata.sorted_tables
    with database.unit_of_work(write=True) as session:
        for table in reversed(tables):  # children before the rows they reference
            session.execute(table.delete())
        if session.dialect.name == "sqlite":
            # Tables declared with sqlite_autoincrement keep their last id here.
            session.execute(text("DELETE FROM sqlite_sequence"))
            return
        for table in tables:
            if (column := table.autoincrement_column) is not None:
                session.execute(
                    text("SELECT setval(pg_get_serial_sequence(:table, :column), 1, false)"),
                    {"table": table.name, "column": column.name},
                )


def make_settings(db_url: str, instance: Path, **overrides: object) -> Settings:
    """Settings for a test app: a fixed secret, and limits tests do not trip by accident."""
    base = Settings(
        database_url=db_url,
        secret_key=TEST_SECRET,
        instance_path=instance,
        login_rate_limit=RateLimit(100_000, 60),
        register_rate_limit=RateLimit(100_000, 3600),
        # Off: a budget's batch of counts is a transaction of its own, now and then, which the
        # tests that count a request's transactions would see. Their own tests turn them on,
        # and the live servers of the e2e tests run with GENEROUS_BUDGET.
        rate_limit=None,
        write_rate_limit=None,
    )
    return base.with_overrides(**overrides)


# Users


def register(client: FlaskClient, username: str, password: str = PASSWORD) -> int:
    """Register a user and return the id."""
    response = client.post("/register", json={"username": username, "password": password})
    assert response.status_code == 201, response.get_json()
    user_id: int = response.get_json()["id"]
    return user_id


def login(client: FlaskClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    """Log in; the tokens of the new session."""
    response = client.post("/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.get_json()
    tokens: dict[str, str] = response.get_json()
    return tokens


def auth(token: str) -> dict[str, str]:
    """The Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


@dataclass
class User:
    """A registered, logged-in user."""

    id: int
    username: str
    headers: dict[str, str]
    tokens: dict[str, str]


def new_user(client: FlaskClient, username: str) -> User:
    """Register and log in a user."""
    user_id = register(client, username)
    tokens = login(client, username)
    return User(user_id, username, auth(tokens["access_token"]), tokens)


def make_admin(database: Database, user_id: int) -> None:
    """Turn a user into an admin, as `storekeeper create-admin` would."""
    with database.unit_of_work(write=True) as session:
        session.execute(update(UserRow).where(UserRow.id == user_id).values(is_admin=True))


# The catalog


def store(client: FlaskClient, user: User, name: str = "Shop") -> dict[str, Any]:
    """Create a store as the user."""
    answer = client.post("/store", json={"name": name}, headers=user.headers)
    assert answer.status_code == 201, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def item(
    client: FlaskClient, user: User, store_id: int, name: str = "Chair", **extra: Any
) -> dict[str, Any]:
    """Create an item in a store as the user."""
    payload = {"name": name, "price": 9.99, **extra}
    answer = client.post(f"/store/{store_id}/item", json=payload, headers=user.headers)
    assert answer.status_code == 201, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def tag(client: FlaskClient, user: User, store_id: int, name: str = "wood") -> dict[str, Any]:
    """Create a tag in a store as the user."""
    answer = client.post(f"/store/{store_id}/tag", json={"name": name}, headers=user.headers)
    assert answer.status_code == 201, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


# A webhook URL the API accepts with private addresses refused (the default): a public address
# written as such, so no DNS look-up is needed (tests have no resolver). Nothing is sent to it:
# only a worker delivers, and the tests that run one point their webhooks at loopback.
HOOK_URL = "https://93.184.215.14/hooks"


def webhook(
    client: FlaskClient,
    user: User,
    store_id: int,
    events: tuple[str, ...] = ("*",),
    url: str = HOOK_URL,
    **extra: Any,
) -> dict[str, Any]:
    """Create a webhook of a store as the user; the answer has its secret."""
    payload = {"url": url, "events": list(events), **extra}
    answer = client.post(f"/store/{store_id}/webhook", json=payload, headers=user.headers)
    assert answer.status_code == 201, answer.get_json()
    body: dict[str, Any] = answer.get_json()
    return body


def assert_problem(answer: Any, status: int) -> dict[str, Any]:
    """The answer is a problem+json of this status."""
    assert answer.status_code == status, answer.get_data(as_text=True)
    assert answer.headers["Content-Type"].startswith(PROBLEM)
    body: dict[str, Any] = answer.get_json()
    assert body["status"] == status
    assert {"type", "title", "status", "detail"} <= set(body)
    return body


def declared_operations() -> list[Operation]:
    """Every operation the app's blueprints declare."""
    from storekeeper.app import BLUEPRINTS

    found = []
    for blueprint in BLUEPRINTS:
        module = sys.modules[blueprint.import_name]
        handlers = [v for v in vars(module).values() if inspect.isfunction(v)]
        found += [op for handler in handlers if (op := operation_of(handler))]
    return found
