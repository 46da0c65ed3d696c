"""A store's history in the console: who changed what, before and after."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.console.harness import Console, Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console-history")]


def test_a_price_edit_shows_in_the_history_with_its_editor(
    console: Console, server: Server
) -> None:
    console.register("historian")
    store = console.create_store("History Shop")
    token = server.token("historian")
    item = server.call("POST", f"/store/{store}/item", token, json={"name": "Lamp", "price": 80})
    console.open(f"/console/item/{item['id']}")
    edit = console.page.get_by_role("form", name="Edit")
    edit.get_by_role("textbox", name="Price").fill("79.95")
    console.button("Save changes").click()
    expect(edit.get_by_role("status")).to_have_text("Saved.")

    console.open(f"/console/store/{store}")
    console.link("History").click()
    expect(console.heading()).to_have_text("History of History Shop")
    console.settled()
    table = console.page.get_by_role("table", name="Changes, newest first")
    newest = table.get_by_role("row").nth(1)
    expect(newest).to_contain_text("historian")
    expect(newest).to_contain_text("Item changed")
    expect(newest).to_contain_text("price: 80.00 → 79.95")
    expect(table.get_by_role("row").nth(2)).to_contain_text("Item created")
    console.accessible()


def test_strangers_are_told_the_history_is_not_theirs(console: Console, server: Server) -> None:
    server.register("keeper")
    store = server.call("POST", "/store", server.token("keeper"), json={"name": "Kept Shop"})
    console.register("stranger")
    console.open(f"/console/store/{store['id']}/history")
    expect(
        console.page.get_by_text("Only the store's owner, its managers or an admin")
    ).to_be_visible()
    console.accessible()
