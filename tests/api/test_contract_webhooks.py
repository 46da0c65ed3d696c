"""A store's webhooks (contract "Webhooks"): their API, their rules, and the fan-out of each
store event to the pending deliveries the worker sends (the sending is tested with it)."""

from __future__ import annotations

import base64
import dataclasses
import io
import logging
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from storekeeper.app import create_app
from storekeeper.db.models import Job, StoreEvent, Webhook, WebhookDelivery
from storekeeper.db.session import Database
from storekeeper.db.webhooks import WebhookRepository
from storekeeper.domain.webhooks import Attempt
from storekeeper.http.context import SERVICES
from tests.helpers import (
    HOOK_URL,
    ProvisionedDatabase,
    User,
    assert_problem,
    item,
    make_admin,
    make_settings,
    new_user,
    store,
    webhook,
)

# Reading the database straight: what the API never shows (secrets, jobs) and what it holds.


def rows(database: Database, table: Any, *where: Any) -> list[dict[str, Any]]:
    with database.unit_of_work(write=False) as conn:
        found = conn.execute(select(table).where(*where).order_by(table.c.id)).all()
        return [dict(r._mapping) for r in found]


def deliveries(database: Database) -> list[dict[str, Any]]:
    return rows(database, WebhookDelivery.__table__)


def delivery_jobs(database: Database) -> list[dict[str, Any]]:
    table = Job.__table__
    return rows(database, table, table.c.kind == "webhook.deliver")


def stored_hook(database: Database, webhook_id: int) -> dict[str, Any]:
    table = Webhook.__table__
    (found,) = rows(database, table, table.c.id == webhook_id)
    return found


def last_event_id(database: Database) -> int:
    with database.unit_of_work(write=False) as conn:
        table = StoreEvent.__table__
        return int(conn.execute(select(func.max(table.c.id))).scalar_one())


def history(client: FlaskClient, user: User, store_id: int) -> list[dict[str, Any]]:
    answer = client.get(f"/store/{store_id}/event?limit=200", headers=user.headers)
    assert answer.status_code == 200
    found: list[dict[str, Any]] = answer.get_json()
    return found


def ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, (answer.status_code, answer.get_data(as_text=True))
    return answer.get_json()


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything the app logs during the test."""
    logger = logging.getLogger("storekeeper")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


@pytest.fixture
def private_client(
    test_database: ProvisionedDatabase, session_database: Database, tmp_path: Path
) -> FlaskClient:
    """A client of an app whose operator allows private addresses (WEBHOOK_ALLOW_PRIVATE)."""
    settings = make_settings(test_database.url, tmp_path, webhook_allow_private=True)
    return create_app(settings, session_database).test_client()


# Creating, reading, changing, deleting


def test_create_shows_the_secret_once_and_reads_never_show_it(
    client: FlaskClient, alice: User, database: Database, log_lines: io.StringIO
) -> None:
    shop = store(client, alice)
    answer = client.post(
        f"/store/{shop['id']}/webhook",
        json={
            "url": HOOK_URL,
            "events": ["item.updated", "item.created", "item.updated"],
            "description": "Stock sync",
        },
        headers=alice.headers,
    )
    made = ok(answer, 201)
    assert answer.headers["Location"] == f"/webhook/{made['id']}"
    assert "no-store" in answer.headers["Cache-Control"]
    secret = made.pop("secret")
    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32
    assert made == {
        "id": made["id"],
        "store_id": shop["id"],
        "url": HOOK_URL,
        "description": "Stock sync",
        # Sorted, each once.
        "events": ["item.created", "item.updated"],
        "enabled": True,
        "disabled_reason": None,
        "created_at": made["created_at"],
        "updated_at": made["updated_at"],
    }
    read = client.get(f"/webhook/{made['id']}", headers=alice.headers)
    assert ok(read) == made
    # The create's ETag is the webhook's as GET shows it (without the secret).
    assert read.headers["ETag"] == answer.headers["ETag"]
    listed = ok(client.get(f"/store/{shop['id']}/webhook", headers=alice.headers))
    assert listed == [made]
    assert stored_hook(database, made["id"])["secret"] == secret
    (event,) = history(client, alice, shop["id"])
    assert event["type"] == "webhook.created"
    assert event["resource"] == {"type": "webhook", "id": made["id"]}
    assert event["changes"] == {
        "url": [None, HOOK_URL],
        "description": [None, "Stock sync"],
        "events": [None, ["item.created", "item.updated"]],
        "enabled": [None, True],
    }
    assert secret not in str(event)
    assert secret not in log_lines.getvalue()
    # Not subscribed to webhook.created: not sent its own creation.
    assert deliveries(database) == []
    filtered = client.get(
        f"/store/{shop['id']}/event?resource=webhook:{made['id']}", headers=alice.headers
    )
    assert [e["id"] for e in ok(filtered)] == [event["id"]]


def test_the_list_is_paginated_by_id(client: FlaskClient, alice: User) -> None:
    shop = store(client, alice)
    made = [webhook(client, alice, shop["id"])["id"] for _ in range(3)]
    first = client.get(f"/store/{shop['id']}/webhook?limit=2", headers=alice.headers)
    assert [w["id"] for w in ok(first)] == made[:2]
    link = first.headers["Link"]
    url = link[link.index("<") + 1 : link.index(">")]
    parts = urlsplit(url)
    rest = client.get(f"{parts.path}?{parts.query}", headers=alice.headers)
    assert [w["id"] for w in ok(rest)] == made[2:]
    assert "Link" not in rest.headers


def test_patch_changes_fields_and_records_what_changed(
    client: FlaskClient, alice: User, database: Database
) -> None:
    shop = store(client, alice)
    made = webhook(client, alice, shop["id"], ("item.created",))
    secret = made["secret"]
    answer = client.patch(
        f"/webhook/{made['id']}",
        json={"url": HOOK_URL + "/v2", "events": ["*"], "description": "All of it"},
        headers=alice.headers,
    )
    changed = ok(answer)
    assert "secret" not in changed
    assert (changed["url"], changed["events"], changed["description"]) == (
        HOOK_URL + "/v2",
        ["*"],
        "All of it",
    )
    assert stored_hook(database, made["id"])["secret"] == secret
    event = history(client, alice, shop["id"])[0]
    assert event["type"] == "webhook.updated"
    assert event["changes"] == {
        "url": [HOOK_URL, HOOK_URL + "/v2"],
        "events": [["item.created"], ["*"]],
        "description": ["", "All of it"],
    }
    # The same values again change nothing: no event.
    again = client.patch(f"/webhook/{made['id']}", json={"events": ["*"]}, headers=alice.headers)
    assert ok(again) == changed
    assert history(client, alice, shop["id"])[0]["id"] == event["id"]


def test_rotation_returns_the_new_secret_once_and_keeps_the_old_for_a_day(
    client: FlaskClient, alice: User, database: Database, log_lines: io.StringIO
) -> None:
    shop = store(client, alice)
    made = webhook(client, alice, shop["id"])
    before = datetime.now(UTC)
    answer = client.patch(
        f"/webhook/{made['id']}", json={"rotate_secret": True}, headers=alice.headers
    )
    after = datetime.now(UTC)
    rotated = ok(answer)
    new = rotated.pop("secret")
    assert new.startswith("whsec_") and new != made["secret"]
    assert "no-store" in answer.headers["Cache-Control"]
    assert (
        answer.headers["ETag"]
        == client.get(f"/webhook/{made['id']}", headers=alice.headers).headers["ETag"]
    )
    kept = stored_hook(database, made["id"])
    assert (kept["secret"], kept["previous_secret"]) == (new, made["secret"])
    expires = kept["previous_secret_expires_at"]
    assert before + timedelta(hours=24) <= expires <= after + timedelta(hours=24)
    event = history(client, alice, shop["id"])[0]
    assert event["type"] == "webhook.updated"
    assert event["changes"] == {"secret": ["rotated", "rotated"]}
    text = log_lines.getvalue() + str(history(client, alice, shop["id"]))
    assert new not in text and made["secret"] not in text
    assert "secret" not in ok(client.get(f"/webhook/{made['id']}", headers=alice.headers))


def test_disable_and_enable(client: FlaskClient, alice: User, database: Database) -> None:
    shop = store(client, alice)
    made = webhook(client, alice, shop["id"])
    off = ok(client.patch(f"/webhook/{made['id']}", json={"enabled": False}, headers=alice.headers))
    assert (off["enabled"], off["disabled_reason"]) == (False, None)
    assert history(client, alice, shop["id"])[0]["changes"] == {"enabled": [True, False]}
    # Delivery turns one off with a reason; a user turning it on clears it and the failures.
    ok(client.patch(f"/webhook/{made['id']}", json={"enabled": True}, headers=alice.headers))
    with database.unit_of_work(write=True) as conn:
        hooks = WebhookRepository(conn)
        now = datetime.now(UTC)
        assert hooks.mark_failing(made["id"], now) == now
        assert hooks.mark_failing(made["id"], now + timedelta(seconds=5)) == now
        hooks.disable(made["id"], "gone", now)
    gone = ok(client.get(f"/webhook/{made['id']}", headers=alice.headers))
    assert (gone["enabled"], gone["disabled_reason"]) == (False, "gone")
    on = ok(client.patch(f"/webhook/{made['id']}", json={"enabled": True}, headers=alice.headers))
    assert (on["enabled"], on["disabled_reason"]) == (True, None)
    assert stored_hook(database, made["id"])["failing_since"] is None


def test_delete_removes_the_webhook_and_its_deliveries(
    client: FlaskClient, alice: User, database: Database
) -> None:
    shop = store(client, alice)
    made = webhook(client, alice, shop["id"])
    item(client, alice, shop["id"])
    assert deliveries(database)
    assert client.delete(f"/webhook/{made['id']}", headers=alice.headers).status_code == 204
    assert_problem(client.get(f"/webhook/{made['id']}", headers=alice.headers), 404)
    assert_problem(client.delete(f"/webhook/{made['id']}", headers=alice.headers), 404)
    assert deliveries(database) == []
    event = history(client, alice, shop["id"])[0]
    assert event["type"] == "webhook.deleted"
    assert event["changes"]["url"] == [HOOK_URL, None]


def test_if_match_guards_patch_and_delete(client: FlaskClient, alice: User) -> None:
    shop = store(client, alice)
    made = webhook(client, alice, shop["id"])
    path = f"/webhook/{made['id']}"
    etag = client.get(path, headers=alice.headers).headers["ETag"]
    stale = {**alice.headers, "If-Match": '"stale"'}
    assert_problem(client.patch(path, json={"description": "x"}, headers=stale), 412)
    assert_problem(client.delete(path, headers=stale), 412)
    assert ok(client.get(path, headers=alice.headers))["description"] == ""
    fresh = {**alice.headers, "If-Match": etag}
    assert ok(client.patch(path, json={"description": "x"}, headers=fresh))["description"] == "x"
    assert_problem(client.delete(path, headers=fresh), 412)  # the PATCH changed it
    etag = client.get(path, headers=alice.headers).headers["ETag"]
    assert client.delete(path, headers={**alice.headers, "If-Match": etag}).status_code == 204


def test_a_create_with_an_idempotency_key_is_made_once(
    client: FlaskClient, alice: User, database: Database
) -> None:
    shop = store(client, alice)
    headers = {**alice.headers, "Idempotency-Key": "hook-1"}
    body = {"url": HOOK_URL, "events": ["*"]}
    first = client.post(f"/store/{shop['id']}/webhook", json=body, headers=headers)
    again = client.post(f"/store/{shop['id']}/webhook", json=body, headers=headers)
    assert ok(again, 201) == ok(first, 201)
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert len(rows(database, Webhook.__table__)) == 1


# What is refused


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": "http://93.184.215.14/hooks"}, "url"),  # http only with private addresses
        ({"url": "ftp://93.184.215.14/hooks"}, "url"),
        ({"url": "https://user:pw@93.184.215.14/hooks"}, "url"),
        ({"url": "https:///hooks"}, "url"),
        ({"url": "https://127.0.0.1/hooks"}, "url"),  # loopback
        ({"url": "https://10.1.2.3/hooks"}, "url"),  # private
        ({"url": "https://169.254.169.254/latest"}, "url"),  # link-local (cloud metadata)
        ({"url": "https://[::1]/hooks"}, "url"),
        ({"url": HOOK_URL + "/" + "a" * 2048}, "url"),
        ({"url": ""}, "url"),
        ({"events": ["item.exploded"]}, "events"),
        ({"events": ["*", "item.created"]}, "events"),
        ({"events": []}, "events"),
        ({"events": "item.created"}, "events"),
        ({"description": "d" * 201}, "description"),
        ({"secret": "whsec_mine"}, "secret"),
    ],
)
def test_invalid_webhooks_are_422_on_their_field(
    client: FlaskClient, alice: User, database: Database, body: dict[str, Any], field: str
) -> None:
    shop = store(client, alice)
    sent = {"url": HOOK_URL, "events": ["*"], **body}
    problem = assert_problem(
        client.post(f"/store/{shop['id']}/webhook", json=sent, headers=alice.headers), 422
    )
    assert field in problem["errors"], problem
    assert rows(database, Webhook.__table__) == []
    made = webhook(client, alice, shop["id"])
    changed = {k: v for k, v in sent.items() if k in body}
    if field != "secret":
        problem = assert_problem(
            client.patch(f"/webhook/{made['id']}", json=changed, headers=alice.headers), 422
        )
        assert field in problem["errors"], problem


def test_private_addresses_and_http_are_accepted_when_the_operator_allows_them(
    private_client: FlaskClient, database: Database
) -> None:
    alice = new_user(private_client, "alice")
    shop = store(private_client, alice)
    for url in ("http://127.0.0.1:8080/hooks", "https://10.1.2.3/hooks", "http://[::1]/x"):
        made = webhook(private_client, alice, shop["id"], url=url)
        assert made["url"] == url
    # Still never a user name, nor another scheme.
    for url in ("http://u:p@127.0.0.1/hooks", "ftp://127.0.0.1/hooks"):
        answer = private_client.post(
            f"/store/{shop['id']}/webhook",
            json={"url": url, "events": ["*"]},
            headers=alice.headers,
        )
        assert "url" in assert_problem(answer, 422)["errors"]


def test_a_store_has_at_most_20_webhooks(client: FlaskClient, alice: User) -> None:
    shop = store(client, alice)
    other = store(client, alice, "Other")
    made = [webhook(client, alice, shop["id"]) for _ in range(20)]
    problem = assert_problem(
        client.post(
            f"/store/{shop['id']}/webhook",
            json={"url": HOOK_URL, "events": ["*"]},
            headers=alice.headers,
        ),
        409,
    )
    assert "20" in problem["detail"]
    webhook(client, alice, other["id"])  # another store's count is its own
    assert client.delete(f"/webhook/{made[0]['id']}", headers=alice.headers).status_code == 204
    webhook(client, alice, shop["id"])


def test_who_may_read_and_manage_webhooks(
    client: FlaskClient, alice: User, database: Database
) -> None:
    shop = store(client, alice)
    users = {name: new_user(client, name) for name in ("manny", "stan", "stranger", "admin")}
    make_admin(database, users["admin"].id)
    for name, role in (("manny", "manager"), ("stan", "staff")):
        ok(
            client.post(
                f"/store/{shop['id']}/member",
                json={"username": name, "role": role},
                headers=alice.headers,
            ),
            201,
        )
    made = webhook(client, alice, shop["id"])
    item(client, alice, shop["id"])
    (first, *_) = ok(client.get(f"/webhook/{made['id']}/delivery", headers=alice.headers))
    base = f"/webhook/{made['id']}"
    requests: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/store/{shop['id']}/webhook", None),
        ("POST", f"/store/{shop['id']}/webhook", {"url": HOOK_URL, "events": ["*"]}),
        ("GET", base, None),
        ("PATCH", base, {"description": "x"}),
        ("GET", f"{base}/delivery", None),
        ("GET", f"{base}/delivery/{first['id']}", None),
        ("POST", f"{base}/delivery/{first['id']}/redeliver", None),
        ("POST", f"{base}/ping", None),
        ("DELETE", base, None),
    ]
    for name in ("stan", "stranger"):
        for method, path, body in requests:
            answer = client.open(path, method=method, json=body, headers=users[name].headers)
            assert_problem(answer, 403)
    for method, path, body in requests:
        assert_problem(client.open(path, method=method, json=body), 401)
    assert ok(client.get(base, headers=alice.headers))["description"] == ""
    for name in ("manny", "admin"):
        for method, path, body in requests[:-1]:
            answer = client.open(path, method=method, json=body, headers=users[name].headers)
            assert answer.status_code < 300, (name, method, path, answer.get_json())
    assert client.delete(base, headers=users["manny"].headers).status_code == 204
    # A webhook that is not there: 404 for anyone signed in.
    for name in ("stan", "stranger", "manny"):
        assert_problem(client.get(base, headers=users[name].headers), 404)
    assert_problem(client.get("/store/999999/webhook", headers=alice.headers), 404)


# The fan-out: an event of a subscribed type starts a pending delivery and its job


def test_an_event_starts_one_pending_delivery_and_its_job_per_subscribed_webhook(
    client: FlaskClient, alice: User, database: Database
) -> None:
    shop = store(client, alice)
    other = store(client, alice, "Other")
    every = webhook(client, alice, shop["id"], ("*",))["id"]
    created = webhook(client, alice, shop["id"], ("item.created",))["id"]
    webhook(client, alice, shop["id"], ("tag.created",))  # not subscribed
    off = webhook(client, alice, shop["id"], ("item.created",))["id"]
    ok(client.patch(f"/webhook/{off}", json={"enabled": False}, headers=alice.headers))
    webhook(client, alice, other["id"], ("*",))  # another store's
    before = deliveries(database)
    # Subscribed to everything, a webhook is sent its own creation (and the later ones').
    assert (before[0]["webhook_id"], before[0]["type"]) == (every, "webhook.created")
    item(client, alice, shop["id"])
    event_id = last_event_id(database)
    new = deliveries(database)[len(before) :]
    assert [(r["webhook_id"], r["event_id"], r["type"]) for r in new] == [
        (every, event_id, "item.created"),
        (created, event_id, "item.created"),
    ]
    assert {(r["status"], r["attempt"]) for r in new} == {("pending", 1)}
    assert all(r["next_attempt_at"] is not None and r["attempted_at"] is None for r in new)
    jobs = {j["id"]: j for j in delivery_jobs(database)}
    for row in new:
        job = jobs[row["job_id"]]
        assert (job["status"], job["user_id"]) == ("queued", None)
        assert job["payload"] == f'{{"delivery_id":{row["id"]}}}'


def test_a_write_that_fails_starts_no_delivery(
    client: FlaskClient, alice: User, database: Database
) -> None:
    shop = store(client, alice)
    webhook(client, alice, shop["id"])
    chair = item(client, alice, shop["id"])
    before, jobs = deliveries(database), delivery_jobs(database)
    clash = client.post(
        f"/store/{shop['id']}/item", json={"name": chair["name"], "price": 1}, headers=alice.headers
    )
    assert_problem(clash, 409)
    stale = client.patch(
        f"/item/{chair['id']}", json={"quantity": 9}, headers={**alice.headers, "If-Match": '"x"'}
    )
    assert_problem(stale, 412)
    assert (deliveries(database), delivery_jobs(database)) == (before, jobs)


def test_ping_and_redeliver_start_new_chains(
    client: FlaskClient, alice: User, database: Database
) -> None:
    shop = store(client, alice)
    made = webhook(client, alice, shop["id"], ("item.created",))
    base = f"/webhook/{made['id']}"
    item(client, alice, shop["id"])
    (first,) = ok(client.get(f"{base}/delivery", headers=alice.headers))
    jobs_before = len(delivery_jobs(database))

    pinged = client.post(f"{base}/ping", headers=alice.headers)
    ping = ok(pinged, 202)
    assert pinged.headers["Location"] == f"{base}/delivery/{ping['id']}"
    assert {k: ping[k] for k in ("webhook_id", "event_id", "type", "attempt", "status")} == {
        "webhook_id": made["id"],
        "event_id": None,
        "type": "webhook.ping",
        "attempt": 1,
        "status": "pending",
    }
    assert ok(client.get(pinged.headers["Location"], headers=alice.headers)) == ping

    again = client.post(f"{base}/delivery/{first['id']}/redeliver", headers=alice.headers)
    redelivered = ok(again, 202)
    assert again.headers["Location"] == f"{base}/delivery/{redelivered['id']}"
    assert (redelivered["event_id"], redelivered["type"], redelivered["attempt"]) == (
        first["event_id"],
        "item.created",
        1,
    )
    # Each chain has a job of its own; neither is a store event.
    chains = {r["id"]: r["job_id"] for r in deliveries(database)}
    assert len({chains[first["id"]], chains[ping["id"]], chains[redelivered["id"]]}) == 3
    assert len(delivery_jobs(database)) == jobs_before + 2
    assert [e["type"] for e in history(client, alice, shop["id"])][:1] == ["item.created"]
    # Another webhook's delivery is no delivery of this one.
    other = webhook(client, alice, shop["id"])
    assert_problem(
        client.post(
            f"/webhook/{other['id']}/delivery/{first['id']}/redeliver", headers=alice.headers
        ),
        404,
    )
    assert_problem(
        client.get(f"/webhook/{other['id']}/delivery/{first['id']}", headers=alice.headers), 404
    )
    # A ping retried with its Idempotency-Key is the first one again, not a second chain.
    keyed = {**alice.headers, "Idempotency-Key": "ping-1"}
    jobs_before = len(delivery_jobs(database))
    once = ok(client.post(f"{base}/ping", headers=keyed), 202)
    assert ok(client.post(f"{base}/ping", headers=keyed), 202) == once
    assert len(delivery_jobs(database)) == jobs_before + 1
    # A disabled webhook sends nothing: enable it first.
    ok(client.patch(base, json={"enabled": False}, headers=alice.headers))
    assert_problem(client.post(f"{base}/ping", headers=alice.headers), 409)
    assert_problem(
        client.post(f"{base}/delivery/{first['id']}/redeliver", headers=alice.headers), 409
    )


def test_the_delivery_log_is_newest_first_paginated_and_filtered(
    client: FlaskClient, alice: User, database: Database
) -> None:
    shop = store(client, alice)
    made = webhook(client, alice, shop["id"], ("item.created",))
    base = f"/webhook/{made['id']}/delivery"
    item(client, alice, shop["id"], "Chair")
    chair_event = last_event_id(database)
    item(client, alice, shop["id"], "Table")
    ping = ok(client.post(f"/webhook/{made['id']}/ping", headers=alice.headers), 202)
    log = ok(client.get(base, headers=alice.headers))
    assert [d["id"] for d in log] == sorted((d["id"] for d in log), reverse=True)
    assert len(log) == 3 and log[0] == ping
    assert set(log[0]) == {
        "id",
        "webhook_id",
        "event_id",
        "type",
        "attempt",
        "status",
        "response_status",
        "duration_ms",
        "error",
        "next_attempt_at",
        "created_at",
        "attempted_at",
    }
    page = client.get(f"{base}?limit=2", headers=alice.headers)
    assert [d["id"] for d in ok(page)] == [d["id"] for d in log[:2]]
    assert "Link" in page.headers
    only = ok(client.get(f"{base}?event_id={chair_event}", headers=alice.headers))
    assert [d["event_id"] for d in only] == [chair_event]
    # An attempt that failed, as delivery records it.
    with database.unit_of_work(write=True) as conn:
        recorded = WebhookRepository(conn).record_attempt(
            only[0]["id"],
            Attempt("failed", 503, 12, "receiver answered 503", datetime.now(UTC)),
        )
        assert recorded
    failed = ok(client.get(f"{base}?status=failed", headers=alice.headers))
    assert [(d["id"], d["response_status"], d["error"]) for d in failed] == [
        (only[0]["id"], 503, "receiver answered 503")
    ]
    assert len(ok(client.get(f"{base}?status=pending", headers=alice.headers))) == 2
    assert (
        "status"
        in assert_problem(client.get(f"{base}?status=lost", headers=alice.headers), 422)["errors"]
    )


def test_deleting_a_store_deletes_its_webhooks_and_deliveries(
    client: FlaskClient, alice: User, database: Database
) -> None:
    shop = store(client, alice)
    kept = store(client, alice, "Kept")
    made = webhook(client, alice, shop["id"])
    webhook(client, alice, kept["id"])
    item(client, alice, shop["id"])
    item(client, alice, kept["id"])
    assert client.delete(f"/store/{shop['id']}", headers=alice.headers).status_code == 204
    assert_problem(client.get(f"/webhook/{made['id']}", headers=alice.headers), 404)
    assert {w["store_id"] for w in rows(database, Webhook.__table__)} == {kept["id"]}
    hooks = {w["id"] for w in rows(database, Webhook.__table__)}
    assert deliveries(database) and {d["webhook_id"] for d in deliveries(database)} <= hooks


class WatchedDestinations:
    """The app's own rules, counting their checks and whether a write lock was held then."""

    def __init__(self, real: Any, sqlite_path: str | None) -> None:
        self.real = real
        self.sqlite_path = sqlite_path
        self.checked: list[str] = []
        self.locked: list[bool] = []

    def check(self, url: str) -> str | None:
        self.checked.append(url)
        if self.sqlite_path is not None:
            # Another connection takes the write lock at once: no transaction holds it.
            other = sqlite3.connect(self.sqlite_path, timeout=0, isolation_level=None)
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("ROLLBACK")
                self.locked.append(False)
            except sqlite3.OperationalError:
                self.locked.append(True)
            finally:
                other.close()
        reason: str | None = self.real.check(url)
        return reason


