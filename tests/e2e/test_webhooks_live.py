"""Webhook deliveries end to end: `storekeeper serve` and `storekeeper worker` processes, a
receiver on loopback that verifies every delivery with the `standardwebhooks` library
(tests/webhook_receiver.py), and a real SMTP server for the owner's email.

The promises of API.md's "Webhooks": every event of a subscribed type is delivered at least
once in spite of worker kills; failures are retried until they succeed; a receiver that hangs
holds up no other webhook; a 410 disables the webhook and tells the owner; during a rotation
either secret verifies. The retry schedule is scaled down (STOREKEEPER_WEBHOOK_RETRY_SCALE) so
nothing waits for real hours. Every wait polls with a deadline only a hang reaches; the tests
count and compare sets, never time.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, text

from storekeeper.db.repositories import REPOSITORIES
from storekeeper.db.session import Database
from storekeeper.db.unit_of_work import SqlUnitsOfWork
from storekeeper.domain.webhooks import WEBHOOKS, Webhook
from tests.e2e.background import (
    DELIVERY_S,
    START_S,
    Site,
    deployment,
    mail_to,
    poll_until,
    register,
    sign_in,
)
from tests.e2e.live import database_url
from tests.helpers import PASSWORD
from tests.mailserver import MailServer
from tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("background")]

KILLS = 10
# Scaled so the schedule's first steps take milliseconds to seconds (5 s -> 5 ms, 2 h ->
# 7.2 s) and the 3-day disabling window 4 minutes: longer than any of these tests.
SETTINGS = {
    "STOREKEEPER_WEBHOOK_ALLOW_PRIVATE": "true",
    "STOREKEEPER_WEBHOOK_RETRY_SCALE": "0.001",
    "STOREKEEPER_WORKER_THREADS": "2",
}
# A killed worker's webhook lease (background/webhook_delivery.py's LEASE_S) must end before
# another worker sends to that receiver again.
LEASE_S = 10.0
ALL_DELIVERED_S = DELIVERY_S + KILLS * LEASE_S
OWNER_EMAIL = "owner@example.test"


class Shop:
    """An owner with an address, signed in, and their store, on a running site."""

    def __init__(self, site: Site, name: str = "Webhook shop") -> None:
        self.site = site
        self.http = requests.Session()
        answer = register(self.http, site.base, "owner", OWNER_EMAIL, PASSWORD)
        assert answer.status_code == 201, answer.text
        tokens = sign_in(self.http, site.base, "owner", PASSWORD).json()
        self.http.headers["Authorization"] = f"Bearer {tokens['access_token']}"
        made = self.http.post(f"{site.base}/store", json={"name": name}, timeout=START_S)
        assert made.status_code == 201, made.text
        self.store_id: int = made.json()["id"]
        self.database = Database(site.database_url)
        self.units = SqlUnitsOfWork(self.database, REPOSITORIES)

    def close(self) -> None:
        self.http.close()
        self.database.dispose()

    def subscribe(self, receiver: Receiver, events: tuple[str, ...]) -> Webhook:
        """A webhook to the receiver (POST /store/{id}/webhook); the receiver verifies with
        the secret the answer shows."""
        body = {"url": receiver.url, "events": list(events)}
        made = self.http.post(
            f"{self.site.base}/store/{self.store_id}/webhook", json=body, timeout=START_S
        )
        assert made.status_code == 201, made.text
        receiver.secrets.append(made.json()["secret"])
        return self.webhook(made.json()["id"])

    def webhook(self, webhook_id: int) -> Webhook:
        with self.units() as work:
            found = work[WEBHOOKS].get_webhook(webhook_id)
        assert found is not None
        return found

    def add_item(self, name: str) -> int | None:
        """An item, or None when the server did not acknowledge it."""
        body = {"name": name, "price": 1.5, "quantity": 1}
        try:
            answer = self.http.post(
                f"{self.site.base}/store/{self.store_id}/item", json=body, timeout=START_S
            )
        except requests.RequestException:
            return None
        return int(answer.json()["id"]) if answer.status_code == 201 else None

    def events(self, type_: str | None = None) -> set[str]:
        """The ids of the store's events (of this type), as webhook-ids, every page."""
        only = "" if type_ is None else f"&type={type_}"
        url: str | None = f"{self.site.base}/store/{self.store_id}/event?limit=100{only}"
        found: set[str] = set()
        while url:
            answer = self.http.get(url, timeout=START_S)
            assert answer.status_code == 200, answer.text
            found |= {str(event["id"]) for event in answer.json()}
            url = answer.links.get("next", {}).get("url")
        return found

    def attempts(self, webhook_id: int) -> list[dict[str, Any]]:
        """Every delivery row of the webhook, oldest first, read from the database itself."""
        engine = create_engine(self.site.database_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT id, job_id, event_id, attempt, status, response_status, error"
                        " FROM webhook_deliveries WHERE webhook_id = :id ORDER BY id"
                    ),
                    {"id": webhook_id},
                ).all()
        finally:
            engine.dispose()
        return [dict(row._mapping) for row in rows]


def _more_than(receiver: Receiver, count: int) -> bool:
    return receiver.count() > count


