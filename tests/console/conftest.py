"""Fixtures of the browser tests: one server and one Chromium per module, a context per test.

A module sets `SERVER_SETTINGS` (STOREKEEPER_* variables) for its server; each module runs on
one xdist worker (its `xdist_group`), so its server and browser start once.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, sync_playwright

from tests.console.harness import CHROMIUM, DESKTOP, GENEROUS_LOGINS, Console, Server, launch, live


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if shutil.which(CHROMIUM) is None and not os.environ.get("CI"):
        skip = pytest.mark.skip(reason=f"{CHROMIUM} is missing: `make browser` installs it")
        for item in items:
            if "tests/console/" in str(item.path.as_posix()):
                item.add_marker(skip)


@pytest.fixture(scope="module")
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """The module's live server."""
    settings = {**GENEROUS_LOGINS, **getattr(request.module, "SERVER_SETTINGS", {})}
    with live(**settings) as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """The module's Chromium."""
    with sync_playwright() as playwright:
        chromium = launch(playwright)
        yield chromium
        chromium.close()


@pytest.fixture
def new_console(browser: Browser, server: Server) -> Iterator[Callable[..., Console]]:
    """Open fresh browser contexts on the console; each is checked for problems at the end."""
    opened: list[Console] = []

    def make(viewport: dict[str, int] = DESKTOP) -> Console:
        console = Console(browser.new_context(viewport=viewport), server)  # type: ignore[arg-type]
        opened.append(console)
        return console

    yield make
    problems = [p for console in opened for p in console.close()]
    assert not problems, "\n".join(problems)


@pytest.fixture
def console(new_console: Callable[..., Console]) -> Console:
    """A fresh browser context on the console."""
    return new_console()


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where screenshots go: CONSOLE_SCREENSHOTS (make screenshots), else the test's tmp dir."""
    target = os.environ.get("CONSOLE_SCREENSHOTS")
    path = Path(target) if target else tmp_path
    path.mkdir(parents=True, exist_ok=True)
    return path
