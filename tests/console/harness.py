"""Real Chromium against a live `storekeeper serve`: the server, the browser and what they report.

Every page a test opens is watched for what a person would see as breakage: script errors,
console errors and warnings, requests that failed, and error answers the test did not expect.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import (
    Browser,
    BrowserContext,
    ConsoleMessage,
    Locator,
    Page,
    Playwright,
    Request,
    Response,
    expect,
)

from tests.e2e.live import BIN, server_env, server_process

# Logins from one address are limited per minute; the tests sign in more often than that.
GENEROUS_LOGINS = {"STOREKEEPER_LOGIN_RATE_LIMIT": "100000/minute"}

CHROMIUM = "/usr/bin/chromium"
# Headless and quiet: no sandbox (containers as root), no GPU, and nothing of its own on the
# network. Playwright's launch gives each browser a fresh, temporary user-data-dir.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "correct horse battery"
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 360, "height": 740}
_FAILED_LOAD = re.compile(r"^Failed to load resource: the server responded with a status of (\d+)")
_LOST = "Failed to load resource: net::"
_AXE = Axe()
_BLOCKING = ("serious", "critical")


def launch(playwright: Playwright) -> Browser:
    """Debian's Chromium (Playwright's own browser download cannot work here)."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


@dataclass
class Server:
    """A live server on SQLite (or another database), its environment and its log."""

    base: str
    env: dict[str, str]
    instance: Path

    def url(self, path: str) -> str:
        """An absolute URL on the server."""
        return self.base + path

    def register(self, username: str, password: str = PASSWORD) -> int:
        """A new account (through the API), its id."""
        answer = requests.post(
            self.url("/register"), json={"username": username, "password": password}, timeout=10
        )
        assert answer.status_code == 201, answer.text
        user_id: int = answer.json()["id"]
        return user_id

    def token(self, username: str, password: str = PASSWORD) -> str:
        """An access token of a new session."""
        answer = requests.post(
            self.url("/login"), json={"username": username, "password": password}, timeout=10
        )
        assert answer.status_code == 200, answer.text
        token: str = answer.json()["access_token"]
        return token

    def call(self, method: str, path: str, token: str | None = None, **kwargs: Any) -> Any:
        """A request through the API; the JSON answer (None for 204)."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        answer = requests.request(method, self.url(path), headers=headers, timeout=10, **kwargs)
        assert answer.status_code < 300, (method, path, answer.status_code, answer.text)
        return answer.json() if answer.content else None

    def cli(self, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        """`storekeeper ...` against this server's instance."""
        return subprocess.run(
            [str(BIN / "storekeeper"), *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )

    def log(self) -> str:
        """Everything the server wrote so far."""
        return (self.instance / "server.log").read_text()


@contextmanager
def live(**settings: str) -> Iterator[Server]:
    """`storekeeper serve` with one worker on a fresh instance (SQLite unless told otherwise)."""
    with tempfile.TemporaryDirectory() as instance:
        env = server_env(instance, **settings)
        subprocess.run([BIN / "storekeeper", "db", "upgrade"], env=env, check=True, timeout=120)
        with server_process(instance, env, workers=1) as (base, _):
            yield Server(base, env, Path(instance))


@dataclass
class Watch:
    """What one page reported; `problems()` is what a person would have seen go wrong."""

    page: Page
    allowed: set[int] = field(default_factory=set)
    expected_failures: int = 0
    messages: list[tuple[str, str, str]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    answers: list[tuple[int, str, str]] = field(default_factory=list)
    navigations: int = 0
    started: dict[Request, int] = field(default_factory=dict)
    pending: set[Request] = field(default_factory=set)
    failed_urls: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("request", self._request)
        self.page.on("requestfailed", self._failed)
        self.page.on("response", self._answer)
        self.page.on("requestfinished", lambda request: self.pending.discard(request))

    def leaving(self) -> None:
        """Before the test loads another document: let the page finish what it loads."""
        deadline = time.monotonic() + 5
        while self.pending and time.monotonic() < deadline:
            self.page.wait_for_timeout(25)
        self.navigations += 1

    def _request(self, request: Request) -> None:
        self.started[request] = self.navigations
        self.pending.add(request)

    def _console(self, message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            self.messages.append((message.type, message.text, message.location.get("url", "")))

    def _failed(self, request: Request) -> None:
        self.pending.discard(request)
        # Leaving or reloading a page cancels what it was still loading (its icon, say): no
        # person sees that as a failure. Only the tests load documents (open, reload).
        left = self.navigations > self.started.get(request, self.navigations)
        if request.failure == "net::ERR_ABORTED" and left:
            return
        self.failed.append(f"{request.method} {request.url}: {request.failure}")
        self.failed_urls.add(request.url)

    def _answer(self, response: Response) -> None:
        if response.status >= 400:
            kind = response.request.resource_type
            self.answers.append((response.status, response.url, kind))

    def problems(self) -> list[str]:
        """Everything unexpected: each is a line saying what and where."""
        found = [f"page error: {e}" for e in self.errors]
        if len(self.failed) != self.expected_failures:
            found += [f"failed request: {f}" for f in self.failed] or ["an expected failure"]
        for status, url, kind in self.answers:
            if status not in self.allowed or kind != "fetch":
                found.append(f"unexpected {status} ({kind}) from {url}")
        answered = {(status, url) for status, url, _ in self.answers}
        for kind, text, url in self.messages:
            # Chromium logs every error answer and failed request; those expected are fine.
            match = _FAILED_LOAD.match(text)
            code = int(match.group(1)) if match else None
            if code in self.allowed and (code, url) in answered:
                continue
            if self.expected_failures and text.startswith(_LOST) and url in self.failed_urls:
                continue
            found.append(f"console {kind}: {text} ({url})")
        return found


class Console:
    """One browser context on the console: its page, what the page reports, and helpers."""

    def __init__(self, context: BrowserContext, server: Server) -> None:
        self.context = context
        self.server = server
        self.page = context.new_page()
        self.watch = Watch(self.page)

    def expect_statuses(self, *statuses: int) -> None:
        """Error answers the test provokes on purpose (and the console explains)."""
        self.watch.allowed |= set(statuses)

    def open(self, path: str) -> None:
        """Load a console path afresh and wait until its view is shown."""
        self.watch.leaving()
        self.page.goto(self.server.url(path))
        self.settled()

    def reload(self) -> None:
        """Reload the page, as the browser's button does."""
        self.watch.leaving()
        self.page.reload()
        self.settled()

    def settled(self) -> None:
        """Wait until the view is shown and no request is pending."""
        expect(self.page.locator('main[aria-busy="true"]')).to_have_count(0)
        expect(self.page.get_by_role("status").filter(has_text="Loading…")).to_have_count(0)

    def heading(self) -> Locator:
        """The page's one main heading."""
        return self.page.get_by_role("heading", level=1)

    def field(self, name: str) -> Locator:
        """A text box by its label."""
        return self.page.get_by_role("textbox", name=name, exact=True)

    def button(self, name: str) -> Locator:
        """A button by its accessible name."""
        return self.page.get_by_role("button", name=name, exact=True)

    def link(self, name: str) -> Locator:
        """A link by its accessible name."""
        return self.page.get_by_role("link", name=name, exact=True)

    def nav_link(self, name: str) -> Locator:
        """A link of the console's header navigation."""
        nav = self.page.get_by_role("navigation", name="Console")
        return nav.get_by_role("link", name=name, exact=True)

    def register(self, username: str, password: str = PASSWORD) -> None:
        """Create an account through the console; it signs in on the way."""
        self.open("/console/register")
        self.field("Username").fill(username)
        self.field("Password").fill(password)
        self.button("Create account").click()
        expect(self.heading()).to_have_text("Your stores")
        self.settled()

    def sign_in(self, username: str, password: str = PASSWORD) -> None:
        """Sign in through the console's form."""
        self.open("/console/signin")
        self.field("Username").fill(username)
        self.field("Password").fill(password)
        self.button("Sign in").click()
        expect(self.page.get_by_text(f"Signed in as {username}", exact=True)).to_be_visible()
        self.settled()

    def create_store(self, name: str) -> int:
        """Create a store from the stores page; its id, from the page it opens."""
        self.open("/console/")
        self.field("Store name").fill(name)
        self.button("Create store").click()
        expect(self.heading()).to_have_text(name)
        self.settled()
        return int(self.page.url.rsplit("/", 1)[1])

    def accessible(self) -> None:
        """axe-core finds no serious or critical violation on the page as it is now."""
        results = _AXE.run(self.page)
        blocking = [
            f"{v['id']} ({v['impact']}): {v['help']} at "
            + ", ".join(str(n["target"]) for n in v["nodes"])
            for v in results.response["violations"]
            if v["impact"] in _BLOCKING
        ]
        assert not blocking, f"{self.page.url}:\n" + "\n".join(blocking)

    def close(self) -> list[str]:
        """Close the context; what went wrong on its page."""
        problems = self.watch.problems()
        self.context.close()
        return problems
