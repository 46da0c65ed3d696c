"""A store's team in the console: the owner adds staff by username; staff edit items and are
offered nothing their role may not do."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.console.harness import Console, Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console-team")]


def test_the_owner_adds_staff_who_edit_a_price_but_cannot_delete(
    console: Console, server: Server, new_console: Callable[..., Console]
) -> None:
    server.register("clerk")
    console.register("shopkeeper")
    store = console.create_store("Team Shop")
    item = server.call(
        "POST",
        f"/store/{store}/item",
        server.token("shopkeeper"),
        json={"name": "Lamp", "price": 20},
    )
    console.link("Team").click()
    expect(console.heading()).to_have_text("Team of Team Shop")
    form = console.page.get_by_role("form", name="Add someone")
    form.get_by_role("textbox", name="Username").fill("clerk")
    form.get_by_role("combobox", name="Role").select_option("staff")
    form.get_by_role("button", name="Add to team").click()
    expect(console.page.get_by_role("status").filter(has_text="added")).to_have_text(
        "clerk added as staff."
    )
    team = console.page.get_by_role("table", name="Team members")
    expect(team.get_by_role("row").filter(has_text="clerk")).to_contain_text("Staff")
    console.accessible()

    clerk = new_console()
    clerk.sign_in("clerk")
    clerk.nav_link("Stores").click()
    mine = clerk.page.get_by_role("table", name="Stores you own or work in")
    mine.get_by_role("link", name="Team Shop").click()
    expect(clerk.heading()).to_have_text("Team Shop")
    expect(clerk.page.get_by_role("form", name="Add an item")).to_be_visible()
    expect(clerk.page.get_by_role("button", name="Delete store")).to_have_count(0)
    expect(clerk.page.get_by_role("form", name="New tag")).to_have_count(0)
    expect(clerk.page.get_by_role("form", name="Rename")).to_have_count(0)
    clerk.accessible()
    clerk.page.get_by_role("link", name="Lamp").click()
    edit = clerk.page.get_by_role("form", name="Edit")
    edit.get_by_role("textbox", name="Price").fill("18.50")
    clerk.button("Save changes").click()
    expect(edit.get_by_role("status")).to_have_text("Saved.")
    assert server.call("GET", f"/item/{item['id']}")["price"] == 18.5
    expect(clerk.page.get_by_role("button", name="Delete item")).to_have_count(0)
    clerk.accessible()
