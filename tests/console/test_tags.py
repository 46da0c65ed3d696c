"""Tags in the console: create, label and unlabel items, filter by a tag, delete one not in use."""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect

from tests.console.harness import Console, Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console-tags")]


def create_tag(console: Console, name: str) -> None:
    """Create a tag from the store page."""
    form = console.page.get_by_role("form", name="New tag")
    form.get_by_role("textbox", name="Tag name").fill(name)
    form.get_by_role("button", name="Create tag").click()


def test_create_tags_label_and_unlabel_an_item(console: Console, server: Server) -> None:
    console.register("tagger")
    store = console.create_store("Tagged Shop")
    token = server.token("tagger")
    item = server.call("POST", f"/store/{store}/item", token, json={"name": "Bench", "price": 99})
    server.call("POST", f"/store/{store}/item", token, json={"name": "Stool", "price": 25})
    console.open(f"/console/store/{store}")
    for name in ("outdoor", "wood"):
        create_tag(console, name)
        expect(console.page.get_by_text(f"Tag “{name}” created.")).to_be_visible()
    console.expect_statuses(409)
    create_tag(console, "WOOD")
    field = console.page.get_by_role("form", name="New tag").get_by_role("textbox", name="Tag name")
    expect(field).to_have_accessible_description(
        "Name: A tag with this name already exists in this store."
    )
    console.accessible()

    console.link("Bench").click()
    tags = console.page.get_by_role("list", name="Tags")
    expect(tags).to_have_text("No tags yet.")
    adder = console.page.get_by_role("form", name="Add a tag")
    for name in ("wood", "outdoor"):
        adder.get_by_role("combobox", name="Tag to add").select_option(label=name)
        adder.get_by_role("button", name="Add tag").click()
        expect(console.page.get_by_text(f"Tag “{name}” added.")).to_be_visible()
    expect(adder).to_be_hidden()  # every tag of the store is on the item
    expect(tags.get_by_role("listitem")).to_have_count(2)
    console.accessible()
    assert {t["name"] for t in server.call("GET", f"/item/{item['id']}")["tags"]} == {
        "wood",
        "outdoor",
    }
    console.button("Remove tag outdoor").click()
    expect(console.page.get_by_text("Tag “outdoor” removed.")).to_be_visible()
    expect(tags.get_by_role("listitem")).to_have_count(1)
    assert [t["name"] for t in server.call("GET", f"/item/{item['id']}")["tags"]] == ["wood"]

    # Labels changed the item's ETag; the console took the new one, so an edit still saves.
    edit = console.page.get_by_role("form", name="Edit")
    edit.get_by_role("textbox", name="Quantity").fill("2")
    console.button("Save changes").click()
    expect(edit.get_by_role("status")).to_have_text("Saved.")

    console.link("Tagged Shop").click()
    console.button("Show the items tagged wood").click()
    table = console.page.get_by_role("table", name="Items of this store")
    expect(table.get_by_role("link")).to_have_text(["Bench"])


def test_a_tag_still_in_use_is_not_deleted_and_the_console_says_why(
    console: Console, server: Server
) -> None:
    console.register("keeper")
    store = console.create_store("Careful Shop")
    token = server.token("keeper")
    item = server.call("POST", f"/store/{store}/item", token, json={"name": "Hammock", "price": 60})
    used = server.call("POST", f"/store/{store}/tag", token, json={"name": "summer"})
    server.call("POST", f"/store/{store}/tag", token, json={"name": "unused"})
    server.call("POST", f"/item/{item['id']}/tag/{used['id']}", token)
    console.open(f"/console/store/{store}")
    console.expect_statuses(409)
    console.button("Delete tag summer").click()
    alert = console.page.get_by_role("alert").filter(has_text="Not deleted")
    expect(alert).to_contain_text("The tag still labels items; remove it from them first.")
    expect(alert.get_by_role("link", name="Hammock")).to_be_visible()
    expect(alert).to_contain_text("Nothing was changed.")
    console.accessible()
    assert requests.get(server.url(f"/tag/{used['id']}"), timeout=10).status_code == 200
    console.button("Delete tag unused").click()
    expect(console.page.get_by_text("Tag “unused” deleted.")).to_be_visible()
    expect(console.button("Delete tag unused")).to_have_count(0)
    names = [t["name"] for t in server.call("GET", f"/store/{store}/tag")]
    assert names == ["summer"]
