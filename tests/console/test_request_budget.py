"""A spent request budget in the console: any refused call says how long to wait."""

from __future__ import annotations

import re
import time

import pytest
import requests
from playwright.sync_api import expect

from tests.console.harness import Console, Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console-request-budget")]
BUDGET = 60  # an hour: the page and the test fit in it, and it ends within the test rarely
SERVER_SETTINGS = {"STOREKEEPER_RATE_LIMIT": f"{BUDGET}/hour"}
BANNER = re.compile(
    r"^Too many requests in a short time: the server takes more in (\d+) seconds?\. "
    r"Wait, then try again\.$"
)


def _spend_the_rest(server: Server) -> int:
    """Requests from the browser's address until one is refused; its Retry-After."""
    for _ in range(BUDGET + 10):
        answer = requests.get(server.url("/store"), timeout=10)
        if answer.status_code == 429:
            return int(answer.headers["Retry-After"])
    raise AssertionError("the budget was never spent")


def test_a_spent_budget_says_how_long_to_wait_whatever_the_call(
    console: Console, server: Server
) -> None:
    server.register("busy")
    standing = requests.get(server.url("/store"), timeout=10).headers["RateLimit"]
    reset = re.search(r";t=(\d+)", standing)
    assert reset is not None
    if int(reset.group(1)) < 60:
        time.sleep(int(reset.group(1)) + 1)  # the hour ends soon: spend the next one's budget
    console.expect_statuses(429)
    console.open("/console/signin")
    wait = _spend_the_rest(server)
    console.field("Username").fill("busy")
    console.field("Password").fill("correct horse battery")
    with console.page.expect_response(lambda r: r.url.endswith("/login")) as refused:
        console.button("Sign in").click()
    assert refused.value.status == 429
    banner = console.page.locator("#limited")
    expect(banner).to_have_text(BANNER)
    shown = int(BANNER.match(banner.inner_text()).group(1))  # type: ignore[union-attr]
    assert 0 < shown <= wait
    reason = re.compile(r"^Too many requests\. Try again in \d+ seconds?\.$")
    expect(console.page.get_by_role("alert")).to_have_text(reason)
    console.accessible()
    # Any other call says the same: the stores page cannot load, and says why and how long.
    with console.page.expect_response(lambda r: "/store?" in r.url or r.url.endswith("/store")):
        console.nav_link("Stores").click()
    expect(console.heading()).to_have_text("Could not load the page")
    expect(console.page.get_by_role("alert")).to_have_text(reason)
    expect(banner).to_have_text(BANNER)
    console.accessible()
