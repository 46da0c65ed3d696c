"""Items in the console: exact prices, the API's refusals by field, keyset pages, sorts and
filters, edits guarded by If-Match, moves, deletes, and creates that happen once."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
import requests
from playwright.sync_api import Locator, Request, Route, expect

from tests.console.harness import Console, Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console-items")]


def owner_with_store(console: Console, server: Server, username: str, store: str) -> int:
    """Register through the console and create a store; its id."""
    console.register(username)
    return console.create_store(store)


def add_form(console: Console) -> Locator:
    """The store page's form for a new item."""
    return console.page.get_by_role("form", name="Add an item")


def add_item(console: Console, name: str, price: str, quantity: str = "") -> None:
    """Fill the new-item form and send it."""
    form = add_form(console)
    form.get_by_role("textbox", name="Name").fill(name)
    form.get_by_role("textbox", name="Price").fill(price)
    form.get_by_role("textbox", name="Quantity").fill(quantity)
    form.get_by_role("button", name="Add item").click()


def items_named(server: Server, store: int, name: str) -> list[dict[str, object]]:
    """The store's items of one name, through the API."""
    found: list[dict[str, object]] = server.call("GET", f"/store/{store}/item?name={name}")
    return found


def rows(console: Console) -> Locator:
    """The rows of the items table, without its header."""
    table = console.page.get_by_role("table", name="Items of this store")
    return table.get_by_role("row").filter(has=console.page.get_by_role("cell"))


def test_prices_are_stored_exactly_as_typed(console: Console, server: Server) -> None:
    store = owner_with_store(console, server, "pricer", "Exact Prices")
    for name, typed in (("Chair", "19.99"), ("Pin", "0.1"), ("Yacht", "999999999.99")):
        add_item(console, name, typed)
        expect(console.page.get_by_text(f"Added “{name}”")).to_be_visible()
    for name, stored in (("Chair", "19.99"), ("Pin", "0.1"), ("Yacht", "999999999.99")):
        (item,) = items_named(server, store, name)
        raw = requests.get(server.url(f"/item/{item['id']}"), timeout=10).text
        assert f'"price":{stored},' in raw
    expect(rows(console).filter(has_text="Chair")).to_contain_text("19.99")
    expect(rows(console).filter(has_text="Pin")).to_contain_text("0.10")
    expect(console.page.get_by_text("3 items in this store")).to_be_visible()
    console.accessible()


def test_the_apis_refusals_are_shown_next_to_the_fields_they_name(
    console: Console, server: Server
) -> None:
    store = owner_with_store(console, server, "refused", "Strict Shop")
    console.expect_statuses(409, 422)
    form = add_form(console)
    name, price = (
        form.get_by_role("textbox", name="Name"),
        form.get_by_role("textbox", name="Price"),
    )
    quantity = form.get_by_role("textbox", name="Quantity")
    add_item(console, "Chair", "9.999", "-1")
    expect(price).to_have_accessible_description(re.compile("Price: .*2 decimal places"))
    expect(quantity).to_have_accessible_description(re.compile("Quantity: must be at least 0"))
    expect(name).not_to_have_attribute("aria-invalid", "true")
    expect(price).to_be_focused()
    console.accessible()
    add_item(console, "", "abc")
    expect(name).to_have_accessible_description(re.compile("^Name: "))
    expect(price).to_have_accessible_description(
        re.compile("^Exact, at most 2 decimals: 19.99 Price: ")
    )
    add_item(console, "Chair", "5")
    expect(console.page.get_by_text("Added “Chair”")).to_be_visible()
    add_item(console, "CHAIR", "6")
    expect(name).to_have_accessible_description(
        "Name: An item with this name already exists in this store."
    )
    assert len(server.call("GET", f"/store/{store}/item")) == 1


