"""The pictures of docs/console.md, taken from a real run: `make screenshots` writes them there
(CONSOLE_SCREENSHOTS=docs/console); `make test` takes them into a temporary folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.console.harness import PHONE, Console, Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console-screenshots")]
SCREEN = {"width": 1100, "height": 760}
PNG = b"\x89PNG\r\n\x1a\n"


def seed(server: Server) -> tuple[int, int]:
    """A shop with a catalogue worth looking at: the store's id and one item's."""
    server.register("ada")
    token = server.token("ada")
    store = server.call("POST", "/store", token, json={"name": "Corner Shop"})["id"]
    server.call("POST", "/store", token, json={"name": "Garden Centre"})
    tags = {
        name: server.call("POST", f"/store/{store}/tag", token, json={"name": name})["id"]
        for name in ("furniture", "lighting", "sale")
    }
    chair = 0
    for name, price, quantity, labels in (
        ("Chair", 19.99, 4, ["furniture"]),
        ("Table", 120, 1, ["furniture", "sale"]),
        ("Desk lamp", 35.5, 0, ["lighting"]),
        ("Floor lamp", 89, 2, ["lighting"]),
        ("Stool", 24.9, 7, ["furniture", "sale"]),
    ):
        body = {"name": name, "price": price, "quantity": quantity}
        item = server.call("POST", f"/store/{store}/item", token, json=body)["id"]
        chair = chair or item
        for label in labels:
            server.call("POST", f"/item/{item}/tag/{tags[label]}", token)
    return store, chair


def test_screens_of_the_console(
    new_console: Callable[..., Console], server: Server, shots: Path
) -> None:
    store, chair = seed(server)
    console = new_console(SCREEN)
    page = console.page

    def shoot(name: str, full: bool = False) -> None:
        console.settled()
        page.screenshot(path=shots / f"{name}.png", full_page=full, animations="disabled")

    console.open("/")
    shoot("landing")
    console.sign_in("ada")
    shoot("stores")
    console.open(f"/console/store/{store}")
    shoot("store", full=True)
    console.expect_statuses(412, 422)
    add = page.get_by_role("form", name="Add an item")
    add.get_by_role("textbox", name="Name").fill("Chair")
    add.get_by_role("textbox", name="Price").fill("9.999")
    add.get_by_role("textbox", name="Quantity").fill("-1")
    add.get_by_role("button", name="Add item").click()
    expect(add.get_by_role("textbox", name="Price")).to_have_attribute("aria-invalid", "true")
    add.scroll_into_view_if_needed()
    shoot("errors")
    console.button("Delete store").click()
    expect(page.get_by_role("dialog")).to_be_visible()
    shoot("delete-store")
    page.keyboard.press("Escape")

    console.open(f"/console/item/{chair}")
    shoot("item", full=True)
    server.call("PATCH", f"/item/{chair}", server.token("ada"), json={"price": 21.5})
    edit = page.get_by_role("form", name="Edit")
    edit.get_by_role("textbox", name="Quantity").fill("3")
    console.button("Save changes").click()
    expect(console.button("Overwrite")).to_be_visible()
    page.get_by_role("heading", name="Edit").scroll_into_view_if_needed()
    shoot("conflict")

    server.call("PATCH", "/user/me", server.token("ada"), json={"email": "ada@example.com"})
    console.open("/console/account")
    shoot("account", full=True)
    console.open("/console/forgot")
    shoot("forgot")

    phone = new_console(PHONE)
    phone.open(f"/console/store/{store}")
    phone.settled()
    phone.page.screenshot(path=shots / "phone.png", animations="disabled")

    names = (
        *("landing", "stores", "store", "errors", "delete-store", "item", "conflict"),
        *("account", "forgot", "phone"),
    )
    for name in names:
        assert (shots / f"{name}.png").read_bytes().startswith(PNG), name
