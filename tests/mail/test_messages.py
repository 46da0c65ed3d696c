"""Every account email renders its text and HTML bodies, with its link whole in both."""

from __future__ import annotations

import fnmatch
import tomllib
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser
from importlib.resources import files
from pathlib import Path

import pytest

from storekeeper.mail import KINDS, compose
from storekeeper.mail.messages import render

ROOT = Path(__file__).parents[2]
SENDER = "Storekeeper <no-reply@shop.example>"
# The shapes the app builds from STOREKEEPER_PUBLIC_URL; "&" and "<" prove the HTML escaping.
VERIFY_URL = "http://127.0.0.1:8000/console/verify#token=eyJ0.eyJ1c2VyIjo0Mn0.sig-_A&x=<1>"
RESET_URL = "http://127.0.0.1:8000/console/reset#token=eyJ0.eyJ1c2VyIjo0Mn0.sig-_B&x=<1>"
RESET_PAGE_URL = "http://127.0.0.1:8000/console/reset"
USERNAME = "<b>Ann & Bo</b>"

CONTEXTS: dict[str, dict[str, str]] = {
    "welcome": {"username": USERNAME, "verify_url": VERIFY_URL},
    "verify_email": {"username": USERNAME, "verify_url": VERIFY_URL},
    "email_changed": {"username": USERNAME, "new_email": "ann.new@example.org"},
    "password_changed": {"username": USERNAME, "reset_page_url": RESET_PAGE_URL},
    "password_reset": {"username": USERNAME, "reset_url": RESET_URL},
    "password_reset_done": {"username": USERNAME},
    "webhook_disabled": {
        "username": USERNAME,
        "store_name": "Ann's <shop>",
        "webhook_url": "https://hooks.example.org/storekeeper?a=1&b=2",
        "webhook_id": "7",
        "reason": "the receiver answered 410 Gone, which asks for no more deliveries",
    },
}
LINKS = {
    "welcome": VERIFY_URL,
    "verify_email": VERIFY_URL,
    "password_changed": RESET_PAGE_URL,
    "password_reset": RESET_URL,
}


class Anchors(HTMLParser):
    """The href of every <a> in a document, entities decoded (as a mail client reads them)."""

    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [value or "" for name, value in attrs if name == "href"]


def hrefs(html: str) -> list[str]:
    """The links of an HTML body."""
    parser = Anchors()
    parser.feed(html)
    return parser.hrefs


def parts(message: EmailMessage) -> tuple[str, str]:
    """The decoded text and HTML bodies, after a trip through bytes as a server would see."""
    parsed = BytesParser(policy=policy.default).parsebytes(message.as_bytes(policy=policy.SMTP))
    assert isinstance(parsed, EmailMessage)
    assert parsed.get_content_type() == "multipart/alternative"
    text, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert text is not None and html is not None
    return text.get_content(), html.get_content()


def test_every_kind_has_a_context_here() -> None:
    assert (
        set(CONTEXTS)
        == set(KINDS)
        == {
            "welcome",
            "verify_email",
            "email_changed",
            "password_changed",
            "password_reset",
            "password_reset_done",
            "webhook_disabled",
        }
    )


@pytest.mark.parametrize("kind", sorted(CONTEXTS))
def test_each_email_has_its_headers(kind: str) -> None:
    message = compose(kind, "ann@example.org", CONTEXTS[kind], SENDER)
    assert message["From"] == SENDER
    assert message["To"] == "ann@example.org"
    assert message["Subject"] == KINDS[kind].subject
    assert "Storekeeper" in message["Subject"]
    assert message["Message-ID"].endswith("@shop.example>")
    assert message["Date"].datetime is not None
    assert message["Auto-Submitted"] == "auto-generated"


@pytest.mark.parametrize("kind", sorted(CONTEXTS))
def test_each_email_renders_text_and_html_with_the_values_escaped_only_in_html(kind: str) -> None:
    text, html = parts(compose(kind, "ann@example.org", CONTEXTS[kind], SENDER))
    assert f"Hello {USERNAME}," in text
    assert "Hello &lt;b&gt;Ann &amp; Bo&lt;/b&gt;," in html
    assert "<b>Ann" not in html
    assert "Storekeeper" in text and "Storekeeper" in html


@pytest.mark.parametrize("kind", sorted(LINKS))
def test_the_link_is_whole_in_the_text_and_a_clickable_escaped_href_in_the_html(kind: str) -> None:
    url = LINKS[kind]
    message = compose(kind, "ann@example.org", CONTEXTS[kind], SENDER)
    text, html = parts(message)
    # On a line of its own, so a mail client's link detection takes all of it.
    assert url in text.splitlines()
    assert url in hrefs(html)
    if "&" in url:
        assert url.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;") in html
        assert url not in html
    # Whole in the raw bytes too: a developer opening the .eml file in an editor can copy it.
    assert url.encode() in message.as_bytes(policy=policy.SMTP)


def test_the_texts_say_what_each_email_is_for() -> None:
    def text_of(kind: str) -> str:
        return render(kind, CONTEXTS[kind])[0]

    assert "verify" in text_of("welcome").lower()
    assert "ann.new@example.org" in text_of("email_changed")
    assert "ann.new@example.org" in render("email_changed", CONTEXTS["email_changed"])[1]
    assert "If this was not you" in text_of("password_changed")
    assert "30 minutes" in text_of("password_reset")
    assert "did not ask" in text_of("password_reset")
    assert "every session" in text_of("password_reset_done")
    assert hrefs(render("password_reset_done", CONTEXTS["password_reset_done"])[1]) == []


def test_an_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown email 'goodbye'"):
        compose("goodbye", "ann@example.org", {"username": "ann"}, SENDER)


def test_a_missing_context_value_is_refused_not_rendered_empty() -> None:
    with pytest.raises(ValueError, match="reset_url"):
        compose("password_reset", "ann@example.org", {"username": "ann"}, SENDER)


@pytest.mark.parametrize(
    "to", ["ann@example.org, bo@example.org", "ann@example.org\r\nBcc: eve@example.org", "ann"]
)
def test_a_recipient_that_is_not_one_address_is_refused(to: str) -> None:
    with pytest.raises(ValueError, match=r"one address|linefeed"):
        compose("password_reset_done", to, {"username": "ann"}, SENDER)


def test_the_message_id_domain_can_be_named() -> None:
    message = compose(
        "password_reset_done",
        "ann@example.org",
        {"username": "ann"},
        SENDER,
        message_id_domain="mail.example.net",
    )
    assert message["Message-ID"].endswith("@mail.example.net>")


def test_the_templates_are_package_resources_and_the_wheel_packs_them() -> None:
    templates = files("storekeeper.mail") / "templates"
    for kind in KINDS:
        assert (templates / f"{kind}.txt").is_file()
        assert (templates / f"{kind}.html").is_file()
    # The wheel holds only what package-data names: every template must match a pattern.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["storekeeper"]
    names = [f"mail/templates/{entry.name}" for entry in templates.iterdir()]
    assert [n for n in names if not any(fnmatch.fnmatch(n, p) for p in patterns)] == []


def test_the_webhook_notice_names_the_store_the_url_and_why() -> None:
    text, html = parts(
        compose("webhook_disabled", "ann@example.org", CONTEXTS["webhook_disabled"], SENDER)
    )
    assert "Ann's <shop>" in text and "https://hooks.example.org/storekeeper?a=1&b=2" in text
    assert "410 Gone" in text and "PATCH /webhook/7" in text
    assert "Ann&#39;s &lt;shop&gt;" in html and "?a=1&amp;b=2" in html
