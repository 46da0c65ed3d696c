"""Webhook delivery jobs run in the test's process against a receiver on loopback, over a real
database (both backends): signed bodies as the history shows events, retries on the schedule,
the lease, a 410, a rotation. The worker's own processes: tests/e2e/test_webhooks_live.py."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from flask import Flask
from flask.testing import FlaskClient

from storekeeper.background.relay import RETENTION, Relay
from storekeeper.background.runner import Runner
from storekeeper.background.webhook_delivery import (
    DISABLED_MAIL_JOB,
    TROUBLE_DELAY_S,
    WebhookDelivery,
)
from storekeeper.db.unit_of_work import SqlUnitsOfWork
from storekeeper.domain.deliveries import FAILING_FOR, JITTER, SCHEDULE_S, RetrySchedule
from storekeeper.domain.jobs import JOBS, RetryPolicy
from storekeeper.domain.model import PageRequest
from storekeeper.domain.webhooks import (
    WEBHOOKS,
    Delivery,
    DeliveryQuery,
    NewWebhook,
    Webhook,
    new_secret,
)
from storekeeper.mail.transport import FileMailer
from storekeeper.services import Services
from storekeeper.webhooks.addresses import Destinations
from storekeeper.webhooks.sender import Sender
from tests.helpers import PASSWORD, User, auth, item, login, store
from tests.jobs.inbox import messages, text_of
from tests.webhook_receiver import Receiver

POLICY = RetryPolicy(max_attempts=3, lease_s=60)
SENDER = "Storekeeper <shop@example.com>"
SCALE = 0.001


class Clock:
    """A clock the test moves; it starts a second ahead of the database's now."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC) + timedelta(seconds=1)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


class Deliveries:
    """The worker's delivery handler and a runner, on the app's database and a test clock.

    The schedule is scaled down as the live tests scale it: the receiver checks signatures
    against its own clock (5 minutes' tolerance), so the test clock moves seconds, not hours.
    """

    def __init__(self, app: Flask, mail_dir: Path, scale: float = SCALE) -> None:
        found: Services = app.extensions["storekeeper"]
        assert isinstance(found.units, SqlUnitsOfWork)
        self.units = found.units
        self.clock = Clock()
        sender = Sender(Destinations(allow_private=True), timeout_s=10.0)
        self.handler = WebhookDelivery(
            self.units, sender, RetrySchedule(scale), FileMailer(mail_dir), SENDER, self.clock
        )
        self.runner = Runner(self.units, self.handler.handlers(), POLICY, self.clock)

    def run_due(self) -> list[str]:
        """Run every due job once; what each run did."""
        with self.units() as work:
            due = work[JOBS].due(self.clock(), timedelta(seconds=600), 1000)
        return [self.runner.run(job_id) for job_id in due]

    def subscribe(self, store_id: int, url: str, events: tuple[str, ...] = ("*",)) -> Webhook:
        with self.units(write=True) as work:
            hooks = work[WEBHOOKS]
            hook_id = hooks.add_webhook(store_id, NewWebhook(url, events), new_secret(), None)
            webhook = hooks.get_webhook(hook_id)
        assert webhook is not None
        return webhook

    def webhook(self, webhook_id: int) -> Webhook:
        with self.units() as work:
            found = work[WEBHOOKS].get_webhook(webhook_id)
        assert found is not None
        return found

    def attempts(self, webhook_id: int) -> list[Delivery]:
        """The webhook's delivery rows, oldest first."""
        query = DeliveryQuery(webhook_id, PageRequest("id", descending=True, limit=100))
        with self.units() as work:
            return list(reversed(work[WEBHOOKS].page_deliveries(query).rows))


@pytest.fixture
def deliveries(app: Flask, client: FlaskClient, tmp_path: Path) -> Deliveries:
    return Deliveries(app, tmp_path / "mail")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with Receiver() as hook:
        yield hook


