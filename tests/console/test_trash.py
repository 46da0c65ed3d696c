"""The trash in the console: an item deleted from its page is listed in its store's trash,
and restored from there, under a new name when its own was taken meanwhile."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.console.harness import Console, Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console-trash")]


def test_delete_find_in_the_trash_and_restore(console: Console, server: Server) -> None:
    console.register("binman")
    store = console.create_store("Second Hand")
    token = server.token("binman")
    lamp = server.call("POST", f"/store/{store}/item", token, json={"name": "Lamp", "price": 5})
    console.open(f"/console/item/{lamp['id']}")
    console.button("Delete item").click()
    dialog = console.page.get_by_role("dialog", name="Delete “Lamp”?")
    expect(dialog).to_contain_text("trash")
    expect(dialog).to_contain_text("30 days")
    dialog.get_by_role("button", name="Delete item").click()
    expect(console.page.get_by_text("Item “Lamp” moved to the trash.")).to_be_visible()

    console.link("Trash").click()
    expect(console.heading()).to_have_text("Trash of Second Hand")
    row = console.page.get_by_role("row", name="Lamp")
    expect(row).to_contain_text("5.00")
    expect(row).to_contain_text("You")
    console.settled()
    console.accessible()
    console.button("Restore “Lamp”").click()
    expect(console.heading()).to_have_text("Lamp")
    expect(console.page.get_by_text("Item “Lamp” restored.")).to_be_visible()
    assert server.call("GET", f"/item/{lamp['id']}")["name"] == "Lamp"


def test_a_taken_name_asks_for_a_new_one(console: Console, server: Server) -> None:
    console.register("renamer")
    store = console.create_store("Attic")
    token = server.token("renamer")
    chair = server.call("POST", f"/store/{store}/item", token, json={"name": "Chair", "price": 3})
    server.call("DELETE", f"/item/{chair['id']}", token)
    server.call("POST", f"/store/{store}/item", token, json={"name": "chair", "price": 4})
    console.open(f"/console/store/{store}/trash")
    console.expect_statuses(409)
    console.button("Restore “Chair”").click()
    form = console.page.get_by_role("form", name="New name for “Chair”")
    expect(form.get_by_role("alert")).to_contain_text("Choose a new name")
    console.accessible()
    form.get_by_label("New name").fill("Old chair")
    form.get_by_role("button", name="Restore with this name").click()
    expect(console.heading()).to_have_text("Old chair")
    assert server.call("GET", f"/item/{chair['id']}")["name"] == "Old chair"
