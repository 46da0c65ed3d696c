"""Fixtures: settings -> app -> client, on SQLite always and PostgreSQL when it is reachable.

Each test run (each xdist worker) creates its own databases and drops them at the end. A test
that uses the database (directly or through `client`) leaves it empty, so no test sees
another's data. Helpers live in tests/helpers.py.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from storekeeper.app import create_app
from storekeeper.db import migrate
from storekeeper.db.session import Database
from tests.helpers import (
    PG_ADMIN_URL,
    ProvisionedDatabase,
    User,
    create_postgres,
    drop_postgres,
    empty_database,
    make_admin,
    make_settings,
    missing,
    new_user,
    postgres_available,
)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
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
            missing(f"PostgreSQL at {PG_ADMIN_URL}")
        name = f"storekeeper_test_{os.getpid()}_{secrets.token_hex(4)}"
        db = ProvisionedDatabase(backend, create_postgres(name))
    database = Database(db.url)
    migrate.upgrade(database.engine)
    database.dispose()
    yield db
    if name is not None:
        drop_postgres(name)


@pytest.fixture(scope="session")
def session_database(test_database: ProvisionedDatabase) -> Iterator[Database]:
    """The session's database handle, shared by every test of the backend."""
    db = Database(test_database.url)
    yield db
    db.dispose()


@pytest.fixture
def database(session_database: Database) -> Iterator[Database]:
    """The session's database; emptied after the test (tests/helpers.py, empty_database)."""
    yield session_database
    empty_database(session_database)


@pytest.fixture(scope="session")
def app(
    test_database: ProvisionedDatabase,
    session_database: Database,
    tmp_path_factory: pytest.TempPathFactory,
) -> Flask:
    """The app under test, bound to the session's database."""
    settings = make_settings(test_database.url, tmp_path_factory.mktemp("instance"))
    return create_app(settings, session_database)


@pytest.fixture
def client(app: Flask, database: Database) -> FlaskClient:
    """A test client; the database is emptied after the test."""
    return app.test_client()


@pytest.fixture
def backend(test_database: ProvisionedDatabase) -> str:
    """'sqlite' or 'postgresql'."""
    return test_database.backend


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
