"""An account's own care in the console: a forgotten password, emailed links, and changing the
email address and the password from the account page."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
import requests
from playwright.sync_api import expect

from tests.console.harness import PASSWORD, Console, Server
from tests.e2e.live import BIN
from tests.mailserver import MailServer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console-account-care")]
NEUTRAL = "If an account has this verified address, an email with a link"
NEW_PASSWORD = "staple paper clip"


def test_forgot_password_is_linked_from_sign_in_and_shows_the_apis_field_error(
    console: Console,
) -> None:
    console.expect_statuses(422)
    console.open("/console/signin")
    console.link("Forgot your password?").click()
    expect(console.heading()).to_have_text("Forgot your password?")
    console.accessible()
    email = console.field("Email")
    email.fill("someone@nowhere")  # the browser's check lets it through, the API's does not
    console.button("Send the link").click()
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_have_accessible_description(re.compile("^Email: .*"))
    expect(email).to_be_focused()
    console.accessible()


def test_forgot_password_says_the_same_whatever_the_address(
    console: Console, server: Server
) -> None:
    requests.post(
        server.url("/register"),
        json={"username": "forgetful", "password": PASSWORD, "email": "forgetful@example.com"},
        timeout=10,
    ).raise_for_status()
    console.open("/console/forgot")
    email = console.field("Email")
    said = console.page.get_by_role("status").filter(has_text=NEUTRAL)
    for address in ("forgetful@example.com", "nobody@example.com"):
        email.fill(address)
        console.button("Send the link").click()
        expect(said).to_be_visible()
    console.accessible()


def test_too_many_reset_requests_say_how_long_to_wait(console: Console, server: Server) -> None:
    for _ in range(5):  # the limit of one address an hour
        answer = requests.post(
            server.url("/password-reset"), json={"email": "often@example.com"}, timeout=10
        )
        assert answer.status_code == 202, answer.text
    console.expect_statuses(429)
    console.open("/console/forgot")
    console.field("Email").fill("often@example.com")
    console.button("Send the link").click()
    alert = console.page.get_by_role("alert")
    expect(alert).to_contain_text(
        re.compile(r"Too many reset requests for now\. Try again in \d+ (second|seconds)\.")
    )
    expect(console.button("Send the link")).to_have_attribute("aria-disabled", "true")
    console.accessible()


def test_a_reset_link_keeps_its_token_out_of_the_address_bar_and_a_bad_one_is_said(
    console: Console,
) -> None:
    console.expect_statuses(422)
    console.open("/console/reset#token=not-a-token-we-sent")
    expect(console.heading()).to_have_text("Choose a new password")
    assert console.page.url.endswith("/console/reset"), console.page.url
    console.accessible()
    new = console.field("New password")
    new.fill(NEW_PASSWORD)
    expect(new).to_have_attribute("type", "password")
    console.page.get_by_role("checkbox", name="Show passwords").check()
    expect(new).to_have_attribute("type", "text")
    console.button("Set the new password").click()
    expect(console.heading()).to_have_text("This link does not work")
    expect(console.heading()).to_be_focused()
    expect(console.page.get_by_role("alert")).to_contain_text("invalid, used or expired")
    assert console.page.evaluate("sessionStorage.length") == 0
    console.accessible()
    console.link("Ask for a new link").click()
    expect(console.heading()).to_have_text("Forgot your password?")


def test_the_reset_page_without_a_link_points_to_asking_for_one(console: Console) -> None:
    console.open("/console/reset")
    expect(console.link("Ask for a reset link")).to_be_visible()
    console.accessible()


def test_a_verification_link_asks_to_sign_in_first_and_comes_back(
    console: Console, server: Server
) -> None:
    server.register("verifier")
    console.expect_statuses(422)
    console.open("/console/verify#token=not-a-token-we-sent")
    expect(console.heading()).to_have_text("Verify your email address")
    assert console.page.url.endswith("/console/verify"), console.page.url
    console.accessible()
    console.link("Sign in to verify").click()
    console.field("Username").fill("verifier")
    console.field("Password").fill(PASSWORD)
    console.button("Sign in").click()
    expect(console.heading()).to_have_text("This link does not work")
    assert console.page.url.endswith("/console/verify"), console.page.url
    expect(console.page.get_by_role("alert")).to_contain_text("invalid, used or expired")
    assert console.page.evaluate("sessionStorage.length") == 0
    console.accessible()


def test_changing_the_password_ends_the_other_sessions_but_not_this_one(
    console: Console, server: Server
) -> None:
    console.register("changer")
    elsewhere = server.token("changer")
    console.expect_statuses(422)
    console.nav_link("Account").click()
    expect(console.heading()).to_have_text("Account")
    form = console.page.get_by_role("form", name="Change password")
    current = form.get_by_role("textbox", name="Current password")
    current.fill("not the password")
    form.get_by_role("textbox", name="New password").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Change password").click()
    expect(current).to_have_attribute("aria-invalid", "true")
    expect(current).to_have_accessible_description("Current password: is wrong")
    expect(current).to_be_focused()
    console.accessible()
    current.fill(PASSWORD)
    form.get_by_role("textbox", name="New password").fill(NEW_PASSWORD)
    form.get_by_role("button", name="Change password").click()
    expect(form.get_by_role("status")).to_have_text(
        "Your password is changed. Every other session of your account was signed out; "
        "this one goes on."
    )
    expect(current).to_have_value("")
    console.accessible()

    def login(password: str) -> int:
        answer = requests.post(
            server.url("/login"), json={"username": "changer", "password": password}, timeout=10
        )
        return answer.status_code

    assert login(PASSWORD) == 401
    assert login(NEW_PASSWORD) == 200
    other = requests.get(
        server.url("/user/me"), headers={"Authorization": f"Bearer {elsewhere}"}, timeout=10
    )
    assert other.status_code == 401
    console.reload()  # the console's own session renews from its cookie as before
    expect(console.heading()).to_have_text("Account")
    expect(console.page.get_by_text("Signed in as changer", exact=True)).to_be_visible()


def test_a_changed_email_is_unverified_until_its_link_is_used(
    console: Console, server: Server
) -> None:
    requests.post(
        server.url("/register"),
        json={"username": "holder", "password": PASSWORD, "email": "held@example.com"},
        timeout=10,
    ).raise_for_status()
    console.register("mover")
    console.expect_statuses(409)
    console.open("/console/account")
    form = console.page.get_by_role("form", name="Change email")
    email = form.get_by_role("textbox", name="Email address")
    email.fill("held@example.com")
    form.get_by_role("button", name="Change email").click()
    expect(email).to_have_accessible_description(
        re.compile("Email: This email address is already registered.$")
    )
    email.fill("mover@example.com")
    form.get_by_role("button", name="Change email").click()
    expect(console.page.get_by_text("Your email address is now mover@example.com.")).to_be_visible()
    expect(console.page.get_by_text("mover@example.com (not verified yet)")).to_be_visible()
    notice = console.page.get_by_text("Your address mover@example.com is not verified yet")
    expect(notice).to_be_visible()
    console.accessible()
    console.button("Send the link again").click()
    again = console.page.get_by_role("status").filter(has_text="A new link is on its way")
    expect(again).to_be_visible()
    me = server.call("GET", "/user/me", server.token("mover"))
    assert (me["email"], me["email_verified"]) == ("mover@example.com", False)
    expect(
        console.page.get_by_role("form", name="Change email").get_by_role(
            "textbox", name="New email address"
        )
    ).to_be_visible()


@contextmanager
def worker(server: Server, mail: MailServer) -> Iterator[None]:
    """`storekeeper worker` on the server's database and instance, sending to `mail`."""
    env = {**server.env, "STOREKEEPER_PUBLIC_URL": server.base, "STOREKEEPER_SMTP_URL": mail.url}
    with (server.instance / "worker.log").open("ab") as log:
        process = subprocess.Popen(
            [str(BIN / "storekeeper"), "worker"], env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        yield
    finally:
        process.terminate()  # SIGTERM: it stops once the jobs it runs finish
        process.wait(timeout=60)


def link_in_mail(mail: MailServer, to: str, prefix: str) -> str:
    """The link starting with `prefix` of the first mail to `to` that has one, once it came.

    The worker also sends what the module's earlier tests queued: those mails are passed over.
    """
    while True:
        received = mail.received
        for one in received:
            if to in one.rcpt_tos and prefix in one.text:
                return one.link(prefix)
        mail.wait_for(len(received) + 1, timeout_s=30)


def test_the_emailed_links_verify_the_address_and_reset_the_password(
    new_console: Callable[..., Console], server: Server
) -> None:
    with MailServer() as mail, worker(server, mail):
        requests.post(
            server.url("/register"),
            json={"username": "mailed", "password": PASSWORD, "email": "mailed@example.com"},
            timeout=10,
        ).raise_for_status()
        verify = link_in_mail(mail, "mailed@example.com", server.url("/console/verify#token="))
        console = new_console()
        console.open(verify.removeprefix(server.base))
        assert console.page.url == server.url("/console/verify")
        console.link("Sign in to verify").click()
        console.field("Username").fill("mailed")
        console.field("Password").fill(PASSWORD)
        console.button("Sign in").click()
        expect(console.heading()).to_have_text("Email address verified")
        expect(
            console.page.get_by_text("Your address mailed@example.com is verified.")
        ).to_be_visible()
        console.accessible()
        console.button("Sign out").click()
        expect(console.heading()).to_have_text("Sign in")

        console.link("Forgot your password?").click()
        console.field("Email").fill("mailed@example.com")
        console.button("Send the link").click()
        expect(console.page.get_by_role("status").filter(has_text=NEUTRAL)).to_be_visible()
        reset = link_in_mail(mail, "mailed@example.com", server.url("/console/reset#token="))
        console.open(reset.removeprefix(server.base))
        assert console.page.url == server.url("/console/reset")
        console.field("New password").fill(NEW_PASSWORD)
        console.button("Set the new password").click()
        expect(console.heading()).to_have_text("Your password is reset")
        console.accessible()
        console.page.get_by_role("main").get_by_role("link", name="Sign in").click()
        console.field("Username").fill("mailed")
        console.field("Password").fill(NEW_PASSWORD)
        console.button("Sign in").click()
        expect(console.page.get_by_text("Signed in as mailed", exact=True)).to_be_visible()
        old = requests.post(
            server.url("/login"), json={"username": "mailed", "password": PASSWORD}, timeout=10
        )
        assert old.status_code == 401