def _history(client: FlaskClient, user: User, store_id: int) -> list[dict[str, Any]]:
    answer = client.get(f"/store/{store_id}/event?limit=100", headers=user.headers)
    assert answer.status_code == 200
    events: list[dict[str, Any]] = answer.get_json()
    return events


def test_every_event_is_delivered_signed_as_the_history_shows_it(
    client: FlaskClient, alice: User, deliveries: Deliveries, receiver: Receiver
) -> None:
    shop = store(client, alice)
    webhook = deliveries.subscribe(shop["id"], receiver.url, ("item.created", "item.updated"))
    receiver.secrets.append(webhook.secret)
    chair = item(client, alice, shop["id"], "Chair")
    item(client, alice, shop["id"], "Table")
    client.patch(f"/item/{chair['id']}", json={"quantity": 3}, headers=alice.headers)
    client.delete(f"/item/{chair['id']}", headers=alice.headers)  # not subscribed
    assert set(deliveries.run_due()) == {"succeeded"}
    events = {
        str(e["id"]): e
        for e in _history(client, alice, shop["id"])
        if e["type"] in ("item.created", "item.updated")
    }
    assert receiver.bad == []
    assert receiver.ids() == dict.fromkeys(events, 1)
    for got in receiver.delivered():
        event = events[got.webhook_id]
        assert got.body == {
            "type": event["type"],
            "timestamp": event["created_at"],
            "data": {**event, "store_id": shop["id"]},
        }
        assert got.headers["content-type"] == "application/json"
        assert got.headers["user-agent"] == "Storekeeper-Webhooks/1"
    rows = deliveries.attempts(webhook.id)
    assert [(r.status, r.attempt, r.response_status) for r in rows] == [("succeeded", 1, 200)] * 3
    assert deliveries.run_due() == []  # every chain ended


def test_a_failed_attempt_is_retried_on_the_schedule_past_the_policys_max(
    client: FlaskClient, alice: User, deliveries: Deliveries
) -> None:
    failures = POLICY.max_attempts + 2
    with Receiver(lambda n: 500 if n <= failures else 200) as receiver:
        shop = store(client, alice)
        webhook = deliveries.subscribe(shop["id"], receiver.url)
        receiver.secrets.append(webhook.secret)
        item(client, alice, shop["id"])
        for attempt in range(1, failures + 1):
            assert deliveries.run_due() == ["rescheduled"]
            assert deliveries.run_due() == []  # not due before its time
            rows = deliveries.attempts(webhook.id)
            assert [(r.attempt, r.status) for r in rows[-2:]] == [
                (attempt, "failed"),
                (attempt + 1, "pending"),
            ]
            failed = rows[-2]
            assert failed.response_status == 500
            assert failed.next_attempt_at == rows[-1].next_attempt_at
            assert failed.attempted_at is not None and failed.next_attempt_at is not None
            wait = (failed.next_attempt_at - failed.attempted_at).total_seconds()
            step = SCHEDULE_S[attempt - 1] * SCALE
            assert step <= wait <= step * (1 + JITTER) + 0.001
            assert deliveries.webhook(webhook.id).failing_since is not None
            deliveries.clock.advance(wait)
        assert deliveries.run_due() == ["succeeded"]
    assert receiver.bad == []
    assert len({r.webhook_id for r in receiver.requests}) == 1
    assert [r.status for r in receiver.requests] == [500] * failures + [200]
    # Identical bodies on every attempt: the signature changes with the timestamp only.
    assert len({r.raw for r in receiver.requests}) == 1
    assert deliveries.webhook(webhook.id).failing_since is None


