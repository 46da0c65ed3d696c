"""The test SMTP server itself (tests/mailserver.py): what other tests rely on it for."""

from __future__ import annotations

import smtplib
import time

import pytest

from tests.mailserver import Certificate, MailServer

MESSAGE = b"From: a@example.org\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nhello\r\n"


def test_a_server_with_credentials_takes_no_mail_without_them(certificate: Certificate) -> None:
    with MailServer(tls="implicit", certificate=certificate, credentials=("u", "p")) as server:
        with (
            smtplib.SMTP_SSL(
                server.host, server.port, timeout=5, context=certificate.client_context()
            ) as client,
            pytest.raises(smtplib.SMTPSenderRefused, match="Authentication required"),
        ):
            client.sendmail("a@example.org", ["b@example.org"], MESSAGE)
        assert server.received == []


def test_waiting_gives_up_at_the_deadline_with_what_arrived(mail_server: MailServer) -> None:
    with smtplib.SMTP(mail_server.host, mail_server.port, timeout=5) as client:
        client.sendmail("a@example.org", ["b@example.org"], MESSAGE)
    started = time.monotonic()
    with pytest.raises(AssertionError, match="1 of 2 mails arrived"):
        mail_server.wait_for(2, timeout_s=0.3)
    assert time.monotonic() - started < 3
    [mail] = mail_server.wait_for(1)
    assert mail.text == "hello\n" and mail.message["Subject"] == "hi"


def test_mail_received_survives_a_restart_on_the_same_port(mail_server: MailServer) -> None:
    port = mail_server.port
    with smtplib.SMTP(mail_server.host, port, timeout=5) as client:
        client.sendmail("a@example.org", ["b@example.org"], MESSAGE)
    mail_server.stop()
    assert not mail_server.running
    with pytest.raises(ConnectionRefusedError):
        smtplib.SMTP(mail_server.host, port, timeout=5)
    mail_server.start()
    with smtplib.SMTP(mail_server.host, port, timeout=5) as client:
        client.sendmail("a@example.org", ["c@example.org"], MESSAGE)
    assert [m.rcpt_tos for m in mail_server.wait_for(2)] == [("b@example.org",), ("c@example.org",)]
    mail_server.clear()
    assert mail_server.received == []
