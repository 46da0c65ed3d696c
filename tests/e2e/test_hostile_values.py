"""Hostile values over real sockets, on both databases: huge numbers, NUL, made-up methods."""

from __future__ import annotations

import json
import random
import re
from collections.abc import Iterator

import pytest
import requests

from tests.e2e.live import database_url, live_server, login_token

HANG_S = 30.0
NUL = "a\x00b"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request: pytest.FixtureRequest) -> Iterator[tuple[str, dict[str, str], int, int]]:
    """A live server on each database, a token, one of its stores and one item."""
    with database_url(request.param) as url:
        extra = {} if url is None else {"STOREKEEPER_DATABASE_URL": url}
        with live_server(workers=2, **extra) as base:
            auth = {"Authorization": f"Bearer {login_token(base)}"}
            store = requests.post(f"{base}/store", json={"name": "S"}, headers=auth, timeout=HANG_S)
            item = requests.post(
                f"{base}/store/{store.json()['id']}/item",
                json={"name": "I", "price": 1},
                headers=auth,
                timeout=HANG_S,
            )
            yield base, auth, store.json()["id"], item.json()["id"]


@pytest.mark.slow
@pytest.mark.parametrize("literal", ["1e400000", "1e1000000", "9" * 5000, "-" + "9" * 100_000])
@pytest.mark.parametrize("field", ["price", "quantity", "store_id"])
def test_huge_numbers_are_a_422_on_their_field(
    server: tuple[str, dict[str, str], int, int], field: str, literal: str
) -> None:
    base, auth, store, _ = server
    fields = {"name": "q", "price": "1", "quantity": "1", "store_id": str(store)}
    fields[field] = literal
    body = (
        "{"
        + ", ".join(f'"{k}": {v}' if k != "name" else '"name": "q"' for k, v in fields.items())
        + "}"
    )
    answer = requests.post(
        f"{base}/item",
        data=body.encode(),
        headers={**auth, "Content-Type": "application/json"},
        timeout=HANG_S,
    )
    assert answer.status_code == 422
    assert field in answer.json()["errors"]


LIST_FILTERS = {
    "/store": ["name", "q"],
    "/item": ["name", "q", "store_id", "tag", "min_price", "max_price", "in_stock", "sort"],
    "/store/{store}/item": ["name", "q", "tag", "min_price", "sort"],
    "/store/{store}/tag": ["sort"],
}


@pytest.mark.slow
def test_nul_in_every_query_filter_is_a_422(server: tuple[str, dict[str, str], int, int]) -> None:
    base, _, store, _ = server
    for path, names in LIST_FILTERS.items():
        for name in [*names, "cursor"]:
            answer = requests.get(
                base + path.format(store=store), params={name: NUL}, timeout=HANG_S
            )
            assert answer.status_code == 422, (path, name, answer.text)
            assert name in answer.json()["errors"], (path, name)


@pytest.mark.slow
def test_nul_in_every_body_field_is_a_422(server: tuple[str, dict[str, str], int, int]) -> None:
    base, auth, store, item = server
    cases: list[tuple[str, str, dict[str, object], str]] = [
        ("POST", "/store", {"name": NUL}, "name"),
        ("PATCH", f"/store/{store}", {"name": NUL}, "name"),
        ("POST", f"/store/{store}/item", {"name": NUL, "price": 1}, "name"),
        (
            "POST",
            f"/store/{store}/item",
            {"name": "n", "price": 1, "description": NUL},
            "description",
        ),
        ("PUT", f"/item/{item}", {"name": "n", "price": 1, "description": NUL}, "description"),
        ("PATCH", f"/item/{item}", {"name": NUL}, "name"),
        ("POST", f"/store/{store}/tag", {"name": NUL}, "name"),
        ("POST", "/register", {"username": NUL, "password": "long enough"}, "username"),
        ("POST", "/register", {"username": "nul_user", "password": "pass\x00word"}, "password"),
        (
            "POST",
            "/register",
            {"username": "nul_mail", "password": "long enough", "email": "a\x00@b.example"},
            "email",
        ),
        ("POST", "/login", {"username": NUL, "password": "long enough"}, "username"),
    ]
    for method, path, body, field in cases:
        headers = {} if path in ("/register", "/login") else auth
        if method == "PATCH":
            headers = {**headers, "Content-Type": "application/merge-patch+json"}
            answer = requests.patch(base + path, data=_json(body), headers=headers, timeout=HANG_S)
        else:
            answer = requests.request(
                method, base + path, json=body, headers=headers, timeout=HANG_S
            )
        assert answer.status_code == 422, (method, path, answer.text)
        assert field in answer.json()["errors"], (method, path, answer.text)


def _json(body: dict[str, object]) -> bytes:
    return json.dumps(body).encode()


def _series(base: str) -> int:
    """How many request-metric series the server exports."""
    text = requests.get(f"{base}/metrics", timeout=HANG_S).text
    return len([line for line in text.splitlines() if line.startswith("storekeeper_http_")])


@pytest.mark.slow
def test_made_up_methods_and_paths_do_not_grow_the_metrics(
    server: tuple[str, dict[str, str], int, int],
) -> None:
    base, _, _, _ = server
    # Every label set that ordinary traffic can reach exists before counting.
    for method in ("FOO", "GET"):
        requests.request(method, f"{base}/store", timeout=HANG_S)
        requests.request(method, f"{base}/nowhere", timeout=HANG_S)
    _series(base)  # the scrape itself is a series too
    before = _series(base)
    rng = random.Random(8)
    for n in range(300):
        method = "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ") for _ in range(6)) + str(n)
        requests.request(method, f"{base}/store", timeout=HANG_S)
        requests.get(f"{base}/no/such/{n}", timeout=HANG_S)
    after = _series(base)
    assert after == before
    assert not re.search(
        r'method="[A-Z]{6}\d+"', requests.get(f"{base}/metrics", timeout=HANG_S).text
    )
