"""Accounts in the console: register, sign in and out, sessions that renew or end, the account."""

from __future__ import annotations

import re
import time
from collections.abc import Callable

import pytest
import requests
from playwright.sync_api import Request, expect

from tests.console.harness import PASSWORD, Console, Server

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console-accounts")]
ACCESS_TTL_S = 10  # the shortest the settings allow: the expiry test waits it out
SERVER_SETTINGS = {"STOREKEEPER_ACCESS_TOKEN_TTL": str(ACCESS_TTL_S)}
COOKIE_PATH = "/console/session"


def test_a_new_user_registers_and_is_signed_in(console: Console) -> None:
    console.register("ada")
    expect(console.page.get_by_text("Signed in as ada", exact=True)).to_be_visible()
    expect(console.page.get_by_text("Welcome, ada")).to_be_visible()
    expect(console.page).to_have_title("Your stores · Storekeeper console")
    console.accessible()


def test_registration_errors_are_shown_next_to_their_fields(
    console: Console, server: Server
) -> None:
    server.register("taken")
    console.expect_statuses(409, 422)
    console.open("/console/register")
    console.field("Username").fill("ab")
    console.field("Password").fill("short")
    console.button("Create account").click()
    username, password = console.field("Username"), console.field("Password")
    expect(username).to_have_attribute("aria-invalid", "true")
    expect(username).to_have_accessible_description(
        re.compile("Username: must be at least 3 characters long$")
    )
    expect(password).to_have_accessible_description(
        re.compile("Password: must be at least 8 characters long$")
    )
    expect(username).to_be_focused()
    console.accessible()
    username.fill("taken")
    password.fill(PASSWORD)
    console.button("Create account").click()
    expect(username).to_have_accessible_description(
        re.compile("Username: This username is taken.$")
    )
    expect(password).not_to_have_attribute("aria-invalid", "true")


def test_the_refresh_token_lives_only_in_an_http_only_cookie(
    console: Console, server: Server
) -> None:
    tokens: list[str] = []
    console.page.on(
        "response",
        lambda r: tokens.extend(r.json().values()) if r.url.endswith("/login") else None,
    )
    urls: list[str] = []
    console.page.on("request", lambda r: urls.append(r.url))
    console.register("grace")
    (cookie,) = console.context.cookies()
    assert cookie["name"] == "storekeeper_refresh"
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == COOKIE_PATH
    assert cookie["value"] in tokens
    page = console.page
    assert page.evaluate("document.cookie") == ""
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    secrets = [t for t in tokens if isinstance(t, str) and t.count(".") == 2]
    assert len(secrets) == 2
    assert not [u for u in urls if any(s in u for s in secrets)]
    assert not [s for s in secrets if s in server.log()]


def test_a_reload_keeps_the_session_and_sign_out_ends_it(console: Console, server: Server) -> None:
    console.register("hopper")
    console.reload()
    expect(console.page.get_by_text("Signed in as hopper", exact=True)).to_be_visible()
    console.button("Sign out").click()
    expect(console.heading()).to_have_text("Sign in")
    expect(console.page.get_by_text("You are signed out.")).to_be_visible()
    expect(console.nav_link("Create account")).to_be_visible()
    assert console.context.cookies() == []
    console.reload()
    expect(console.nav_link("Sign in")).to_be_visible()


def signed_in_watching(console: Console, username: str) -> tuple[list[str], list[Request]]:
    """Sign up and in; the access tokens /login gives and every request sent from then on."""
    tokens: list[str] = []
    sent: list[Request] = []
    console.page.on(
        "response",
        lambda r: tokens.append(r.json()["access_token"]) if r.url.endswith("/login") else None,
    )
    console.page.on("request", lambda request: sent.append(request))
    console.register(username)
    return tokens, sent


def create_store(console: Console, name: str) -> None:
    """Create a store from the stores page the console is on."""
    console.field("Store name").fill(name)
    console.button("Create store").click()
    expect(console.heading()).to_have_text(name)