def test_the_url_is_checked_once_and_outside_any_write_transaction(
    app: Flask, client: FlaskClient, alice: User, test_database: ProvisionedDatabase
) -> None:
    """A check looks the host up (seconds, for a slow resolver): never while holding a write
    lock (on SQLite, every writer of the app would wait behind it), and once a request."""
    wired = app.extensions[SERVICES]
    path = (
        test_database.url.removeprefix("sqlite:///") if test_database.backend == "sqlite" else None
    )
    watched = WatchedDestinations(wired.destinations, path)
    app.extensions[SERVICES] = dataclasses.replace(wired, destinations=watched)
    try:
        shop = store(client, alice)
        made = webhook(client, alice, shop["id"])
        ok(
            client.patch(
                f"/webhook/{made['id']}", json={"url": HOOK_URL + "/2"}, headers=alice.headers
            )
        )
        ok(client.patch(f"/webhook/{made['id']}", json={"description": "x"}, headers=alice.headers))
    finally:
        app.extensions[SERVICES] = wired
    assert watched.checked == [HOOK_URL, HOOK_URL + "/2"]
    assert not any(watched.locked)


def test_a_webhook_outlives_the_account_of_the_manager_who_made_it(
    client: FlaskClient, alice: User, database: Database
) -> None:
    shop = store(client, alice)
    manny = new_user(client, "manny")
    ok(
        client.post(
            f"/store/{shop['id']}/member",
            json={"username": "manny", "role": "manager"},
            headers=alice.headers,
        ),
        201,
    )
    made = webhook(client, manny, shop["id"])
    assert stored_hook(database, made["id"])["created_by"] == manny.id
    assert client.delete(f"/user/{manny.id}", headers=manny.headers).status_code == 204
    assert ok(client.get(f"/webhook/{made['id']}", headers=alice.headers))["enabled"] is True
    assert stored_hook(database, made["id"])["created_by"] is None
