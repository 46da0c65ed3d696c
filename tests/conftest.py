"""Fixtures: settings -> app -> client, on SQLite always and PostgreSQL when it is reachable.

Each test run (each xdist worker) creates its own databases and drops them at the end; every
table is emptied after each test, so no test sees another's data.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import text

from storekeeper.app import create_app
from storekeeper.db import migrate
from storekeeper.db.models import Base
from storekeeper.db.session import Database
from storekeeper.settings import RateLimit, Settings

PG_ADMIN_URL = os.environ.get(
    "STOREKEEPER_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
BACKENDS = ["sqlite", "postgresql"]
TEST_SECRET = "test-secret-" + "x" * 40
PASSWORD = "correct horse battery"


def postgres_available() -> bool:
    """Whether the test PostgreSQL server answers."""
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.OperationalError:
        return False


@dataclass
class ProvisionedDatabase:
    """A database made for this test run."""

    backend: str
    url: str


def create_postgres(name: str) -> str:
    """Create an empty PostgreSQL database; its SQLAlchemy URL."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return (
        PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        + f"/{name}"
    )


def drop_postgres(name: str) -> None:
    """Drop a PostgreSQL database, closing its connections."""
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session", params=BACKENDS)
def test_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProvisionedDatabase]:
    """An empty, migrated database for the session, per backend."""
    backend: str = request.param
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("sqlite") / "storekeeper.db"
        db = ProvisionedDatabase(backend, f"sqlite:///{path}")
        name = None
    else:
        if not postgres_available():
            if os.environ.get("CI"):
                pytest.fail(f"PostgreSQL is required in CI but {PG_ADMIN_URL} does not answer")
            pytest.skip("PostgreSQL is not reachable")
        name = f"storekeeper_test_{os.getpid()}_{secrets.token_hex(4)}"
        db = ProvisionedDatabase(backend, create_postgres(name))
    database = Database(db.url)
    migrate.upgrade(database.engine)
    database.dispose()
    yield db
    if name is not None:
        drop_postgres(name)


def make_settings(db_url: str, instance: Path, **overrides: object) -> Settings:
    """Settings for a test app: a fixed secret and a login limit tests do not trip by accident."""
    base = Settings(
        database_url=db_url,
        secret_key=TEST_SECRET,
        instance_path=instance,
        login_rate_limit=RateLimit(100_000, 60),
    )
    return base.with_overrides(**overrides)


@pytest.fixture(scope="session")
def database(test_database: ProvisionedDatabase) -> Iterator[Database]:
    """The session's database handle."""
    db = Database(test_database.url)
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def app(
    test_database: ProvisionedDatabase, database: Database, tmp_path_factory: pytest.TempPathFactory
) -> Flask:
    """The app under test, bound to the session's database."""
    settings = make_settings(test_database.url, tmp_path_factory.mktemp("instance"))
    return create_app(settings, database)


def _empty_tables(database: Database) -> None:
    with database.unit_of_work(write=True) as session:
        for table in reversed(Base.metadata.sorted_tables):
            session.execute(table.delete())
        # Ids restart on both backends, so no test sees the ids another used (a PUT at 2^53 - 1
        # would otherwise push every later test's POSTs up there on SQLite).
        if session.dialect.name == "postgresql":
            for table in ("users", "stores", "items", "tags", "login_attempts"):
                session.execute(text(f"ALTER SEQUENCE {table}_id_seq RESTART WITH 1"))
        else:
            session.execute(text("DELETE FROM sqlite_sequence"))


@pytest.fixture
def client(app: Flask, database: Database) -> Iterator[FlaskClient]:
    """A test client; every table is emptied after the test."""
    yield app.test_client()
    _empty_tables(database)


@pytest.fixture
def backend(test_database: ProvisionedDatabase) -> str:
    """'sqlite' or 'postgresql'."""
    return test_database.backend


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
        session.execute(
            text("UPDATE users SET is_admin = :t WHERE id = :id"), {"t": True, "id": user_id}
        )


@pytest.fixture
def alice(client: FlaskClient) -> User:
    """A logged-in user who owns nothing yet."""
    return new_user(client, "alice")


@pytest.fixture
def bob(client: FlaskClient) -> User:
    """Another logged-in user."""
    return new_user(client, "bob")


@pytest.fixture
def admin(client: FlaskClient, database: Database) -> User:
    """A logged-in admin."""
    user = new_user(client, "root_admin")
    make_admin(database, user.id)
    return user
