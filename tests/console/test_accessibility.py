"""Usable by everyone: axe-core on every page at desktop and phone widths, one title and one main
heading each, nothing wider than a 360 px screen, and the whole job done with the keyboard."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.console.harness import DESKTOP, PASSWORD, PHONE, Console, Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console-accessibility")]
MAX_TABS = 80


@pytest.fixture(scope="module")
def catalogue(server: Server) -> dict[str, int]:
    """A user's store with items and tags, through the API."""
    server.register("viewer")
    token = server.token("viewer")
    store = server.call("POST", "/store", token, json={"name": "Reading Room"})["id"]
    tag = server.call("POST", f"/store/{store}/tag", token, json={"name": "paper"})["id"]
    item = server.call(
        "POST",
        f"/store/{store}/item",
        token,
        json={"name": "Notebook", "price": 4.5, "quantity": 12, "description": "A5, squared"},
    )["id"]
    server.call("POST", f"/store/{store}/item", token, json={"name": "Pencil", "price": 0.8})
    server.call("POST", f"/item/{item}/tag/{tag}", token)
    # Something in the trash, so that its page shows a table.
    eraser = server.call("POST", f"/store/{store}/item", token, json={"name": "Eraser", "price": 1})
    server.call("DELETE", f"/item/{eraser['id']}", token)
    return {"store": store, "item": item}


def pages(catalogue: dict[str, int]) -> list[str]:
    """Every kind of page the console has."""
    return [
        "/",
        "/console/",
        "/console/?all",
        "/console/signin",
        "/console/register",
        "/console/account",
        "/console/forgot",
        "/console/reset#token=from-an-email",
        "/console/verify#token=from-an-email",
        f"/console/store/{catalogue['store']}",
        f"/console/store/{catalogue['store']}/import",
        f"/console/store/{catalogue['store']}/trash",
        f"/console/store/{catalogue['store']}/webhooks",
        f"/console/item/{catalogue['item']}",
        "/console/no/such/page",
    ]


def check_page(console: Console, width: int) -> None:
    """axe finds nothing serious; one main heading, named in the title; nothing wider."""
    page = console.page
    console.accessible()
    expect(page.get_by_role("heading", level=1)).to_have_count(1)
    heading = page.get_by_role("heading", level=1).inner_text()
    assert page.title().startswith(heading), (page.url, page.title(), heading)
    assert page.evaluate("document.documentElement.scrollWidth") <= width, page.url


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_page_as_a_guest(
    new_console: Callable[..., Console], catalogue: dict[str, int], viewport: dict[str, int]
) -> None:
    console = new_console(viewport)
    for path in pages(catalogue):
        console.open(path)
        check_page(console, viewport["width"])


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_page_as_the_owner(
    new_console: Callable[..., Console], catalogue: dict[str, int], viewport: dict[str, int]
) -> None:
    console = new_console(viewport)
    console.expect_statuses(422)  # the verification page's made-up token
    console.sign_in("viewer")
    for path in pages(catalogue):
        console.open(path)
        check_page(console, viewport["width"])
    console.open(f"/console/store/{catalogue['store']}")
    console.button("Delete store").click()
    expect(console.page.get_by_role("dialog")).to_be_visible()
    check_page(console, viewport["width"])  # the confirmation too


def focus_is_visible(page: Page) -> None:
    """The focused element shows a focus ring of at least 2 px."""
    ring = page.evaluate(
        """() => {
            const style = getComputedStyle(document.activeElement);
            return [style.outlineStyle, parseFloat(style.outlineWidth)];
        }"""
    )
    assert ring[0] != "none" and ring[1] >= 2, (
        ring,
        page.evaluate("document.activeElement.outerHTML"),
    )


def tab_to(page: Page, target: Locator, backwards: bool = False) -> None:
    """Press Tab until the target has the focus, checking each stop shows where it is."""
    for _ in range(MAX_TABS):
        page.keyboard.press("Shift+Tab" if backwards else "Tab")
        focus_is_visible(page)
        if target.evaluate("node => node === document.activeElement"):
            return
    raise AssertionError(f"{target} cannot be reached with the Tab key")


def test_the_whole_job_with_the_keyboard_alone(console: Console, server: Server) -> None:
    page = console.page
    console.open("/")
    tab_to(page, console.link("Open the console"))
    page.keyboard.press("Enter")
    expect(console.heading()).to_have_text("Stores")
    page.keyboard.press("Tab")
    expect(console.link("Skip to main content")).to_be_focused()
    tab_to(page, console.nav_link("Create account"))
    page.keyboard.press("Enter")
    expect(console.heading()).to_have_text("Create an account")
    tab_to(page, console.field("Username"))
    page.keyboard.type("keys")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(console.heading()).to_have_text("Your stores")

    tab_to(page, console.field("Store name"))
    page.keyboard.type("Keyboard Shop")
    page.keyboard.press("Enter")
    expect(console.heading()).to_have_text("Keyboard Shop")
    add = page.get_by_role("form", name="Add an item")
    tab_to(page, add.get_by_role("textbox", name="Name"))
    page.keyboard.type("Keycap")
    page.keyboard.press("Tab")
    page.keyboard.type("1.25")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Added “Keycap” at 1.25.")).to_be_visible()
    expect(add.get_by_role("textbox", name="Name")).to_be_focused()
    tab_to(page, page.get_by_role("form", name="New tag").get_by_role("textbox", name="Tag name"))
    page.keyboard.type("tactile")
    page.keyboard.press("Enter")
    expect(page.get_by_text("Tag “tactile” created.")).to_be_visible()

    tab_to(page, console.link("Keycap"), backwards=True)
    page.keyboard.press("Enter")
    expect(console.heading()).to_have_text("Keycap")
    tab_to(page, console.button("Add tag"))
    page.keyboard.press("Enter")
    expect(page.get_by_text("Tag “tactile” added.")).to_be_visible()
    tab_to(page, console.link("Keyboard Shop"), backwards=True)
    page.keyboard.press("Enter")
    expect(console.heading()).to_have_text("Keyboard Shop")

    tab_to(page, console.button("Delete store"))
    page.keyboard.press("Enter")
    dialog = page.get_by_role("dialog")
    expect(dialog).to_contain_text("its 1 item and 1 tag")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(console.button("Delete store")).to_be_focused()
    page.keyboard.press("Enter")
    expect(dialog.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(dialog.get_by_role("button", name="Delete store")).to_be_focused()
    focus_is_visible(page)
    page.keyboard.press("Enter")
    expect(page.get_by_text("Store “Keyboard Shop” deleted")).to_be_visible()
    assert [s["name"] for s in server.call("GET", "/store?q=keyboard")] == []


def test_the_check_finds_what_a_person_would_trip_on(console: Console) -> None:
    console.open("/console/signin")
    console.page.evaluate(
        """() => {
            const faint = document.createElement("p");
            faint.textContent = "Hard to read";
            faint.style.color = "#bbbbbb";
            document.querySelector("main").append(faint, document.createElement("button"));
        }"""
    )
    with pytest.raises(AssertionError) as found:
        console.accessible()
    assert "color-contrast (serious)" in str(found.value)
    assert "button-name (critical)" in str(found.value)