def test_items_page_by_their_links_and_sort_and_filter(console: Console, server: Server) -> None:
    store = owner_with_store(console, server, "pager", "Big Catalogue")
    token = server.token("pager")
    tag = server.call("POST", f"/store/{store}/tag", token, json={"name": "red"})["id"]
    for n in range(1, 46):
        item = server.call(
            "POST",
            f"/store/{store}/item",
            token,
            json={"name": f"Item {n:02}", "price": n, "quantity": n % 3},
        )
        if n % 5 == 0:
            server.call("POST", f"/item/{item['id']}/tag/{tag}", token)
    console.open(f"/console/store/{store}")
    expect(console.page.get_by_text("45 items in this store")).to_be_visible()
    expect(rows(console)).to_have_count(20)
    pages: list[Request] = []
    console.page.on("request", lambda r: pages.append(r) if "/item?" in r.url else None)
    console.button("Next page").click()
    expect(rows(console).first).to_contain_text("Item 21")
    console.button("Next page").click()
    expect(rows(console)).to_have_count(5)
    expect(console.button("Next page")).to_be_hidden()
    assert all("cursor=" in r.url for r in pages)
    console.button("Previous page").click()
    expect(rows(console).first).to_contain_text("Item 21")
    console.accessible()

    search = console.page.get_by_role("search", name="Find items")
    search.get_by_role("combobox", name="Sort by").select_option(label="Price, highest first")
    search.get_by_role("button", name="Apply filters").click()
    expect(rows(console).first).to_contain_text("Item 45")
    expect(rows(console).first).to_contain_text("45.00")
    search.get_by_role("combobox", name="Sort by").select_option(label="Name, A to Z")
    search.get_by_role("textbox", name="Minimum price").fill("10")
    search.get_by_role("textbox", name="Maximum price").fill("20.5")
    search.get_by_role("checkbox", name="In stock only").check()
    search.get_by_role("button", name="Apply filters").click()
    # 10..20, less those with quantity 0 (12, 15, 18)
    expect(rows(console)).to_have_count(8)
    expect(rows(console).first).to_contain_text("Item 10")
    search.get_by_role("checkbox", name="In stock only").uncheck()
    search.get_by_role("combobox", name="Tag").select_option(label="red")
    search.get_by_role("button", name="Apply filters").click()
    expect(rows(console)).to_have_count(3)  # 10, 15, 20
    search.get_by_role("searchbox", name="Name contains").fill("item 1")
    search.get_by_role("button", name="Apply filters").click()
    expect(rows(console)).to_have_count(2)  # 10, 15
    console.expect_statuses(422)
    low = search.get_by_role("textbox", name="Minimum price")
    low.fill("cheap")
    search.get_by_role("button", name="Apply filters").click()
    expect(low).to_have_accessible_description(re.compile("^Minimum price: "))
    console.accessible()


def test_edit_and_move_an_item(console: Console, server: Server) -> None:
    store = owner_with_store(console, server, "editor", "First Store")
    other = console.create_store("Second Store")
    token = server.token("editor")
    item = server.call("POST", f"/store/{store}/item", token, json={"name": "Desk", "price": 80})
    tag = server.call("POST", f"/store/{store}/tag", token, json={"name": "wood"})
    server.call("POST", f"/item/{item['id']}/tag/{tag['id']}", token)
    console.open(f"/console/item/{item['id']}")
    edit = console.page.get_by_role("form", name="Edit")
    edit.get_by_role("textbox", name="Price").fill("79.95")
    edit.get_by_role("textbox", name="Quantity").fill("3")
    edit.get_by_role("textbox", name="Description").fill("Oak, two drawers")
    console.button("Save changes").click()
    expect(edit.get_by_role("status")).to_have_text("Saved.")
    stored = server.call("GET", f"/item/{item['id']}")
    assert (stored["price"], stored["quantity"]) == (79.95, 3)
    assert stored["description"] == "Oak, two drawers"
    console.accessible()
    edit.get_by_role("combobox", name="Store").select_option(label="Second Store")
    console.button("Save changes").click()
    expect(edit.get_by_role("status")).to_have_text("Saved.")
    crumbs = console.page.get_by_role("link", name="Second Store")
    expect(crumbs).to_be_visible()
    moved = server.call("GET", f"/item/{item['id']}")
    assert moved["store_id"] == other and moved["tags"] == []
    expect(console.page.get_by_role("list", name="Tags")).to_have_text("No tags yet.")


def test_delete_an_item_after_confirming(console: Console, server: Server) -> None:
    store = owner_with_store(console, server, "deleter", "Thinning Out")
    add_item(console, "Old Lamp", "5")
    expect(console.page.get_by_text("Added “Old Lamp”")).to_be_visible()
    console.link("Old Lamp").click()
    console.button("Delete item").click()
    dialog = console.page.get_by_role("dialog", name="Delete “Old Lamp”?")
    dialog.get_by_role("button", name="Cancel").click()
    assert len(items_named(server, store, "Old Lamp")) == 1
    console.button("Delete item").click()
    dialog.get_by_role("button", name="Delete item").click()
    expect(console.heading()).to_have_text("Thinning Out")
    expect(console.page.get_by_text("Item “Old Lamp” moved to the trash.")).to_be_visible()
    assert items_named(server, store, "Old Lamp") == []


