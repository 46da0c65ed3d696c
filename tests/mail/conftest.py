"""Fixtures of the mail tests: a certificate for TLS and a running test SMTP server."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.mailserver import Certificate, MailServer, make_certificate


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for 127.0.0.1, made once per run."""
    return make_certificate(tmp_path_factory.mktemp("tls"))


@pytest.fixture
def mail_server() -> Iterator[MailServer]:
    """A plain SMTP server (no TLS, no AUTH) on a free loopback port."""
    with MailServer() as server:
        yield server
