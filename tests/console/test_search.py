"""Search in the console: ranked items across stores on the stores page, and a store's list
filtered by words; the words stay in the address, so a reload shows the same results."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.console.harness import Console, Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console-search")]


def seed(server: Server, username: str, suffix: str = "") -> dict[str, int]:
    """Two stores with items to find, made through the API; the stores' ids by name (the
    suffix left out: each test's stores need names of their own on the module's server)."""
    server.register(username)
    token = server.token(username)
    stores: dict[str, int] = {}
    rows = {
        "Furniture Hall": [
            ("Oak table", "Goes with the oak chair."),
            ("Oak chair", "Solid oak."),
            ("Lamp", "Bright."),
        ],
        "Garden Yard": [("Garden chair", "Folding, café style.")],
    }
    for store, items in rows.items():
        made = server.call("POST", "/store", token, json={"name": store + suffix})
        stores[store] = made["id"]
        for name, description in items:
            server.call(
                "POST",
                f"/store/{stores[store]}/item",
                token,
                json={"name": name, "price": 10, "description": description},
            )
    return stores


def test_search_items_of_every_store_and_reload_keeps_the_results(
    console: Console, server: Server
) -> None:
    stores = seed(server, "searcher1")
    console.open("/console/")
    box = console.page.get_by_role("searchbox", name="Search items in every store")
    box.fill("CHAI")
    console.button("Search items").click()
    console.settled()
    results = console.page.get_by_role("region", name="Items matching “CHAI”").get_by_role(
        "listitem"
    )
    # Ranked: names with "chai..." first (by id), then the one with it in its description.
    expect(results).to_have_text(
        [
            "Oak chair in Furniture Hall, 10.00 — Solid oak.",
            "Garden chair in Garden Yard, 10.00 — Folding, café style.",
            "Oak table in Furniture Hall, 10.00 — Goes with the oak chair.",
        ]
    )
    assert "search=CHAI" in console.page.url
    console.accessible()
    console.reload()
    expect(results).to_have_count(3)
    expect(box).to_have_value("CHAI")
    expect(results.first.get_by_role("link", name="Garden Yard")).to_have_count(0)
    expect(results.nth(1).get_by_role("link", name="Garden Yard")).to_have_attribute(
        "href", f"/console/store/{stores['Garden Yard']}"
    )
    box.fill("cafe chair")
    console.button("Search items").click()
    console.settled()
    expect(console.page.get_by_role("region", name="Items matching “cafe chair”")).to_contain_text(
        "Garden chair"
    )


def test_a_store_list_filtered_by_words_keeps_them_in_its_address(
    console: Console, server: Server
) -> None:
    stores = seed(server, "searcher2", " 2")
    console.open(f"/console/store/{stores['Furniture Hall']}")
    form = console.page.get_by_role("search", name="Find items")
    form.get_by_role("searchbox", name="Search words").fill("oak chair")
    expect(form.get_by_role("combobox", name="Sort by")).to_have_value("relevance")
    form.get_by_role("button", name="Apply filters").click()
    table = console.page.get_by_role("table", name="Items of this store")
    names = table.get_by_role("row").locator("td:first-child")
    expect(names).to_have_text(["Oak chair", "Oak table"])
    assert "search=oak+chair" in console.page.url
    console.accessible()
    console.reload()
    expect(names).to_have_text(["Oak chair", "Oak table"])
    expect(form.get_by_role("searchbox", name="Search words")).to_have_value("oak chair")
    console.open(f"/console/store/{stores['Furniture Hall']}?search=lamp&in_stock=false")
    expect(names).to_have_text(["Lamp"])
    expect(form.get_by_role("checkbox", name="In stock only")).not_to_be_checked()
    # A shared link with words and no sort ranks by them.
    console.open(f"/console/store/{stores['Furniture Hall']}?search=chair")
    expect(names).to_have_text(["Oak chair", "Oak table"])
    expect(form.get_by_role("combobox", name="Sort by")).to_have_value("relevance")