def _wait_for_ids(receiver: Receiver, wanted: set[str], timeout_s: float) -> None:
    poll_until(
        lambda: wanted <= set(receiver.ids()),
        timeout_s,
        lambda: f"{len(wanted - set(receiver.ids()))} of {len(wanted)} events not delivered",
    )


# (a) Every event of a subscribed type arrives, the worker SIGKILLed 10 times meanwhile.


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_every_subscribed_event_arrives_through_ten_worker_kills(
    tmp_path: Path, backend: str
) -> None:
    rng = random.Random(23)
    with (
        database_url(backend) as url,
        deployment(tmp_path, url, None, settings=SETTINGS) as site,
        Receiver() as receiver,
    ):
        shop = Shop(site)
        try:
            shop.subscribe(receiver, ("item.created",))
            stop = threading.Event()
            acknowledged: list[int] = []

            def write() -> None:
                serial = 0
                while not stop.is_set():
                    serial += 1
                    stop.wait(0.05)  # a steady stream, not a flood to catch up with
                    made = shop.add_item(f"item {serial}")
                    if made is not None:
                        acknowledged.append(made)
                        # An event of a type nobody subscribed to: never delivered.
                        shop.http.patch(
                            f"{site.base}/item/{made}", json={"quantity": 2}, timeout=START_S
                        )

            writer = threading.Thread(target=write, name="writer", daemon=True)
            worker = site.start_worker()
            writer.start()
            for _ in range(KILLS):
                # Each worker is killed while it sends: once it has delivered something of
                # its own (after the dead one's webhook lease ran out), at a random moment
                # soon after: sending, recording, or between two attempts.
                poll_until(
                    partial(_more_than, receiver, receiver.count()),
                    DELIVERY_S + LEASE_S,
                    lambda: "the new worker sends nothing",
                    alive=worker,
                )
                threading.Event().wait(rng.uniform(0.0, 0.5))
                site.kill(worker)
                worker = site.start_worker()
            stop.set()
            writer.join(START_S)
            wanted = shop.events("item.created")
            assert len(wanted) == len(acknowledged) > KILLS
            _wait_for_ids(receiver, wanted, ALL_DELIVERED_S)
            assert receiver.bad == []
            delivered = receiver.ids()
            # Exactly the store's item.created events (deduplicated by webhook-id); a
            # worker killed between a send and its record sends again (at least once).
            assert set(delivered) == wanted
            assert {r.body["type"] for r in receiver.delivered()} == {"item.created"}
            # Every killed worker had delivered: the kills came while work was under way.
            senders = [
                n
                for n in range(site.started_workers)
                if "webhook delivery attempted" in site.worker_log(n).read_text()
            ]
            assert len(senders) >= KILLS
            duplicates = sum(n - 1 for n in delivered.values())
            print(
                f"{len(wanted)} events, {duplicates} delivered twice or more, "
                f"{receiver.torn} requests cut short by a kill"
            )
        finally:
            shop.close()


# (b) A receiver failing its first requests gets everything once it answers.


def test_a_receiver_that_fails_at_first_gets_every_event(tmp_path: Path) -> None:
    failures = 6
    with (
        deployment(tmp_path, None, None, settings=SETTINGS) as site,
        Receiver(lambda n: 500 if n <= failures else 200) as receiver,
    ):
        shop = Shop(site)
        try:
            webhook = shop.subscribe(receiver, ("*",))
            site.start_worker()
            for n in range(10):
                assert shop.add_item(f"item {n}") is not None
            wanted = shop.events()  # "*": the webhook's own creation and the 10 items
            assert len(wanted) == 11
            _wait_for_ids(receiver, wanted, ALL_DELIVERED_S)
            assert receiver.bad == []
            assert set(receiver.ids()) == wanted
            assert Counter(r.status for r in receiver.requests)[500] == failures
            poll_until(
                lambda: all(r["status"] != "pending" for r in shop.attempts(webhook.id)),
                DELIVERY_S,
                lambda: "attempts still pending",
            )
            rows = shop.attempts(webhook.id)
            assert Counter(r["status"] for r in rows) == {"failed": failures, "succeeded": 11}
            assert {r["response_status"] for r in rows if r["status"] == "failed"} == {500}
            assert shop.webhook(webhook.id).failing_since is None
            assert shop.webhook(webhook.id).enabled
        finally:
            shop.close()


# (c) A receiver that hangs holds one worker thread at most: another webhook's deliveries
# all arrive while it still hangs.


