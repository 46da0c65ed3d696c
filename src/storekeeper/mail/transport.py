"""Sending a composed email: through an SMTP server, or into a folder of .eml files."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import smtplib
import ssl
from datetime import UTC, datetime
from email import policy
from email.message import EmailMessage
from pathlib import Path
from typing import Protocol

from storekeeper.mail.settings import MailSettings, SmtpTarget, parse_smtp_url

log = logging.getLogger("storekeeper.mail")


class MailDeliveryError(Exception):
    """An email that did not reach the SMTP server; its text never holds the password.

    `permanent` is True when the server refused the message or a recipient for good (a 5xx
    answer to MAIL, RCPT or DATA): sending it again will not help.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class Mailer(Protocol):
    """Something that sends an email and says where it went (a file's path), or None."""

    def send(self, message: EmailMessage) -> str | None:
        """Send one email; MailDeliveryError when it cannot."""
        ...


class SmtpMailer:
    """Sends through an SMTP server: TLS (implicit, or STARTTLS when offered), then AUTH."""

    def __init__(
        self,
        target: SmtpTarget,
        *,
        timeout_s: float = 15.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.target = target
        self.timeout_s = timeout_s
        # Tests pass a context that trusts their self-signed certificate; everyone else gets
        # the system's trust store and hostname checks.
        self.ssl_context = ssl_context or ssl.create_default_context()

    def __repr__(self) -> str:
        return f"SmtpMailer({self.target})"

    def send(self, message: EmailMessage) -> str:
        """Deliver one email to the server, which then relays it; the server's address."""
        try:
            self._send(message)
        except MailDeliveryError:
            raise
        except smtplib.SMTPAuthenticationError as exc:
            raise self._error(f"the server refused the login ({_answer(exc)})") from None
        except smtplib.SMTPRecipientsRefused as exc:
            answers = "; ".join(_reply(code, text) for code, text in exc.recipients.values())
            permanent = all(code >= 500 for code, _ in exc.recipients.values())
            raise self._error(f"the server refused the recipient ({answers})", permanent) from None
        except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
            what = "sender" if isinstance(exc, smtplib.SMTPSenderRefused) else "message"
            raise self._error(
                f"the server refused the {what} ({_answer(exc)})", exc.smtp_code >= 500
            ) from None
        except smtplib.SMTPResponseException as exc:
            raise self._error(f"the server answered {_answer(exc)}") from None
        except (smtplib.SMTPException, OSError) as exc:
            # Connection refused, timeouts, TLS failures (ssl.SSLError is an OSError), a
            # server hanging up: all worth another try later.
            raise self._error(f"{type(exc).__name__}: {exc}") from None
        return str(self.target)

    def _send(self, message: EmailMessage) -> None:
        """One SMTP session: connect, EHLO, TLS, AUTH, MAIL/RCPT/DATA, QUIT."""
        target = self.target
        client: smtplib.SMTP
        if target.implicit_tls:
            client = smtplib.SMTP_SSL(
                target.host, target.port, timeout=self.timeout_s, context=self.ssl_context
            )
        else:
            # The timeout is the socket's: it bounds the connect and every command after it.
            client = smtplib.SMTP(target.host, target.port, timeout=self.timeout_s)
        with client:
            client.ehlo()
            encrypted = target.implicit_tls
            if not encrypted and client.has_extn("starttls"):
                client.starttls(context=self.ssl_context)
                client.ehlo()
                encrypted = True
            if target.username is not None:
                if not encrypted:
                    raise self._error(
                        "the server offers no STARTTLS, and the password is never sent "
                        "unencrypted (use smtps://, or a server that offers STARTTLS)"
                    )
                client.login(target.username, target.password or "")
            options: list[str] = []
            if client.has_extn("8bitmime"):
                options.append("BODY=8BITMIME")
            else:
                message = seven_bit(message)
            refused = client.send_message(message, mail_options=options)
            if refused:
                answers = "; ".join(_reply(code, text) for code, text in refused.values())
                raise self._error(f"the server refused a recipient ({answers})", permanent=True)

    def _error(self, reason: str, permanent: bool = False) -> MailDeliveryError:
        """The error for a failed send, naming the server without the password."""
        text = f"sending mail through {self.target} failed: {reason}"
        # A server could echo what it was sent; the password stays out all the same.
        if self.target.password:
            text = text.replace(self.target.password, "***")
        return MailDeliveryError(text, permanent=permanent)


def seven_bit(message: EmailMessage) -> EmailMessage:
    """A copy of a composed email whose 8bit parts are quoted-printable, for old servers."""
    copy = EmailMessage()
    for name, value in message.items():
        if name.lower() not in ("content-type", "content-transfer-encoding", "mime-version"):
            copy[name] = value
    text_part, html_part = message.iter_parts()
    copy.set_content(text_part.get_content(), cte="quoted-printable")
    copy.add_alternative(html_part.get_content(), subtype="html", cte="quoted-printable")
    return copy


class FileMailer:
    """Writes each email as an .eml file into a folder (development: no SMTP server needed)."""

    def __init__(self, mail_dir: Path) -> None:
        self.mail_dir = mail_dir

    def __repr__(self) -> str:
        return f"FileMailer({str(self.mail_dir)!r})"

    def send(self, message: EmailMessage) -> str:
        """Write the email; its path, also logged (the link is in the file, never in the log)."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        name = f"{stamp}-{secrets.token_hex(4)}.eml"
        final = self.mail_dir / name
        # A reader polling the folder never sees half a file: the name appears only once the
        # bytes are all there. Mode 0600, since a reset link in it is as good as a password.
        temporary = self.mail_dir / f".{name}.tmp"
        data = message.as_bytes(policy=policy.SMTP)
        try:
            self.mail_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as file:
                file.write(data)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, final)
        except OSError as exc:
            with contextlib.suppress(OSError):
                temporary.unlink()
            raise MailDeliveryError(
                f"writing mail into {self.mail_dir} failed: {exc.strerror}"
            ) from exc
        log.info("mail written to %s", final, extra={"fields": {"path": str(final)}})
        return str(final)


def mailer_for(settings: MailSettings, *, ssl_context: ssl.SSLContext | None = None) -> Mailer:
    """The mailer the settings name: SMTP when a URL is set, else files in the mail folder."""
    if settings.smtp_url is None:
        return FileMailer(settings.mail_dir)
    return SmtpMailer(
        parse_smtp_url(settings.smtp_url), timeout_s=settings.timeout_s, ssl_context=ssl_context
    )


def _answer(exc: smtplib.SMTPResponseException) -> str:
    """A server's answer as "550 text"."""
    return _reply(exc.smtp_code, exc.smtp_error)


def _reply(code: int, text: bytes | str) -> str:
    """One SMTP reply as "550 text"."""
    decoded = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {decoded}"
