"""A store's webhooks in the console: added with the secret shown once, a change delivered to a
receiver on loopback and its signature checked there, the delivery log, and the controls.

The server and a real `storekeeper worker` may send to private addresses (the receiver is
tests/webhook_receiver.py, a threaded http.server on 127.0.0.1 answering 204); retries are
scaled down to milliseconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from playwright.sync_api import expect
from standardwebhooks import Webhook

from deploy.processes import spawn, stop_all
from storekeeper_client import verify_webhook
from tests.console.harness import Console, Server
from tests.e2e.background import FAST_JOBS
from tests.e2e.live import BIN
from tests.webhook_receiver import Receiver

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console-webhooks")]
SERVER_SETTINGS = {
    **FAST_JOBS,
    "STOREKEEPER_WEBHOOK_ALLOW_PRIVATE": "true",
    "STOREKEEPER_WEBHOOK_RETRY_SCALE": "0.001",
}


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    """The receiver, serving in a thread for the module; the tests check what it gets."""
    with Receiver(lambda n: 204) as inbox:
        yield inbox


@pytest.fixture(scope="module", autouse=True)
def worker(server: Server) -> Iterator[None]:
    """The background worker beside the module's server: it sends the deliveries."""
    proc = spawn([BIN / "storekeeper", "worker"], server.env, server.instance / "worker.log")
    yield
    stop_all([proc])


def open_webhooks(console: Console, store: int, name: str) -> None:
    """From the store's page, its Webhooks link."""
    console.open(f"/console/store/{store}")
    console.link("Webhooks").click()
    expect(console.heading()).to_have_text(f"Webhooks of {name}")
    console.settled()


def test_a_webhook_added_here_delivers_a_signed_change_and_logs_it(
    console: Console, server: Server, receiver: Receiver, shots: Path
) -> None:
    console.register("hooker")
    store = console.create_store("Hook Shop")
    token = server.token("hooker")
    item = server.call("POST", f"/store/{store}/item", token, json={"name": "Lamp", "price": 80})
    open_webhooks(console, store, "Hook Shop")
    expect(console.page.get_by_text("This store has no webhook yet.")).to_be_visible()
    console.accessible()

    form = console.page.get_by_role("form", name="Add a webhook")
    form.get_by_role("textbox", name="URL").fill(receiver.url_at("/shop"))
    form.get_by_role("checkbox", name="Every event, those added later too").uncheck()
    form.get_by_role("checkbox", name="Item changed (item.updated)").check()
    form.get_by_role("textbox", name="Description").fill("Stock sync")
    console.button("Add webhook").click()

    panel = console.page.get_by_role(
        "region", name=f"New webhook: the secret of {receiver.url_at('/shop')}"
    )
    expect(panel.get_by_role("heading")).to_be_focused()
    expect(panel).to_contain_text("Copy it now: it will not be shown again.")
    secret = panel.get_by_role("textbox", name="Secret").input_value()
    assert secret.startswith("whsec_")
    console.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.base)
    panel.get_by_role("button", name="Copy the secret").click()
    expect(panel.get_by_role("status")).to_have_text("Copied to the clipboard.")
    assert console.page.evaluate("navigator.clipboard.readText()") == secret
    section = console.page.get_by_role("region", name="Stock sync")
    expect(section).to_contain_text("item.updated")
    console.accessible()
    console.page.screenshot(path=shots / "webhook-secret.png", animations="disabled")
    panel.get_by_role("button", name="I have saved it").click()
    expect(panel).to_be_hidden()
    console.reload()
    assert secret not in console.page.content()  # shown once, never again

    # A change of the item reaches the receiver, signed with that secret.
    server.call("PATCH", f"/item/{item['id']}", token, json={"price": 79.5})
    delivery = receiver.next("/shop")
    payload = verify_webhook(secret, delivery.headers, delivery.raw)
    assert payload == Webhook(secret).verify(delivery.raw, delivery.headers)
    assert payload["type"] == "item.updated"
    assert payload["data"]["store_id"] == store
    assert payload["data"]["resource"] == {"type": "item", "id": item["id"]}
    assert payload["data"]["changes"] == {"price": [80, 79.5]}
    assert delivery.headers["webhook-id"] == str(payload["data"]["id"])

    section.get_by_role("button", name="Show the delivery log").click()
    log = section.get_by_role(
        "table", name=f"Delivery attempts to {receiver.url_at('/shop')}, newest first"
    )
    newest = log.get_by_role("row").nth(1)
    expect(newest).to_contain_text("item.updated")
    expect(newest).to_contain_text(str(payload["data"]["id"]))
    expect(newest).to_contain_text("Succeeded")  # the log reads itself again while pending
    expect(newest).to_contain_text("204")
    console.accessible()

    # Redeliver: the same event again, under the same webhook-id.
    newest.get_by_role("button", name="Redeliver item.updated").click()
    again = receiver.next("/shop")
    assert again.headers["webhook-id"] == delivery.headers["webhook-id"]
    assert verify_webhook(secret, again.headers, again.raw)["data"] == payload["data"]
    expect(log.get_by_role("row")).to_have_count(3)
    expect(log.get_by_role("row").nth(1)).to_contain_text("Succeeded")

    # A ping, whenever the receiver is to be checked.
    section.get_by_role("button", name=f"Send a ping to {receiver.url_at('/shop')}").click()
    expect(console.page.get_by_role("status").filter(has_text="Ping queued")).to_be_visible()
    ping = receiver.next("/shop", "ping_")
    assert ping.headers["webhook-id"].startswith("ping_")
    assert verify_webhook(secret, ping.headers, ping.raw)["type"] == "webhook.ping"
    expect(log.get_by_role("row").nth(1)).to_contain_text("webhook.ping")
    expect(log.get_by_role("row").nth(1)).to_contain_text("Succeeded")
    console.settled()
    section.screenshot(path=shots / "webhooks.png", animations="disabled")


