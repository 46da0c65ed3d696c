"""Fixtures: settings -> app -> client, on SQLite always and PostgreSQL when it is reachable.

Each test run (each xdist worker) creates its own databases and drops them at the end. A test
that uses the database (directly or through `client`) leaves it empty, so no test sees
another's data. Helpers live in tests/helpers.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient

from storekeeper.app import create_app
from storekeeper.db import migrate
from storekeeper.db.session import Database
from tests.helpers import (
    ProvisionedDatabase,
    User,
    empty_database,
    make_admin,
    make_settings,
    new_database,
    new_user,
    require,
)
from tests.redis_server import RedisServer


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def test_database(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ProvisionedDatabase]:
    """An empty, migrated database for the session, per backend."""
    backend: str = request.param
    with new_database(backend, tmp_path_factory.mktemp(backend), "storekeeper_test") as url:
        database = Database(url)
        migrate.upgrade(database.engine)
        database.dispose()
        yield ProvisionedDatabase(backend, url)


@pytest.fixture
def scratch_database(test_database: ProvisionedDatabase, tmp_path: Path) -> Iterator[Database]:
    """A new, empty database of the session's backend, for a test that builds a schema from
    nothing (the session's database is left untouched); dropped afterwards.
    """
    with new_database(test_database.backend, tmp_path, "storekeeper_scratch") as url:
        database = Database(url)
        try:
            yield database
        finally:
            database.dispose()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """This test run's own redis-server (one per xdist worker), started when first asked for."""
    require(shutil.which("redis-server") is not None, "redis-server (make deploy-tools)")
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """The URL of this run's own Redis, emptied for the test."""
    client = redis.Redis.from_url(redis_server.url, socket_timeout=2)
    try:
        client.flushdb()
    finally:
        client.close()
    return redis_server.url


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
