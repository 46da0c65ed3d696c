"""Stores in the console: yours and everyone's, create, rename, delete, and browsing as a guest."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests
from playwright.sync_api import expect

from tests.console.harness import Console, Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console-stores")]


def store_names(server: Server) -> list[str]:
    """Every store's name, through the API."""
    return [s["name"] for s in server.call("GET", "/store?limit=200")]


def test_create_a_store_and_see_the_api_refuse_a_bad_or_taken_name(
    console: Console, server: Server
) -> None:
    console.register("owner1")
    console.create_store("Corner Shop")
    expect(console.page.get_by_text("Store “Corner Shop” created.")).to_be_visible()
    console.accessible()
    console.expect_statuses(409, 422)
    console.open("/console/")
    name = console.field("Store name")
    name.fill("corner shop")
    console.button("Create store").click()
    expect(name).to_have_accessible_description(
        "Name: A store with this name, or one that looks the same, already exists."
    )
    expect(name).to_have_attribute("aria-invalid", "true")
    console.accessible()
    name.fill("x" * 81)
    console.button("Create store").click()
    expect(name).to_have_accessible_description("Name: must be at most 80 characters")
    assert store_names(server).count("Corner Shop") == 1


def test_your_stores_are_yours_and_every_store_can_be_browsed(
    console: Console, server: Server
) -> None:
    server.register("neighbour")
    theirs = server.call("POST", "/store", server.token("neighbour"), json={"name": "Next Door"})
    console.register("owner2")
    console.create_store("My Own Shop")
    console.nav_link("Stores").click()
    expect(console.heading()).to_have_text("Your stores")
    table = console.page.get_by_role("table", name="Stores you own or work in")
    expect(table.get_by_role("link", name="My Own Shop")).to_be_visible()
    expect(table.get_by_role("link", name="Next Door")).to_have_count(0)
    console.link("Browse every store").click()
    expect(console.heading()).to_have_text("Stores")
    row = console.page.get_by_role("row").filter(has_text="Next Door")
    expect(row).to_contain_text(f"User #{theirs['owner_id']}")
    expect(console.page.get_by_role("row").filter(has_text="My Own Shop")).to_contain_text("You")
    console.page.get_by_role("searchbox", name="Search stores by name").fill("next")
    console.button("Search").click()
    expect(console.page.get_by_role("row")).to_have_count(2)  # the header and Next Door
    console.accessible()
    console.link("Next Door").click()
    expect(console.heading()).to_have_text("Next Door")
    expect(console.page.get_by_text("only its team or an admin can change it")).to_be_visible()
    expect(console.button("Rename")).to_have_count(0)
    expect(console.button("Add item")).to_have_count(0)


def test_rename_a_store_and_a_taken_name_is_said_next_to_it(
    console: Console, server: Server
) -> None:
    server.call("POST", "/store", server_user(server, "rival"), json={"name": "Taken Name"})
    console.register("owner3")
    store = console.create_store("Old Name")
    console.expect_statuses(409)
    name = console.page.get_by_role("form", name="Rename").get_by_role("textbox", name="Store name")
    name.fill("Taken Name")
    console.button("Rename").click()
    expect(name).to_have_accessible_description(
        "Name: A store with this name, or one that looks the same, already exists."
    )
    name.fill("New Name")
    console.button("Rename").click()
    expect(console.heading()).to_have_text("New Name")
    expect(console.page.get_by_text("Store renamed to “New Name”.")).to_be_visible()
    expect(console.page).to_have_title("New Name · Storekeeper console")
    assert server.call("GET", f"/store/{store}")["name"] == "New Name"


