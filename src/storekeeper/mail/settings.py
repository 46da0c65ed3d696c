"""Where mail goes: the settings the app hands over and the SMTP address they name.

The SMTP URL carries a password, so nothing here ever puts it in an error, a repr or a str.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import SplitResult, unquote, urlsplit

VARIABLE = "STOREKEEPER_SMTP_URL"
DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


@dataclass(frozen=True)
class SmtpTarget:
    """An SMTP server: smtps is TLS from the first byte, smtp upgrades with STARTTLS if offered."""

    scheme: str
    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)

    @property
    def implicit_tls(self) -> bool:
        """Whether the connection is TLS from the start (smtps)."""
        return self.scheme == "smtps"

    def __str__(self) -> str:
        """The address without the password, for messages and logs."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        user = f"{self.username}@" if self.username is not None else ""
        return f"{self.scheme}://{user}{host}:{self.port}"


@dataclass(frozen=True)
class MailSettings:
    """How the app sends mail: through `smtp_url` when set, else as files in `mail_dir`."""

    smtp_url: str | None
    mail_from: str
    mail_dir: Path
    timeout_s: float = 15.0

    def __post_init__(self) -> None:
        # A wrong URL or timeout is a configuration error: found at startup, not at the
        # first registration's email.
        if self.smtp_url is not None:
            parse_smtp_url(self.smtp_url)
        if not self.timeout_s > 0:
            raise ValueError("the mail timeout must be a positive number of seconds")

    def __repr__(self) -> str:
        # The URL's password stays out: the target's str leaves it out.
        url = None if self.smtp_url is None else str(parse_smtp_url(self.smtp_url))
        return (
            f"MailSettings(smtp_url={url!r}, mail_from={self.mail_from!r}, "
            f"mail_dir={self.mail_dir!r}, timeout_s={self.timeout_s!r})"
        )


def _refuse(problem: str) -> ValueError:
    """The error for a URL that cannot be used; `problem` never quotes the URL itself."""
    return ValueError(
        f"{VARIABLE} {problem}; expected smtp://[user:password@]host[:port] or "
        "smtps://[user:password@]host[:port], with : @ / ? # % in the user or password "
        "percent-encoded"
    )


def _split(raw: str) -> SplitResult:
    """The URL's parts, or an error that quotes none of them."""
    if any(ord(c) < 0x21 or ord(c) == 0x7F for c in raw):
        raise _refuse("holds a space or a control character")
    try:
        parts = urlsplit(raw)
    except ValueError:
        raise _refuse("is not a valid URL") from None
    if parts.scheme.lower() not in DEFAULT_PORTS:
        raise _refuse("must start with smtp:// or smtps://")
    if parts.query or parts.fragment or "?" in raw or "#" in raw:
        raise _refuse("must not have a query or a fragment (? or #)")
    if parts.path not in ("", "/"):
        raise _refuse("must not have a path")
    return parts


def _port(parts: SplitResult, scheme: str) -> int:
    """The URL's port, or the scheme's default."""
    try:
        port = parts.port
    except ValueError:
        # urllib's message quotes the port text; ours does not need to.
        raise _refuse("has a port that is not a number from 1 to 65535") from None
    if port is None:
        if parts.netloc.endswith(":"):
            raise _refuse("has an empty port")
        return DEFAULT_PORTS[scheme]
    if not 1 <= port <= 65535:
        raise _refuse("has a port that is not a number from 1 to 65535")
    return port


def parse_smtp_url(raw: str) -> SmtpTarget:
    """The SMTP server a STOREKEEPER_SMTP_URL names; ValueError (never quoting it) if none."""
    parts = _split(raw)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if not host:
        raise _refuse("has no host")
    port = _port(parts, scheme)
    username = None if parts.username is None else unquote(parts.username)
    password = None if parts.password is None else unquote(parts.password)
    if username is not None and password is None:
        raise _refuse("names a user without a password")
    if not username and password is not None:
        raise _refuse("has a password without a user")
    # Percent-encoding must not smuggle a line break into the AUTH exchange or a log line.
    if any(ord(c) < 0x20 or ord(c) == 0x7F for c in (username or "") + (password or "")):
        raise _refuse("has a control character in the user or password")
    return SmtpTarget(scheme, host, port, username, password)
