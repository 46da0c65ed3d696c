"""A real SMTP server for tests: aiosmtpd on a loopback port, in a thread, recording every mail.

    with MailServer() as server:                    # plain SMTP on a free port
        ...  # point the code under test at server.url (or server.host, server.port)
        [mail] = server.wait_for(1)
        mail.link("http://127.0.0.1:8000/console/reset#token=")

TLS needs a certificate: `make_certificate(folder)` writes a self-signed one for 127.0.0.1 and
localhost (openssl), and `certificate.client_context()` trusts it. Then
`MailServer(tls="starttls", certificate=..., credentials=("user", "password"))` requires
STARTTLS before AUTH and AUTH before mail; `tls="implicit"` is smtps. `stop()` and `start()`
again keep the port and the mail received, so a test can take the server away and bring it
back. Whatever runs the client (this process or a server the test started) needs only the
address; the mail is recorded here.
"""

from __future__ import annotations

import re
import ssl
import subprocess
import threading
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import quote

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from deploy.processes import free_port

Tls = Literal["none", "starttls", "implicit"]
HOST = "127.0.0.1"


@dataclass(frozen=True)
class Certificate:
    """A self-signed certificate and its key, as PEM files."""

    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        """What the server presents."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context

    def client_context(self) -> ssl.SSLContext:
        """A client's context that trusts this certificate (hostname checks stay on)."""
        return ssl.create_default_context(cafile=str(self.cert))


def make_certificate(folder: Path) -> Certificate:
    """A certificate for 127.0.0.1 and localhost, valid for a day, written into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-nodes", "-days", "1", "-subj", "/CN=localhost"),
            *("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"),
            *("-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return Certificate(cert, key)


@dataclass(frozen=True)
class Received:
    """One mail the server accepted: its envelope, the parsed message and how it came."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes
    message: EmailMessage
    tls: bool
    login: str | None

    def body(self, subtype: str = "plain") -> str:
        """The decoded text/plain (or text/html) part."""
        part = self.message.get_body(preferencelist=(subtype,))
        assert part is not None and part.get_content_subtype() == subtype, self.message
        content = part.get_content()
        assert isinstance(content, str)
        # SMTP's CRLF line ends, as Python strings have them.
        return content.replace("\r\n", "\n")

    @property
    def text(self) -> str:
        """The decoded text/plain part."""
        return self.body("plain")

    @property
    def html(self) -> str:
        """The decoded text/html part."""
        return self.body("html")

    def link(self, prefix: str) -> str:
        """The one URL in the text part that starts with `prefix` (e.g. a reset link's)."""
        words: list[str] = re.findall(r"\S+", self.text)
        found = {word for word in words if word.startswith(prefix)}
        assert len(found) == 1, f"{len(found)} links starting {prefix!r} in:\n{self.text}"
        return found.pop()


class _Recorder:
    """aiosmtpd's handler: keeps every accepted mail and wakes whoever waits for it."""

    def __init__(self, require_auth: bool) -> None:
        self.require_auth = require_auth
        self.received: list[Received] = []
        self.changed = threading.Condition()

    async def handle_MAIL(  # noqa: N802 (aiosmtpd's hook names)
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        # aiosmtpd's own auth_required warns (an error under pytest) unless it also requires
        # STARTTLS, which it cannot see under implicit TLS: checked here instead.
        if self.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_DATA(  # noqa: N802
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        message = BytesParser(policy=policy.default).parsebytes(raw)
        assert isinstance(message, EmailMessage)
        auth = session.auth_data
        mail = Received(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            raw=raw,
            message=message,
            # STARTTLS sets session.ssl; implicit TLS (smtps) shows only on the transport.
            tls=session.ssl is not None or _over_tls(server),
            login=auth.login.decode() if isinstance(auth, LoginPassword) else None,
        )
        with self.changed:
            self.received.append(mail)
            self.changed.notify_all()
        return "250 Message accepted for delivery"


def _over_tls(server: SMTP) -> bool:
    """Whether a session's connection is TLS from its first byte (smtps)."""
    return server.transport is not None and bool(server.transport.get_extra_info("ssl_object"))


class MailServer:
    """An SMTP server on 127.0.0.1 that records what it receives; a context manager."""

    def __init__(
        self,
        *,
        port: int | None = None,
        tls: Tls = "none",
        certificate: Certificate | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        if tls != "none" and certificate is None:
            raise ValueError("TLS needs a certificate (make_certificate)")
        self.host = HOST
        self.port = port or free_port()
        self.tls: Tls = tls
        self.certificate = certificate
        self.credentials = credentials
        self._recorder = _Recorder(require_auth=credentials is not None)
        self._controller: Controller | None = None

    @property
    def url(self) -> str:
        """The STOREKEEPER_SMTP_URL that reaches this server, with its credentials."""
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        user = ""
        if self.credentials:
            name, password = self.credentials
            user = f"{quote(name, safe='')}:{quote(password, safe='')}@"
        return f"{scheme}://{user}{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        """Whether the server is accepting connections."""
        return self._controller is not None

    def start(self) -> MailServer:
        """Listen on the port (the same one after a stop)."""
        assert self._controller is None, "already running"
        options: dict[str, Any] = {}
        server_context = self.certificate.server_context() if self.certificate else None
        if self.tls == "starttls":
            options |= {"tls_context": server_context, "require_starttls": True}
        if self.credentials is not None:
            options |= {
                "authenticator": self._authenticate,
                # After STARTTLS only; aiosmtpd cannot see implicit TLS, where every byte is
                # encrypted anyway, and would hide AUTH there.
                "auth_require_tls": self.tls == "starttls",
            }
        controller = Controller(
            self._recorder,
            hostname=self.host,
            port=self.port,
            ssl_context=server_context if self.tls == "implicit" else None,
            ready_timeout=10,
            **options,
        )
        controller.start()
        self._controller = controller
        return self

    def stop(self) -> None:
        """Stop listening; what was received stays."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> MailServer:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def received(self) -> list[Received]:
        """Every mail accepted so far, oldest first."""
        with self._recorder.changed:
            return list(self._recorder.received)

    def clear(self) -> None:
        """Forget what was received."""
        with self._recorder.changed:
            self._recorder.received.clear()

    def wait_for(self, count: int, timeout_s: float = 10.0) -> list[Received]:
        """The first `count` mails, once that many arrived; AssertionError at the deadline."""
        deadline = time.monotonic() + timeout_s
        recorder = self._recorder
        with recorder.changed:
            arrived = recorder.changed.wait_for(
                lambda: len(recorder.received) >= count, max(0.0, deadline - time.monotonic())
            )
            received = list(recorder.received)
        assert arrived, f"{len(received)} of {count} mails arrived within {timeout_s} s"
        return received[:count]

    def _authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        """aiosmtpd's authenticator: the one user and password this server knows."""
        assert self.credentials is not None
        name, password = self.credentials
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == name.encode()
            and auth_data.password == password.encode()
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)