def test_a_receiver_busy_with_another_runner_defers_the_job_without_an_attempt(
    client: FlaskClient, alice: User, deliveries: Deliveries, receiver: Receiver
) -> None:
    shop = store(client, alice)
    webhook = deliveries.subscribe(shop["id"], receiver.url)
    receiver.secrets.append(webhook.secret)
    held = deliveries.clock() + timedelta(seconds=30)
    with deliveries.units(write=True) as work:
        assert work[WEBHOOKS].take_lease(webhook.id, deliveries.clock(), held)
    item(client, alice, shop["id"])
    for _ in range(POLICY.max_attempts * 2):
        assert deliveries.run_due() == ["rescheduled"]
        deliveries.clock.advance(4)
        assert receiver.count() == 0
    (row,) = deliveries.attempts(webhook.id)
    assert (row.attempt, row.status) == (1, "pending")
    deliveries.clock.advance(30)  # the holder died: its lease ends
    assert deliveries.run_due() == ["succeeded"]
    assert receiver.count() == 1 and receiver.bad == []


def test_a_410_disables_the_webhook_fails_the_rest_and_tells_the_owner(
    client: FlaskClient, deliveries: Deliveries, tmp_path: Path
) -> None:
    body = {"username": "owner", "password": PASSWORD, "email": "owner@example.test"}
    assert client.post("/register", json=body).status_code == 201
    owner = User(0, "owner", auth(login(client, "owner")["access_token"]), {})
    with Receiver(lambda n: 410) as receiver:
        shop = store(client, owner, "Gone shop")
        webhook = deliveries.subscribe(shop["id"], receiver.url)
        receiver.secrets.append(webhook.secret)
        for name in ("a", "b", "c"):
            item(client, owner, shop["id"], name)
        outcomes = deliveries.run_due()
        # The first job sent (410); the mail job it queued ran too if listed after it; the
        # other chains were failed unsent.
        assert receiver.count() == 1 and receiver.bad == []
        deliveries.run_due()
    assert "rescheduled" not in outcomes
    after = deliveries.webhook(webhook.id)
    assert (after.enabled, after.disabled_reason) == (False, "gone")
    rows = deliveries.attempts(webhook.id)
    assert [(r.status, r.response_status, r.error) for r in rows] == [
        ("failed", 410, None),
        ("failed", None, "webhook disabled"),
        ("failed", None, "webhook disabled"),
    ]
    assert all(r.next_attempt_at is None for r in rows)
    with deliveries.units() as work:
        mail_jobs = [j for j in work[JOBS].failed(10) if j.kind == DISABLED_MAIL_JOB]
    assert mail_jobs == []
    (mail,) = messages(tmp_path / "mail")
    assert mail["To"] == "owner@example.test"
    assert "Gone shop" in text_of(mail) and receiver.url in text_of(mail)
    assert "410" in text_of(mail)


def test_during_a_rotation_both_secrets_sign(
    client: FlaskClient, alice: User, deliveries: Deliveries, receiver: Receiver
) -> None:
    shop = store(client, alice)
    webhook = deliveries.subscribe(shop["id"], receiver.url)
    old = webhook.secret
    rotated = replace(
        webhook,
        secret=new_secret(),
        previous_secret=old,
        previous_secret_expires_at=deliveries.clock() + timedelta(hours=24),
    )
    with deliveries.units(write=True) as work:
        work[WEBHOOKS].save_webhook(rotated)
    receiver.secrets.extend([rotated.secret, old])
    item(client, alice, shop["id"])
    assert deliveries.run_due() == ["succeeded"]
    # Once its 24 hours are over, the old secret signs no more.
    with deliveries.units(write=True) as work:
        expired = replace(rotated, previous_secret_expires_at=deliveries.clock())
        work[WEBHOOKS].save_webhook(expired)
    item(client, alice, shop["id"], "Later")
    assert deliveries.run_due() == ["succeeded"]
    first, second = receiver.requests
    assert first.verified_by == (0, 1)
    assert len(first.headers["webhook-signature"].split(" ")) == 2
    assert second.verified_by == (0,)
    assert orjson.loads(second.raw)["data"]["changes"]["name"] == [None, "Later"]


