"""An unavailable or slow database in the console: it says so, retries, and shows it is busy.

The server runs on PostgreSQL behind a proxy the test cuts or silences (tests/e2e/tcp_proxy.py),
so the 503s and the slow answers are the server's own.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from tests.console.harness import GENEROUS_LOGINS, Console, Server, live
from tests.e2e.live import proxied_postgres_database
from tests.e2e.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console-outage")]


@pytest.fixture(scope="module")
def proxy() -> Iterator[tuple[TcpProxy, str]]:
    """A fresh PostgreSQL database behind a proxy (skips without PostgreSQL)."""
    with proxied_postgres_database() as found:
        yield found


@pytest.fixture(scope="module")
def server(proxy: tuple[TcpProxy, str]) -> Iterator[Server]:
    """The module's server, on the proxied database."""
    with live(STOREKEEPER_DATABASE_URL=proxy[1], **GENEROUS_LOGINS) as running:
        yield running


def store_page(console: Console, server: Server, username: str) -> None:
    """Sign up, make a store with an item, and open its page."""
    console.register(username)
    store = console.create_store(f"{username}'s shop")
    server.call(
        "POST", f"/store/{store}/item", server.token(username), json={"name": "Mug", "price": 8}
    )
    console.open(f"/console/store/{store}")


def test_an_unavailable_service_is_said_and_retried_until_it_is_back(
    console: Console, server: Server, proxy: tuple[TcpProxy, str]
) -> None:
    store_page(console, server, "patient")
    console.expect_statuses(503)
    banner = console.page.get_by_role("alert").filter(has_text="The service is unavailable")
    search = console.page.get_by_role("search", name="Find items")
    search.get_by_role("searchbox", name="Name contains").fill("mug")
    proxy[0].cut()
    try:
        with console.page.expect_response(lambda r: r.status == 503):
            search.get_by_role("button", name="Apply filters").click()
        expect(banner).to_contain_text("Retrying in")
        console.accessible()
    finally:
        proxy[0].restore()
    expect(console.page.get_by_text("The service is available again.")).to_be_visible(
        timeout=20_000
    )
    table = console.page.get_by_role("table", name="Items of this store")
    expect(table.get_by_role("link")).to_have_text(["Mug"])


def test_a_slow_answer_shows_that_the_console_is_busy(
    console: Console, server: Server, proxy: tuple[TcpProxy, str]
) -> None:
    store_page(console, server, "waiting")
    busy = console.page.get_by_role("status").filter(has_text="Loading…")
    search = console.page.get_by_role("search", name="Find items")
    search.get_by_role("searchbox", name="Name contains").fill("nothing like it")
    proxy[0].silence()
    try:
        search.get_by_role("button", name="Apply filters").click()
        expect(busy).to_be_visible()
        expect(search.get_by_role("button", name="Filtering…")).to_have_attribute(
            "aria-disabled", "true"
        )
    finally:
        proxy[0].restore()
    expect(console.page.get_by_text("No item matches.")).to_be_visible()
    expect(busy).to_have_count(0)
    expect(search.get_by_role("button", name="Apply filters")).not_to_have_attribute(
        "aria-disabled", "true"
    )
