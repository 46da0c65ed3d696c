"""A 429 in the console: too many sign-ins say when to try again, and wait until then."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Request, expect

from tests.console.harness import Console, Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console-rate-limit")]
ATTEMPTS = 3
SERVER_SETTINGS = {"STOREKEEPER_LOGIN_RATE_LIMIT": f"{ATTEMPTS}/minute"}


def test_too_many_sign_ins_say_when_to_try_again(console: Console, server: Server) -> None:
    server.register("forgetful")
    console.expect_statuses(401, 429)
    console.open("/console/signin")
    console.field("Username").fill("forgetful")
    alert = console.page.get_by_role("alert")
    for attempt in range(ATTEMPTS):
        console.field("Password").fill(f"wrong password {attempt}")
        with console.page.expect_response(lambda r: r.url.endswith("/login")) as refused:
            console.button("Sign in").click()
        assert refused.value.status == 401
        expect(alert).to_have_text("The username or password is wrong.")
    with console.page.expect_response(lambda r: r.url.endswith("/login")) as limited:
        console.button("Sign in").click()
    assert limited.value.status == 429
    wait = int(limited.value.headers["retry-after"])
    message = re.compile(r"^Too many sign-in attempts\. Try again in (\d+) seconds?\.$")
    expect(alert).to_have_text(message)
    shown = int(message.match(alert.inner_text()).group(1))  # type: ignore[union-attr]
    assert 0 < shown <= wait
    console.accessible()
    button = console.button("Sign in")
    expect(button).to_have_attribute("aria-disabled", "true")
    logins: list[Request] = []
    console.page.on("request", lambda r: logins.append(r) if r.url.endswith("/login") else None)
    button.click(force=True)  # a person may still press it: nothing happens
    console.field("Password").press("Enter")
    expect(alert).to_have_text(message)
    assert logins == []  # refused before anything is sent
