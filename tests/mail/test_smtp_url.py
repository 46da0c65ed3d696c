"""STOREKEEPER_SMTP_URL: what it accepts, what it refuses, and that its password never shows."""

from __future__ import annotations

from pathlib import Path

import pytest

from storekeeper.mail import MailSettings, SmtpTarget, parse_smtp_url

SECRET = "s3cr3t-Pa55"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example.com", SmtpTarget("smtp", "mail.example.com", 25)),
        ("smtp://mail.example.com/", SmtpTarget("smtp", "mail.example.com", 25)),
        ("smtp://mail.example.com:587", SmtpTarget("smtp", "mail.example.com", 587)),
        ("smtps://mail.example.com", SmtpTarget("smtps", "mail.example.com", 465)),
        ("SMTPS://Mail.Example.com:2465", SmtpTarget("smtps", "mail.example.com", 2465)),
        ("smtp://127.0.0.1:1025", SmtpTarget("smtp", "127.0.0.1", 1025)),
        ("smtp://[::1]:1025", SmtpTarget("smtp", "::1", 1025)),
        (
            "smtp://ann:pw@mail.example.com:587",
            SmtpTarget("smtp", "mail.example.com", 587, "ann", "pw"),
        ),
        (
            # Percent-decoded: a user with @ and a password with : @ / ? # % and a space.
            "smtps://ann%40shop.example:p%3A%40%2F%3F%23%25%20w@mail.example.com",
            SmtpTarget("smtps", "mail.example.com", 465, "ann@shop.example", "p:@/?#% w"),
        ),
    ],
)
def test_accepted(url: str, expected: SmtpTarget) -> None:
    target = parse_smtp_url(url)
    assert target == expected
    assert target.implicit_tls is (expected.scheme == "smtps")


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        (f"http://ann:{SECRET}@mail.example.com", "smtp:// or smtps://"),
        (f"ann:{SECRET}@mail.example.com", "smtp:// or smtps://"),
        (f"mail.example.com:{SECRET}", "smtp:// or smtps://"),
        ("", "smtp:// or smtps://"),
        (f"smtp://ann:{SECRET}@", "no host"),
        (f"smtp://ann:{SECRET}@:25", "no host"),
        (f"smtp://ann:{SECRET}@mail.example.com:0", "port"),
        (f"smtp://ann:{SECRET}@mail.example.com:65536", "port"),
        (f"smtp://ann:{SECRET}@mail.example.com:25x", "port"),
        (f"smtp://ann:{SECRET}@mail.example.com:", "empty port"),
        (f"smtp://ann:{SECRET}@mail.example.com?tls=1", "query or a fragment"),
        (f"smtp://ann:{SECRET}@mail.example.com#x", "query or a fragment"),
        # An unencoded # in the password ends the authority: refused, and not quoted.
        (f"smtp://ann:{SECRET}#x@mail.example.com", "query or a fragment"),
        (f"smtp://ann:{SECRET}@mail.example.com/relay", "path"),
        (f"smtp://ann:{SECRET}@[::1", "not a valid URL"),
        (f"smtp://ann:{SECRET}@mail.example.com \n", "control character"),
        (f"smtp://ann:{SECRET}%0d%0a@mail.example.com", "control character"),
        ("smtp://ann@mail.example.com", "user without a password"),
        (f"smtp://:{SECRET}@mail.example.com", "password without a user"),
    ],
)
def test_refused_with_the_variable_named_and_the_password_not(url: str, reason: str) -> None:
    with pytest.raises(ValueError, match="STOREKEEPER_SMTP_URL") as caught:
        parse_smtp_url(url)
    assert reason in str(caught.value)
    assert SECRET not in str(caught.value)
    # Nor in a chained exception a traceback would print.
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ or caught.value.__context__ is None


def test_the_password_is_in_no_repr_or_str() -> None:
    target = parse_smtp_url(f"smtps://ann:{SECRET}@mail.example.com")
    assert target.password == SECRET
    assert SECRET not in repr(target)
    assert SECRET not in str(target)
    assert str(target) == "smtps://ann@mail.example.com:465"
    assert str(parse_smtp_url("smtp://[::1]")) == "smtp://[::1]:25"


def test_mail_settings_check_the_url_and_hide_its_password(tmp_path: Path) -> None:
    settings = MailSettings(
        f"smtp://ann:{SECRET}@mail.example.com:587", "Storekeeper <s@example.com>", tmp_path
    )
    assert settings.timeout_s == 15.0
    assert SECRET not in repr(settings)
    assert "smtp://ann@mail.example.com:587" in repr(settings)
    with pytest.raises(ValueError, match="STOREKEEPER_SMTP_URL") as caught:
        MailSettings(f"smtp://ann:{SECRET}@mail.example.com:99999", "s@example.com", tmp_path)
    assert SECRET not in str(caught.value)
    with pytest.raises(ValueError, match="timeout"):
        MailSettings(None, "s@example.com", tmp_path, timeout_s=0)
