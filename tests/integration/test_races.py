"""Races: concurrent conditional writes and idempotent retries, in one process and across many."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient

from tests.e2e.live import database_url, live_server, login_token
from tests.helpers import User, item, store

RACERS = 10


def race(count: int, call: Callable[[int], tuple[int, Any]]) -> list[tuple[int, Any]]:
    """Run calls at once (released together by a barrier)."""
    barrier = threading.Barrier(count)

    def run(n: int) -> tuple[int, Any]:
        barrier.wait()
        return call(n)

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_one_winner_among_conditional_patches(app: Flask, client: FlaskClient, alice: User) -> None:
    chair = item(client, alice, store(client, alice)["id"])
    path = f"/item/{chair['id']}"
    current = client.get(path).headers["ETag"]

    def patch(n: int) -> tuple[int, Any]:
        answer = app.test_client().patch(
            path, json={"price": n + 1}, headers={**alice.headers, "If-Match": current}
        )
        return answer.status_code, answer.get_json()

    results = race(RACERS, patch)
    statuses = sorted(status for status, _ in results)
    assert statuses == [200] + [412] * (RACERS - 1)
    winner = next(body for status, body in results if status == 200)
    assert client.get(path).get_json()["price"] == winner["price"]


def test_one_winner_among_conditional_deletes(app: Flask, client: FlaskClient, alice: User) -> None:
    chair = item(client, alice, store(client, alice)["id"])
    path = f"/item/{chair['id']}"
    current = client.get(path).headers["ETag"]

    def delete(_: int) -> tuple[int, Any]:
        answer = app.test_client().delete(path, headers={**alice.headers, "If-Match": current})
        return answer.status_code, None

    statuses = sorted(status for status, _ in race(RACERS, delete))
    assert statuses.count(204) == 1
    assert set(statuses) <= {204, 404, 412}


def test_concurrent_retries_create_once(app: Flask, client: FlaskClient, alice: User) -> None:
    def post(_: int) -> tuple[int, Any]:
        answer = app.test_client().post(
            "/store", json={"name": "Once"}, headers={**alice.headers, "Idempotency-Key": "race"}
        )
        return answer.status_code, answer.get_json()

    results = race(RACERS, post)
    assert {status for status, _ in results} <= {201, 409}
    assert any(status == 201 for status, _ in results)
    assert len(client.get("/store").get_json()) == 1


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_races_across_worker_processes(backend: str) -> None:
    with database_url(backend) as url:
        settings = {"STOREKEEPER_DATABASE_URL": url} if url else {}
        with live_server(workers=2, **settings) as base:
            headers = {"Authorization": f"Bearer {login_token(base)}"}
            shop = requests.post(f"{base}/store", json={"name": "S"}, headers=headers, timeout=10)
            chair = requests.post(
                f"{base}/store/{shop.json()['id']}/item",
                json={"name": "Chair", "price": 1},
                headers=headers,
                timeout=10,
            ).json()
            path = f"{base}/item/{chair['id']}"
            current = requests.get(path, timeout=10).headers["ETag"]

            def patch(n: int) -> tuple[int, Any]:
                with requests.Session() as session:
                    answer = session.patch(
                        path,
                        json={"price": n + 2},
                        headers={**headers, "If-Match": current},
                        timeout=30,
                    )
                return answer.status_code, None

            statuses = sorted(status for status, _ in race(RACERS, patch))
            assert statuses == [200] + [412] * (RACERS - 1)

            def post(_: int) -> tuple[int, Any]:
                with requests.Session() as session:
                    answer = session.post(
                        f"{base}/store",
                        json={"name": "Retried"},
                        headers={**headers, "Idempotency-Key": "live-race"},
                        timeout=30,
                    )
                return answer.status_code, None

            assert {status for status, _ in race(RACERS, post)} <= {201, 409}
            names = [s["name"] for s in requests.get(f"{base}/store", timeout=10).json()]
            assert names.count("Retried") == 1


def test_a_shared_photo_dropped_by_some_items_while_others_take_it_stays_whole(
    app: Flask, client: FlaskClient, alice: User
) -> None:
    from tests.images import picture

    shop = store(client, alice)["id"]
    items = [item(client, alice, shop, f"Frame {n}")["id"] for n in range(RACERS)]
    photo = picture(48, 48)
    half = RACERS // 2
    for item_id in items[:half]:
        client.put(
            f"/item/{item_id}/image", data=photo, content_type="image/jpeg", headers=alice.headers
        )

    def churn(n: int) -> tuple[int, Any]:
        web, path = app.test_client(), f"/item/{items[n]}/image"
        if n < half:  # the last of these drops the photo's bytes, unless a taker holds them
            return web.delete(path, headers=alice.headers).status_code, None
        sent = {**alice.headers, "Content-Type": "image/jpeg"}
        return web.put(path, data=photo, headers=sent).status_code, None

    statuses = [status for status, _ in race(RACERS, churn)]
    assert all(status == 204 for status in statuses[:half]), statuses
    # A taker that lost the race to the last dropper is told to retry; none fails otherwise.
    assert all(status in (201, 409) for status in statuses[half:]), statuses
    for item_id in items:
        shown = client.get(f"/item/{item_id}").get_json()["image"]
        served = client.get(f"/item/{item_id}/image")
        assert served.status_code == (200 if shown else 404), (item_id, shown)
