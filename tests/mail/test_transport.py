"""Sending for real: SmtpMailer against a real SMTP server, FileMailer into a real folder."""

from __future__ import annotations

import logging
import socket
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import pytest

from deploy.processes import free_port
from storekeeper.mail import (
    FileMailer,
    MailDeliveryError,
    MailSettings,
    SmtpMailer,
    compose,
    mailer_for,
    parse_smtp_url,
)
from storekeeper.mail.transport import seven_bit
from tests.mailserver import Certificate, MailServer

SENDER = "Storekeeper <no-reply@shop.example>"
RESET_URL = "http://127.0.0.1:8000/console/reset#token=eyJ0.eyJ1c2VyIjo0Mn0.c2ln"
USER, PASSWORD = "mailer", "p@ss:w/rd#1"


def reset_mail(to: str = "ann@example.org") -> EmailMessage:
    """A password reset email, the kind whose link matters most."""
    return compose("password_reset", to, {"username": "ann", "reset_url": RESET_URL}, SENDER)


def mailer(server: MailServer, certificate: Certificate | None = None) -> SmtpMailer:
    """An SmtpMailer for the test server, trusting its certificate."""
    context = certificate.client_context() if certificate else None
    return SmtpMailer(parse_smtp_url(server.url), timeout_s=5, ssl_context=context)