def test_deleting_a_store_says_what_goes_with_it_and_asks_first(
    console: Console, server: Server
) -> None:
    console.register("owner4")
    store = console.create_store("Closing Down")
    token = server.token("owner4")
    for name in ("Chair", "Table"):
        server.call("POST", f"/store/{store}/item", token, json={"name": name, "price": 1})
    server.call("POST", f"/store/{store}/tag", token, json={"name": "sale"})
    console.open(f"/console/store/{store}")
    console.button("Delete store").click()
    dialog = console.page.get_by_role("dialog", name="Delete “Closing Down”?")
    expect(dialog).to_contain_text("This deletes the store with its 2 items and 1 tag.")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    console.accessible()
    console.page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(console.button("Delete store")).to_be_focused()
    assert "Closing Down" in store_names(server)
    console.button("Delete store").click()
    dialog.get_by_role("button", name="Delete store").click()
    expect(console.heading()).to_have_text("Your stores")
    expect(
        console.page.get_by_text("Store “Closing Down” deleted with its 2 items and 1 tag.")
    ).to_be_visible()
    assert "Closing Down" not in store_names(server)
    assert requests.get(server.url(f"/store/{store}"), timeout=10).status_code == 404


def test_a_rename_over_someone_elses_is_caught_and_can_overwrite(
    new_console: Callable[..., Console], server: Server
) -> None:
    first, second = new_console(), new_console()
    first.register("owner5")
    store = first.create_store("Twice Opened")
    second.sign_in("owner5")
    second.open(f"/console/store/{store}")
    second.expect_statuses(412)
    for console, name in ((first, "First Choice"), (second, "Second Choice")):
        form = console.page.get_by_role("form", name="Rename")
        form.get_by_role("textbox", name="Store name").fill(name)
    first.button("Rename").click()
    expect(first.heading()).to_have_text("First Choice")
    second.button("Rename").click()
    alert = second.page.get_by_role("alert").filter(has_text="Changed since you opened it")
    expect(alert).to_contain_text("The name is now “First Choice”")
    second.accessible()
    second.button("Overwrite").click()
    expect(second.heading()).to_have_text("Second Choice")
    assert server.call("GET", f"/store/{store}")["name"] == "Second Choice"


def test_an_admin_sees_and_changes_every_store(console: Console, server: Server) -> None:
    store = server.call(
        "POST", "/store", server_user(server, "shopkeeper"), json={"name": "Not Theirs"}
    )
    server.cli("create-admin", "boss", STOREKEEPER_ADMIN_PASSWORD="admin-password-1")
    console.sign_in("boss", "admin-password-1")
    expect(console.heading()).to_have_text("All stores")
    console.link("Not Theirs").click()
    name = console.page.get_by_role("form", name="Rename").get_by_role("textbox", name="Store name")
    name.fill("Renamed By Admin")
    console.button("Rename").click()
    expect(console.heading()).to_have_text("Renamed By Admin")
    assert server.call("GET", f"/store/{store['id']}")["name"] == "Renamed By Admin"


def test_a_guest_browses_stores_items_and_tags_without_signing_in(
    console: Console, server: Server
) -> None:
    token = server_user(server, "public")
    store = server.call("POST", "/store", token, json={"name": "Open House"})["id"]
    item = server.call(
        "POST", f"/store/{store}/item", token, json={"name": "Lamp", "price": 35.5, "quantity": 2}
    )
    tag = server.call("POST", f"/store/{store}/tag", token, json={"name": "lighting"})
    server.call("POST", f"/item/{item['id']}/tag/{tag['id']}", token)
    console.open("/console/")
    expect(console.heading()).to_have_text("Stores")
    expect(console.nav_link("Sign in")).to_be_visible()
    expect(console.button("Create store")).to_have_count(0)
    console.accessible()
    console.link("Open House").click()
    expect(console.heading()).to_have_text("Open House")
    expect(console.page.get_by_text("You are browsing as a guest")).to_be_visible()
    row = console.page.get_by_role("row").filter(has_text="Lamp")
    expect(row).to_contain_text("35.50")
    expect(row).to_contain_text("lighting")
    expect(console.page.get_by_role("list", name="Tags")).to_contain_text("lighting")
    for absent in ("Add item", "Create tag", "Rename", "Delete store", "Delete tag lighting"):
        expect(console.button(absent)).to_have_count(0)
    console.accessible()
    console.link("Lamp").click()
    expect(console.heading()).to_have_text("Lamp")
    expect(console.page.get_by_role("definition").first).to_have_text("35.50")
    expect(console.button("Save changes")).to_have_count(0)
    expect(console.button("Delete item")).to_have_count(0)
    console.accessible()


def server_user(server: Server, username: str) -> str:
    """A new user's access token."""
    server.register(username)
    return server.token(username)