def test_turn_off_and_on_rotate_and_delete(
    console: Console, server: Server, receiver: Receiver
) -> None:
    server.register("rotator")
    token = server.token("rotator")
    store = server.call("POST", "/store", token, json={"name": "Rotor Shop"})["id"]
    url = receiver.url_at("/rotor")
    hook = server.call("POST", f"/store/{store}/webhook", token, json={"url": url, "events": ["*"]})
    console.sign_in("rotator")
    open_webhooks(console, store, "Rotor Shop")
    section = console.page.get_by_role("region", name=url, exact=True)
    expect(section).to_contain_text("every event")

    section.get_by_role("button", name=f"Turn off the webhook to {url}").click()
    expect(section).to_contain_text("off: turned off by hand")
    assert server.call("GET", f"/webhook/{hook['id']}", token)["enabled"] is False
    section.get_by_role("button", name=f"Turn on the webhook to {url}").click()
    expect(section.get_by_role("button", name=f"Turn off the webhook to {url}")).to_be_visible()
    expect(section).not_to_contain_text("turned off by hand")
    assert server.call("GET", f"/webhook/{hook['id']}", token)["enabled"] is True

    section.get_by_role("button", name=f"Rotate the secret of the webhook to {url}").click()
    dialog = console.page.get_by_role("dialog", name="Rotate the secret?")
    expect(dialog).to_be_visible()
    console.accessible()
    dialog.get_by_role("button", name="Rotate").click()
    panel = console.page.get_by_role("region", name=f"New secret: the secret of {url}")
    rotated = panel.get_by_role("textbox", name="Secret").input_value()
    assert rotated.startswith("whsec_") and rotated != hook["secret"]
    # For a day, both secrets sign: a receiver still holding the old one keeps working.
    section.get_by_role("button", name=f"Send a ping to {url}").click()
    ping = receiver.next("/rotor", "ping_")
    verify_webhook(rotated, ping.headers, ping.raw)
    verify_webhook(hook["secret"], ping.headers, ping.raw)

    # Edit: other events, a description, which names its panel from then on.
    section.get_by_role("button", name=f"Edit the webhook to {url}").click()
    form = section.get_by_role("form", name=f"Edit the webhook to {url}")
    expect(form.get_by_role("textbox", name="URL")).to_be_focused()
    expect(form.get_by_role("textbox", name="URL")).to_have_value(url)
    form.get_by_role("checkbox", name="Every event, those added later too").uncheck()
    form.get_by_role("checkbox", name="Item created (item.created)").check()
    form.get_by_role("checkbox", name="Item deleted (item.deleted)").check()
    form.get_by_role("textbox", name="Description").fill("Catalogue feed")
    console.accessible()
    form.get_by_role("button", name="Save changes").click()
    renamed = console.page.get_by_role("region", name="Catalogue feed")
    expect(renamed.get_by_role("heading", name="Catalogue feed")).to_be_focused()
    expect(renamed).to_contain_text("item.created, item.deleted")
    saved = server.call("GET", f"/webhook/{hook['id']}", token)
    assert (saved["events"], saved["description"]) == (
        ["item.created", "item.deleted"],
        "Catalogue feed",
    )

    renamed.get_by_role("button", name=f"Delete the webhook to {url}").click()
    console.page.get_by_role("dialog", name="Delete this webhook?").get_by_role(
        "button", name="Delete"
    ).click()
    expect(console.page.get_by_text(f"The webhook to {url} is deleted.")).to_be_visible()
    expect(console.page.get_by_text("This store has no webhook yet.")).to_be_visible()
    answer = requests.get(
        server.url(f"/webhook/{hook['id']}"),
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert answer.status_code == 404


def test_a_refused_address_is_explained_next_to_the_url(console: Console) -> None:
    console.expect_statuses(422)
    console.register("mistyper")
    store = console.create_store("Typo Shop")
    open_webhooks(console, store, "Typo Shop")
    form = console.page.get_by_role("form", name="Add a webhook")
    url = form.get_by_role("textbox", name="URL")
    url.fill("ftp://127.0.0.1/hook")
    console.button("Add webhook").click()
    expect(url).to_have_attribute("aria-invalid", "true")
    expect(url).to_be_focused()
    expect(form.get_by_text("URL: ", exact=False)).to_be_visible()
    console.accessible()


def test_staff_and_strangers_are_told_webhooks_are_for_managers(
    console: Console, server: Server
) -> None:
    server.register("webowner")
    store = server.call("POST", "/store", server.token("webowner"), json={"name": "Closed Shop"})
    console.register("outsider")
    console.open(f"/console/store/{store['id']}")
    expect(console.link("Webhooks")).to_have_count(0)
    console.open(f"/console/store/{store['id']}/webhooks")
    expect(
        console.page.get_by_text("Only the store's owner, its managers or an admin can manage")
    ).to_be_visible()
    console.accessible()
