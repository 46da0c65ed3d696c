"""Runs an app's queued jobs in the test's process, with the worker's own handlers writing the
emails to files, and reads the links out of them (the real worker: tests/e2e)."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

from flask import Flask

from storekeeper.background.account_mail import AccountMail
from storekeeper.background.image_variants import ImageVariants
from storekeeper.background.runner import Runner
from storekeeper.background.worker import imports
from storekeeper.db.unit_of_work import SqlUnitsOfWork
from storekeeper.domain.jobs import JOBS, RetryPolicy
from storekeeper.mail.transport import FileMailer
from storekeeper.services import Services

SENDER = "Storekeeper <shop@example.com>"


def run_jobs(app: Flask, mail_dir: Path) -> list[str]:
    """Run every due job once, as the worker would; what each run did."""
    found: Services = app.extensions["storekeeper"]
    mail = AccountMail(found.units, FileMailer(mail_dir), found.settings.public_origin, SENDER)
    units = found.units
    assert isinstance(units, SqlUnitsOfWork)
    handlers = (
        mail.handlers()
        | ImageVariants(units, found.pictures).handlers()
        | imports(units).handlers()
    )
    runner = Runner(units, handlers, RetryPolicy(max_attempts=1))
    with found.units(write=True) as work:
        due = work[JOBS].due(datetime.now(UTC), timedelta(seconds=60), 1000)
    return [runner.run(job_id) for job_id in due]


def messages(mail_dir: Path) -> list[EmailMessage]:
    """Every email written so far, oldest first."""
    files = sorted(mail_dir.glob("*.eml")) if mail_dir.exists() else []
    return [message_from_bytes(path.read_bytes(), policy=policy.default) for path in files]


def text_of(message: EmailMessage) -> str:
    """The plain text part."""
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def token_in(message: EmailMessage, page: str) -> str:
    """The token of the link to `page` (e.g. /console/reset) in an email."""
    found = re.search(rf"{re.escape(page)}#token=([A-Za-z0-9_-]+)", text_of(message))
    assert found, text_of(message)
    return found.group(1)
