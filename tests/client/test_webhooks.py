"""The client's webhook methods against a live server and worker, delivering to a receiver on
loopback: made, delivered, verified with `verify_webhook`, logged, redelivered, turned off,
rotated, pinged, changed and deleted."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from storekeeper_client import (
    Conflict,
    Forbidden,
    NotFound,
    Storekeeper,
    ValidationFailed,
    verify_webhook,
)
from storekeeper_client.models import WebhookOut, WebhookSecretOut
from tests.client.helpers import unique
from tests.e2e.background import DELIVERY_S, deployment
from tests.e2e.live import database_url
from tests.helpers import PASSWORD
from tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client-webhooks")]


@pytest.fixture(scope="module")
def inbox() -> Iterator[Receiver]:
    """A receiver on loopback for the module; it answers 204, checks nothing, and hands each
    delivery over for `verify_webhook` to check."""
    with Receiver(lambda n: 204) as receiver:
        yield receiver


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def base_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A server and a worker that may send to loopback, retries scaled to milliseconds."""
    settings = {
        "STOREKEEPER_WEBHOOK_ALLOW_PRIVATE": "true",
        "STOREKEEPER_WEBHOOK_RETRY_SCALE": "0.001",
    }
    folder: Path = tmp_path_factory.mktemp(f"webhooks-{request.param}")
    with (
        database_url(request.param) as url,
        deployment(folder, url, None, settings=settings) as site,
    ):
        site.start_worker()
        yield site.base


def _client(base_url: str, name: str) -> Storekeeper:
    client = Storekeeper(base_url)
    username = unique(name)
    client.register(username, PASSWORD)
    client.login(username, PASSWORD)
    return client


def test_a_webhook_made_by_the_client_delivers_verifiable_changes(
    base_url: str, inbox: Receiver
) -> None:
    url = inbox.url_at("/hook")
    with _client(base_url, "hooked") as sk, _client(base_url, "stranger") as stranger:
        store = sk.create_store(unique("Hooked Shop"))
        chair = sk.create_store_item(store.id, "Chair", Decimal("19.99"))
        hook = sk.create_webhook(store.id, url, ["item.updated"], description="sync")
        assert isinstance(hook, WebhookSecretOut) and hook.secret.startswith("whsec_")
        assert [h.id for h in sk.iter_webhooks(store.id)] == [hook.id]
        read = sk.get_webhook(hook.id).value
        assert isinstance(read, WebhookOut) and read.events == ["item.updated"]

        sk.update_item(chair.id, price=Decimal("17.50"))
        delivery = inbox.next("/hook")
        event = verify_webhook(hook.secret, delivery.headers, delivery.raw)
        assert event["type"] == "item.updated"
        assert event["data"]["resource"] == {"type": "item", "id": chair.id}
        assert event["data"]["store_id"] == store.id

        first = sk.list_webhook_deliveries(hook.id, limit=1).items[0]
        done = sk.wait_for_delivery(hook.id, first.id, timeout=DELIVERY_S)
        assert (done.status, done.response_status, done.attempt) == ("succeeded", 204, 1)
        assert done.event_id == event["data"]["id"]
        assert sk.get_webhook_delivery(hook.id, done.id).value == done
        event_id = done.event_id
        assert event_id is not None
        assert [d.id for d in sk.iter_webhook_deliveries(hook.id, event_id=event_id)] == [done.id]
        assert list(sk.iter_webhook_deliveries(hook.id, status="failed")) == []

        again = sk.redeliver(hook.id, done.id, wait=True, timeout=DELIVERY_S)
        assert (again.status, again.event_id) == ("succeeded", done.event_id)
        repeat = inbox.next("/hook", delivery.headers["webhook-id"])
        assert repeat.raw == delivery.raw  # serialised once, sent alike every time

        off = sk.update_webhook(hook.id, enabled=False)
        assert (off.enabled, off.disabled_reason) == (False, None)
        assert off.secret is None  # no secret unless rotated
        with pytest.raises(Conflict):
            sk.ping_webhook(hook.id)
        sk.update_webhook(hook.id, enabled=True, events=["*"], description="everything")

        rotated = sk.rotate_webhook_secret(hook.id)
        assert rotated.startswith("whsec_") and rotated != hook.secret
        ping = sk.ping_webhook(hook.id, wait=True, timeout=DELIVERY_S)
        assert (ping.type, ping.event_id, ping.status) == ("webhook.ping", None, "succeeded")
        pinged = inbox.next("/hook", f"ping_{ping.id}")
        for secret in (rotated, hook.secret):  # both sign for a day
            assert verify_webhook(secret, pinged.headers, pinged.raw)["type"] == "webhook.ping"

        with pytest.raises(Forbidden):
            list(stranger.iter_webhooks(store.id))
        with pytest.raises(ValidationFailed) as refused:
            sk.create_webhook(store.id, "ftp://127.0.0.1/hook", ["*"])
        assert "url" in refused.value.errors

        sk.delete_webhook(hook.id)
        with pytest.raises(NotFound):
            sk.get_webhook(hook.id)
        sk.delete_store(store.id)