def test_three_days_of_failures_turn_the_webhook_off(
    client: FlaskClient, alice: User, deliveries: Deliveries
) -> None:
    with Receiver(lambda n: 503) as receiver:
        shop = store(client, alice)
        webhook = deliveries.subscribe(shop["id"], receiver.url)
        receiver.secrets.append(webhook.secret)
        # Failing since 3 days ago (scaled) less a second: this failure is not yet the end.
        almost = deliveries.clock() - FAILING_FOR * SCALE + timedelta(seconds=1)
        with deliveries.units(write=True) as work:
            work[WEBHOOKS].mark_failing(webhook.id, almost)
        item(client, alice, shop["id"])
        assert deliveries.run_due() == ["rescheduled"]
        assert deliveries.webhook(webhook.id).enabled
        deliveries.clock.advance(1)
        assert deliveries.run_due() == ["succeeded"]  # the chain ended: the webhook is off
    after = deliveries.webhook(webhook.id)
    assert (after.enabled, after.disabled_reason) == (False, "failing")
    rows = deliveries.attempts(webhook.id)
    assert [(r.attempt, r.status, r.response_status) for r in rows] == [
        (1, "failed", 503),
        (2, "failed", 503),
    ]
    assert rows[-1].next_attempt_at is None
    with deliveries.units() as work:
        assert work[JOBS].counts()[(DISABLED_MAIL_JOB, "queued")] == 1


def test_a_webhook_turned_off_by_a_manager_fails_its_pending_attempts_unsent(
    client: FlaskClient, alice: User, deliveries: Deliveries, receiver: Receiver
) -> None:
    shop = store(client, alice)
    webhook = deliveries.subscribe(shop["id"], receiver.url)
    item(client, alice, shop["id"])
    item(client, alice, shop["id"], "Table")
    with deliveries.units(write=True) as work:
        work[WEBHOOKS].save_webhook(replace(webhook, enabled=False))
    assert set(deliveries.run_due()) == {"succeeded"}
    assert receiver.count() == 0
    rows = deliveries.attempts(webhook.id)
    assert [(r.status, r.error) for r in rows] == [("failed", "webhook disabled")] * 2


def test_trouble_of_ours_reschedules_the_job_and_keeps_the_attempt(
    client: FlaskClient, alice: User, deliveries: Deliveries, receiver: Receiver
) -> None:
    shop = store(client, alice)
    webhook = deliveries.subscribe(shop["id"], receiver.url)
    receiver.secrets.append(webhook.secret)
    item(client, alice, shop["id"])
    broken = replace(deliveries.handler, sender=None)  # type: ignore[arg-type]
    runner = Runner(deliveries.units, broken.handlers(), POLICY, deliveries.clock)
    with deliveries.units() as work:
        (job_id,) = work[JOBS].due(deliveries.clock(), timedelta(seconds=600), 10)
    for _ in range(POLICY.max_attempts + 1):
        assert runner.run(job_id) == "rescheduled"
        deliveries.clock.advance(TROUBLE_DELAY_S)
    (row,) = deliveries.attempts(webhook.id)
    assert (row.attempt, row.status) == (1, "pending")
    assert deliveries.webhook(webhook.id).sending_until is None  # the lease was given back
    assert deliveries.run_due() == ["succeeded"]
    assert receiver.ids() == {str(row.event_id): 1}


def test_the_relays_purge_deletes_attempts_older_than_30_days(
    client: FlaskClient, alice: User, deliveries: Deliveries, receiver: Receiver
) -> None:
    shop = store(client, alice)
    webhook = deliveries.subscribe(shop["id"], receiver.url)
    receiver.secrets.append(webhook.secret)
    item(client, alice, shop["id"])
    item(client, alice, shop["id"], "Table")
    assert set(deliveries.run_due()) == {"succeeded"}
    assert len(deliveries.attempts(webhook.id)) == 2
    later = datetime.now(UTC) + RETENTION + timedelta(seconds=5)
    relay = Relay(deliveries.units, lambda job_id: None, timedelta(seconds=60), lambda: later)
    relay.purge()
    assert deliveries.attempts(webhook.id) == []