def test_an_expired_access_token_is_renewed_unnoticed(
    new_console: Callable[..., Console], server: Server
) -> None:
    """Renewed before it is sent, and, when the console's clock missed the expiry (its clock
    here is stopped), on the 401 it gets: in both, the person sees the store made."""
    ahead, behind = new_console(), new_console()
    behind.page.clock.install()
    ahead_tokens, ahead_sent = signed_in_watching(ahead, "lovelace")
    behind_tokens, behind_sent = signed_in_watching(behind, "babbage")
    behind.page.clock.pause_at(time.time() + 1)  # a moment on, never in its past
    behind.expect_statuses(401)
    deadline = time.monotonic() + ACCESS_TTL_S + 5
    while any(
        requests.get(server.url("/user/me"), headers=bearer(t), timeout=5).ok
        for t in (ahead_tokens[0], behind_tokens[0])
    ):
        assert time.monotonic() < deadline, "the access tokens never expired"
        time.sleep(0.5)
    runs = (
        (ahead, ahead_sent, ahead_tokens[0], "Analytical Engines"),
        (behind, behind_sent, behind_tokens[0], "Difference Engines"),
    )
    for console, sent, expired, name in runs:
        del sent[:]
        create_store(console, name)
        creates = [r for r in sent if r.method == "POST" and r.url.endswith("/store")]
        renewals = [r for r in sent if r.url.endswith("/session/token")]
        assert renewals and sent.index(renewals[0]) < sent.index(creates[-1])
        assert creates[-1].headers["authorization"] != f"Bearer {expired}"
        assert [status(c) for c in creates] == ([201] if console is ahead else [401, 201])
        expect(console.page.get_by_text("Signed in as")).to_be_visible()


def test_a_revoked_session_returns_to_sign_in_with_a_message(
    console: Console, server: Server
) -> None:
    console.register("turing")
    console.expect_statuses(401)
    server.cli(
        "create-admin", "turing", "--reset-password", STOREKEEPER_ADMIN_PASSWORD="n3w-pa55word"
    )
    console.nav_link("Account").click()
    expect(console.heading()).to_have_text("Sign in")
    expect(console.page.get_by_text("Your session has ended")).to_be_visible()
    expect(console.nav_link("Sign in")).to_be_visible()
    console.accessible()
    console.field("Username").fill("turing")
    console.field("Password").fill("n3w-pa55word")
    console.button("Sign in").click()
    expect(console.heading()).to_have_text("Account")  # back where they were going


def test_the_account_page_shows_the_profile_and_deletes_only_a_storeless_account(
    console: Console, server: Server
) -> None:
    console.register("noether")
    store = console.create_store("Rings and Fields")
    console.expect_statuses(409)
    console.nav_link("Account").click()
    facts = console.page.get_by_role("definition")
    expect(facts.first).to_have_text("noether")
    expect(console.page.get_by_text("Member", exact=True)).to_be_visible()
    console.accessible()
    console.button("Delete account").click()
    dialog = console.page.get_by_role("dialog", name="Delete your account?")
    expect(dialog).to_be_visible()
    console.accessible()
    dialog.get_by_role("button", name="Delete account").click()
    alert = console.page.get_by_role("alert").filter(has_text="Not deleted")
    expect(alert).to_contain_text("The user still owns stores")
    expect(alert).to_contain_text("Nothing was changed.")
    token = server.token("noether")
    server.call("DELETE", f"/store/{store}", token)
    console.button("Delete account").click()
    console.page.get_by_role("dialog").get_by_role("button", name="Delete account").click()
    expect(console.page.get_by_text("The account noether is deleted.")).to_be_visible()
    expect(console.nav_link("Sign in")).to_be_visible()
    assert console.context.cookies() == []
    refused = requests.post(
        server.url("/login"), json={"username": "noether", "password": PASSWORD}, timeout=10
    )
    assert refused.status_code == 401


def test_a_wrong_password_is_said_without_saying_which(
    new_console: Callable[..., Console], server: Server
) -> None:
    server.register("hamilton")
    console = new_console()
    console.expect_statuses(401)
    console.open("/console/signin")
    console.field("Username").fill("hamilton")
    console.field("Password").fill("not the password")
    console.button("Sign in").click()
    expect(console.page.get_by_role("alert")).to_have_text("The username or password is wrong.")
    expect(console.nav_link("Sign in")).to_be_visible()


def status(request: Request) -> int:
    """The status a request was answered with."""
    response = request.response()
    assert response is not None, request.url
    return response.status


def bearer(token: str) -> dict[str, str]:
    """An Authorization header."""
    return {"Authorization": f"Bearer {token}"}
