"""Live servers for the client's tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.live import database_url, live_server


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def base_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A live server (two workers) on each database, shared by the client's tests."""
    with database_url(request.param) as url:
        settings = {"STOREKEEPER_DATABASE_URL": url} if url else {}
        with live_server(
            workers=2, STOREKEEPER_LOGIN_RATE_LIMIT="100000/minute", **settings
        ) as base:
            yield base