def test_a_hanging_receiver_does_not_stall_another_webhook(tmp_path: Path) -> None:
    events = 10
    with (
        deployment(tmp_path, None, None, settings=SETTINGS) as site,
        Receiver(lambda n: None if n == 1 else 200) as hanging,
        Receiver() as healthy,
    ):
        shop = Shop(site)
        try:
            stuck = shop.subscribe(hanging, ("item.created",))
            shop.subscribe(healthy, ("item.created",))
            site.start_worker()
            assert shop.add_item("first") is not None
            poll_until(lambda: hanging.count() == 1, DELIVERY_S, lambda: "A got nothing")
            for n in range(events - 1):
                assert shop.add_item(f"item {n}") is not None
            wanted = shop.events("item.created")
            _wait_for_ids(healthy, wanted, DELIVERY_S)
            # B has every event while A's first request still hangs: the one request A ever
            # got, none of A's attempts recorded (no sender timeout reached, nothing retried).
            assert hanging.count() == 1 and not hanging.release.is_set()
            assert {r["status"] for r in shop.attempts(stuck.id)} == {"pending"}
            assert healthy.bad == [] and hanging.bad == []
            assert set(healthy.ids()) == wanted
            # Once A's receiver lets go (the connection closes unanswered), A catches up.
            hanging.release.set()
            _wait_for_ids(hanging, wanted, ALL_DELIVERED_S)
            assert hanging.bad == []
        finally:
            shop.close()


# (d) A 410 disables the webhook; the store's owner gets an email saying so.


def test_a_410_disables_the_webhook_and_emails_the_owner(tmp_path: Path) -> None:
    with (
        MailServer() as mail,
        deployment(tmp_path, None, mail.url, settings=SETTINGS) as site,
        Receiver(lambda n: 410) as receiver,
    ):
        shop = Shop(site, "Gone shop")
        try:
            webhook = shop.subscribe(receiver, ("*",))
            site.start_worker()
            for n in range(3):
                assert shop.add_item(f"item {n}") is not None
            poll_until(
                lambda: any("webhook" in m.text for m in mail_to(mail, OWNER_EMAIL)),
                DELIVERY_S,
                lambda: f"no email; webhook {shop.webhook(webhook.id)}",
            )
            after = shop.webhook(webhook.id)
            assert (after.enabled, after.disabled_reason) == (False, "gone")
            (notice,) = [m for m in mail_to(mail, OWNER_EMAIL) if "webhook" in m.text]
            assert "Gone shop" in notice.text and receiver.url in notice.text
            rows = shop.attempts(webhook.id)
            assert rows[0]["response_status"] == 410
            assert all(r["status"] == "failed" for r in rows)
            assert {r["error"] for r in rows[1:]} <= {"webhook disabled"}
            assert receiver.count() == 1 and receiver.bad == []
        finally:
            shop.close()


# (e) During a rotation both secrets sign: a receiver holding either one verifies.


def test_during_a_rotation_a_receiver_with_either_secret_verifies(tmp_path: Path) -> None:
    with (
        deployment(tmp_path, None, None, settings=SETTINGS) as site,
        Receiver() as receiver,
    ):
        shop = Shop(site)
        try:
            webhook = shop.subscribe(receiver, ("item.created",))
            rotated = shop.http.patch(
                f"{site.base}/webhook/{webhook.id}", json={"rotate_secret": True}, timeout=START_S
            )
            assert rotated.status_code == 200, rotated.text
            receiver.secrets.append(rotated.json()["secret"])  # the old one came first
            site.start_worker()
            for n in range(3):
                assert shop.add_item(f"item {n}") is not None
            wanted = shop.events("item.created")
            _wait_for_ids(receiver, wanted, DELIVERY_S)
            assert receiver.bad == []
            for got in receiver.delivered():
                assert got.verified_by == (0, 1)  # the old secret, and the new one
                assert len(got.headers["webhook-signature"].split(" ")) == 2
        finally:
            shop.close()


# A ping, and a redelivery: chains of their own, delivered as the events' were.


def test_a_ping_and_a_redelivery_arrive_signed(tmp_path: Path) -> None:
    with (
        deployment(tmp_path, None, None, settings=SETTINGS) as site,
        Receiver() as receiver,
    ):
        shop = Shop(site)
        try:
            webhook = shop.subscribe(receiver, ("item.created",))
            site.start_worker()
            assert shop.add_item("chair") is not None
            (event_id,) = shop.events("item.created")
            _wait_for_ids(receiver, {event_id}, DELIVERY_S)
            hook = f"{site.base}/webhook/{webhook.id}"
            ping = shop.http.post(f"{hook}/ping", timeout=START_S)
            assert ping.status_code == 202, ping.text
            first = shop.http.get(f"{hook}/delivery?event_id={event_id}", timeout=START_S)
            again = shop.http.post(
                f"{hook}/delivery/{first.json()[0]['id']}/redeliver", timeout=START_S
            )
            assert again.status_code == 202, again.text
            ping_id = f"ping_{ping.json()['id']}"
            poll_until(
                lambda: receiver.ids() == {event_id: 2, ping_id: 1},
                DELIVERY_S,
                lambda: f"received {receiver.ids()}",
            )
            assert receiver.bad == []
            (pinged,) = [r for r in receiver.delivered() if r.webhook_id == ping_id]
            assert pinged.body["type"] == "webhook.ping"
            assert pinged.body["data"] == {"webhook_id": webhook.id, "store_id": shop.store_id}
            first_body, second_body = [
                r.raw for r in receiver.delivered() if r.webhook_id == event_id
            ]
            assert first_body == second_body
            log = shop.http.get(f"{hook}/delivery", timeout=START_S).json()
            assert {d["status"] for d in log} == {"succeeded"}
        finally:
            shop.close()