class Records(logging.Handler):
    """Keeps what it is handed."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def mail_log() -> Iterator[list[logging.LogRecord]]:
    """The records the storekeeper.mail logger emits meanwhile, at INFO and above."""
    handler = Records()
    logger = logging.getLogger("storekeeper.mail")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield handler.records
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def test_plain_smtp_delivers_text_and_html(mail_server: MailServer) -> None:
    message = reset_mail()
    assert mailer(mail_server).send(message) == mail_server.url
    [mail] = mail_server.wait_for(1)
    assert mail.mail_from == "no-reply@shop.example"
    assert mail.rcpt_tos == ("ann@example.org",)
    assert not mail.tls and mail.login is None
    assert mail.message["Message-ID"] == message["Message-ID"]
    assert mail.link("http://127.0.0.1:8000/console/reset#") == RESET_URL
    assert f'href="{RESET_URL}"' in mail.html


def test_starttls_and_auth(certificate: Certificate) -> None:
    with MailServer(
        tls="starttls", certificate=certificate, credentials=(USER, PASSWORD)
    ) as server:
        mailer(server, certificate).send(reset_mail())
        [mail] = server.wait_for(1)
    assert mail.tls and mail.login == USER
    assert mail.link("http://127.0.0.1:8000/console/reset#") == RESET_URL


def test_smtps_with_auth(certificate: Certificate) -> None:
    with MailServer(
        tls="implicit", certificate=certificate, credentials=(USER, PASSWORD)
    ) as server:
        assert server.url.startswith("smtps://")
        mailer(server, certificate).send(reset_mail())
        [mail] = server.wait_for(1)
    assert mail.tls and mail.login == USER


def test_a_wrong_password_is_a_clear_error_without_the_password(certificate: Certificate) -> None:
    wrong = "Wr0ng-secret-!"
    with MailServer(
        tls="starttls", certificate=certificate, credentials=(USER, PASSWORD)
    ) as server:
        target = parse_smtp_url(f"smtp://{USER}:{wrong}@{server.host}:{server.port}")
        sender = SmtpMailer(target, timeout_s=5, ssl_context=certificate.client_context())
        with pytest.raises(MailDeliveryError, match="refused the login") as caught:
            sender.send(reset_mail())
        assert server.received == []
    text = str(caught.value)
    assert f"smtp://{USER}@127.0.0.1:{server.port}" in text
    assert wrong not in text and "535" in text
    assert caught.value.__cause__ is None and caught.value.__suppress_context__


def test_an_untrusted_certificate_is_refused(certificate: Certificate) -> None:
    # No test context: the system's trust store does not know the self-signed certificate.
    with MailServer(tls="starttls", certificate=certificate) as server:
        with pytest.raises(MailDeliveryError, match="CERTIFICATE_VERIFY_FAILED"):
            SmtpMailer(parse_smtp_url(server.url), timeout_s=5).send(reset_mail())
        assert server.received == []


def test_the_password_is_never_sent_unencrypted(mail_server: MailServer) -> None:
    target = parse_smtp_url(f"smtp://{USER}:secret@{mail_server.host}:{mail_server.port}")
    with pytest.raises(MailDeliveryError, match="never sent unencrypted") as caught:
        SmtpMailer(target, timeout_s=5).send(reset_mail())
    assert "secret" not in str(caught.value)
    assert mail_server.received == []


def test_a_server_that_went_away_fails_the_send_and_takes_mail_again_when_back() -> None:
    server = MailServer().start()
    try:
        sender = mailer(server)
        server.stop()
        with pytest.raises(MailDeliveryError, match="ConnectionRefusedError") as caught:
            sender.send(reset_mail("first@example.org"))
        assert not caught.value.permanent
        server.start()  # the same port: the URL the app holds still works
        sender.send(reset_mail("second@example.org"))
        [mail] = server.wait_for(1)
        assert mail.rcpt_tos == ("second@example.org",)
    finally:
        server.stop()


def test_a_silent_server_times_out() -> None:
    # Listening, never accepting: the connection is made, and the greeting never comes.
    with socket.create_server(("127.0.0.1", free_port())) as silent:
        port = silent.getsockname()[1]
        sender = SmtpMailer(parse_smtp_url(f"smtp://127.0.0.1:{port}"), timeout_s=0.5)
        started = time.monotonic()
        with pytest.raises(MailDeliveryError, match="timed out"):
            sender.send(reset_mail())
    assert time.monotonic() - started < 5


def test_seven_bit_keeps_headers_and_bodies() -> None:
    message = reset_mail()
    copy = seven_bit(message)
    for name in ("Subject", "From", "To", "Date", "Message-ID"):
        assert copy[name] == message[name]
    raw = copy.as_bytes(policy=policy.SMTP)
    assert raw.isascii() and b"8bit" not in raw
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    for subtype in ("plain", "html"):
        original, converted = message.get_body((subtype,)), parsed.get_body((subtype,))
        assert original is not None and converted is not None
        assert converted["Content-Transfer-Encoding"] == "quoted-printable"
        assert converted.get_content().replace("\r\n", "\n") == original.get_content()


def test_the_file_mailer_writes_a_parseable_eml_and_logs_only_its_path(tmp_path: Path) -> None:
    folder = tmp_path / "instance" / "mail"
    message = reset_mail()
    with mail_log() as records:
        where = FileMailer(folder).send(message)
    path = Path(where)
    assert path.parent == folder and path.suffix == ".eml"
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == [path.name]  # no temporary file left
    raw = path.read_bytes()
    assert b"\r\n" in raw and RESET_URL.encode() in raw
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    assert parsed["Message-ID"] == message["Message-ID"]
    text = parsed.get_body(("plain",))
    assert text is not None and RESET_URL in text.get_content()
    [record] = records
    assert record.levelno == logging.INFO and str(path) in record.getMessage()
    assert "token" not in record.getMessage()


def test_the_file_mailer_names_each_mail_uniquely(tmp_path: Path) -> None:
    sender = FileMailer(tmp_path)
    paths = {sender.send(reset_mail()) for _ in range(20)}
    assert len(paths) == 20
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(Path(p).name for p in paths)


def test_the_file_mailer_reports_a_folder_it_cannot_write(tmp_path: Path) -> None:
    (tmp_path / "mail").write_text("a file where the folder should be")
    with pytest.raises(MailDeliveryError, match="writing mail"):
        FileMailer(tmp_path / "mail" / "inner").send(reset_mail())


def test_mailer_for_picks_smtp_when_a_url_is_set(tmp_path: Path) -> None:
    files = mailer_for(MailSettings(None, SENDER, tmp_path / "mail"))
    assert isinstance(files, FileMailer) and files.mail_dir == tmp_path / "mail"
    smtp = mailer_for(MailSettings("smtps://u:secret@mail.example.com", SENDER, tmp_path, 3.0))
    assert isinstance(smtp, SmtpMailer)
    assert smtp.timeout_s == 3.0 and smtp.target.implicit_tls
    assert "secret" not in repr(smtp)
