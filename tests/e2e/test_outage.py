"""Degraded dependencies: a lost database is a quick 503, and the server recovers by itself."""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
import requests

from tests.conftest import PG_ADMIN_URL, postgres_available
from tests.e2e.live import live_server, login_token, postgres_database
from tests.e2e.tcp_proxy import TcpProxy

DEADLINE_S = 5.5  # the contract's 5 seconds, plus the test's own overhead


@pytest.fixture
def proxied_postgres() -> Iterator[tuple[TcpProxy, str]]:
    """A fresh PostgreSQL database reached through a proxy the test can cut."""
    if not postgres_available():
        pytest.skip("PostgreSQL is not reachable")
    info = psycopg.conninfo.conninfo_to_dict(PG_ADMIN_URL)
    port = str(info.get("port") or 5432)
    proxy = TcpProxy((str(info.get("host") or "127.0.0.1"), int(port)))
    try:
        with postgres_database() as url:
            yield proxy, url.replace(f":{port}/", f":{proxy.port}/")
    finally:
        proxy.close()


def _timed(method: str, url: str, **kwargs: object) -> tuple[requests.Response, float]:
    started = time.monotonic()
    response = requests.request(method, url, timeout=30, **kwargs)  # type: ignore[arg-type]
    return response, time.monotonic() - started


@pytest.mark.slow
def test_database_outage_is_a_quick_503_and_recovers(
    proxied_postgres: tuple[TcpProxy, str],
) -> None:
    proxy, url = proxied_postgres
    with live_server(workers=2, STOREKEEPER_DATABASE_URL=url) as base:
        token = login_token(base)
        headers = {"Authorization": f"Bearer {token}"}
        created = requests.post(
            f"{base}/store", json={"name": "Before"}, headers=headers, timeout=10
        )
        assert created.status_code == 201
        store = created.json()["id"]

        proxy.cut()
        for method, path in (("GET", f"/store/{store}"), ("POST", "/store"), ("GET", "/item")):
            body = {"json": {"name": "During"}, "headers": headers} if method == "POST" else {}
            answer, took = _timed(method, base + path, **body)
            assert answer.status_code == 503, answer.text
            assert answer.headers["Content-Type"].startswith("application/problem+json")
            assert int(answer.headers["Retry-After"]) > 0
            assert took < DEADLINE_S, f"{method} {path} took {took:.1f}s"
        ready, took = _timed("GET", f"{base}/ready")
        assert ready.status_code == 503 and took < DEADLINE_S
        assert requests.get(f"{base}/health", timeout=5).status_code == 200

        proxy.restore()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if requests.get(f"{base}/ready", timeout=10).status_code == 200:
                break
            time.sleep(0.5)
        after = requests.get(f"{base}/store/{store}", timeout=10)
        assert after.status_code == 200 and after.json()["name"] == "Before"
        again = requests.post(f"{base}/store", json={"name": "After"}, headers=headers, timeout=10)
        assert again.status_code == 201