def test_two_people_editing_one_item_the_second_is_told_and_may_reload(
    new_console: Callable[..., Console], server: Server
) -> None:
    first, second = new_console(), new_console()
    store = owner_with_store(first, server, "twins", "Shared Shop")
    token = server.token("twins")
    item = server.call(
        "POST", f"/store/{store}/item", token, json={"name": "Vase", "price": 10, "quantity": 1}
    )
    second.sign_in("twins")
    for console in (first, second):
        console.open(f"/console/item/{item['id']}")
    second.expect_statuses(412)
    first.page.get_by_role("form", name="Edit").get_by_role("textbox", name="Price").fill("12.50")
    first.button("Save changes").click()
    expect(first.page.get_by_text("Saved.")).to_be_visible()
    edit = second.page.get_by_role("form", name="Edit")
    edit.get_by_role("textbox", name="Quantity").fill("9")
    second.button("Save changes").click()
    alert = second.page.get_by_role("alert").filter(has_text="Changed since you opened it")
    expect(alert).to_contain_text("The price is now 12.50")
    expect(second.button("Reload")).to_be_focused()
    second.accessible()
    second.button("Reload").click()
    expect(alert).to_have_count(0)
    expect(edit.get_by_role("textbox", name="Price")).to_have_value("12.50")
    expect(edit.get_by_role("textbox", name="Quantity")).to_have_value("1")
    edit.get_by_role("textbox", name="Quantity").fill("9")
    second.button("Save changes").click()
    expect(edit.get_by_role("status")).to_have_text("Saved.")
    stored = server.call("GET", f"/item/{item['id']}")
    assert (stored["price"], stored["quantity"]) == (12.5, 9)


def test_two_people_editing_one_item_the_second_may_overwrite(
    new_console: Callable[..., Console], server: Server
) -> None:
    first, second = new_console(), new_console()
    store = owner_with_store(first, server, "rivals", "Contested Shop")
    token = server.token("rivals")
    item = server.call("POST", f"/store/{store}/item", token, json={"name": "Rug", "price": 40})
    second.sign_in("rivals")
    for console in (first, second):
        console.open(f"/console/item/{item['id']}")
    second.expect_statuses(412)
    first.page.get_by_role("form", name="Edit").get_by_role("textbox", name="Name").fill("Red Rug")
    first.button("Save changes").click()
    expect(first.page.get_by_text("Saved.")).to_be_visible()
    second.page.get_by_role("form", name="Edit").get_by_role("textbox", name="Name").fill(
        "Blue Rug"
    )
    second.button("Save changes").click()
    expect(second.page.get_by_role("alert")).to_contain_text("The name is now “Red Rug”")
    second.button("Overwrite").click()
    expect(second.heading()).to_have_text("Blue Rug")
    assert server.call("GET", f"/item/{item['id']}")["name"] == "Blue Rug"


def test_a_double_clicked_create_makes_one_item(console: Console, server: Server) -> None:
    store = owner_with_store(console, server, "clicker", "Eager Shop")
    posts: list[Request] = []
    console.page.on(
        "request", lambda r: posts.append(r) if r.method == "POST" and "/item" in r.url else None
    )
    form = add_form(console)
    form.get_by_role("textbox", name="Name").fill("Kettle")
    form.get_by_role("textbox", name="Price").fill("24")
    form.get_by_role("button", name="Add item").dblclick()
    expect(console.page.get_by_text("Added “Kettle”")).to_be_visible()
    assert len(items_named(server, store, "Kettle")) == 1
    assert all(p.headers.get("idempotency-key") for p in posts)


def test_a_retry_after_a_dropped_connection_creates_one_item(
    console: Console, server: Server
) -> None:
    """The connection drops after the server made the item; the retry gets its first answer.

    The fault is Playwright's: it forwards the console's request to the live server (which
    creates the item) and then drops the connection instead of handing the answer back.
    """
    store = owner_with_store(console, server, "unlucky", "Flaky Line")
    answers: list[dict[str, str]] = []

    def drop_first(route: Route) -> None:
        if route.request.method != "POST" or answers:
            route.continue_()
            return
        answers.append(route.fetch().headers)
        route.abort("connectionreset")

    console.page.route(f"**/store/{store}/item", drop_first)
    console.page.on(
        "response",
        lambda r: answers.append(r.headers) if r.request.method == "POST" else None,
    )
    console.watch.expected_failures = 1
    add_item(console, "Toaster", "30")
    problem = add_form(console).get_by_role("alert")
    expect(problem).to_contain_text("The connection dropped before the server answered")
    assert len(items_named(server, store, "Toaster")) == 1  # it was made all the same
    add_form(console).get_by_role("button", name="Add item").click()
    expect(console.page.get_by_text("Added “Toaster”")).to_be_visible()
    assert len(items_named(server, store, "Toaster")) == 1
    assert answers[-1].get("idempotent-replayed") == "true"
