"""The account emails: rendered from the package's templates, sent by SMTP or kept as files."""

from __future__ import annotations

from storekeeper.mail.messages import KINDS, compose
from storekeeper.mail.settings import MailSettings, SmtpTarget, parse_smtp_url
from storekeeper.mail.transport import (
    FileMailer,
    MailDeliveryError,
    Mailer,
    SmtpMailer,
    mailer_for,
)

__all__ = [
    "KINDS",
    "FileMailer",
    "MailDeliveryError",
    "MailSettings",
    "Mailer",
    "SmtpMailer",
    "SmtpTarget",
    "compose",
    "mailer_for",
    "parse_smtp_url",
]
