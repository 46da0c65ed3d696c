"""`storekeeper worker`: the process that does the background work.

It runs the relay (a thread that hands committed jobs to the queue) and huey's consumer (worker
threads that run them). SIGTERM stops it gracefully, the jobs being run finishing first;
SIGINT at once, and a job cut short runs again once its lease ends (domain/jobs.py).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from functools import partial
from typing import Any

from huey import Huey

from storekeeper.background.account_mail import AccountMail
from storekeeper.background.image_variants import ImageVariants
from storekeeper.background.imports import ATOMIC_DEADLINE_S, ItemImports
from storekeeper.background.queue import make_huey
from storekeeper.background.relay import Relay
from storekeeper.background.runner import Handler, Runner
from storekeeper.background.webhook_delivery import WebhookDelivery
from storekeeper.db.repositories import REPOSITORIES
from storekeeper.db.session import Database
from storekeeper.db.unit_of_work import SqlUnitsOfWork
from storekeeper.domain.deliveries import RetrySchedule
from storekeeper.domain.jobs import RetryPolicy
from storekeeper.logs import configure_logging
from storekeeper.mail.settings import MailSettings
from storekeeper.mail.transport import Mailer, mailer_for
from storekeeper.pictures import PillowPictures
from storekeeper.settings import Settings
from storekeeper.webhooks.addresses import Destinations
from storekeeper.webhooks.sender import Sender

log = logging.getLogger("storekeeper.worker")
TASK = "storekeeper.run_job"
# An idle consumer looks at a SQL queue this often at most (Redis blocks on it instead); the
# relay's poll (relay.POLL_S) comes first anyway.
MAX_IDLE_DELAY_S = 0.5


def policy(settings: Settings) -> RetryPolicy:
    """The retry and lease rules the settings ask for."""
    return RetryPolicy(
        max_attempts=settings.job_max_attempts,
        first_delay_s=float(settings.job_retry_delay_s),
        lease_s=float(settings.job_lease_s),
    )


def handlers(settings: Settings, units: SqlUnitsOfWork) -> dict[str, Handler]:
    """Every job kind's handler."""
    mail = MailSettings(
        smtp_url=settings.smtp_url,
        mail_from=settings.mail_from,
        mail_dir=settings.instance_path / "mail",
    )
    mailer = mailer_for(mail)
    account_mail = AccountMail(units, mailer, settings.public_origin, settings.mail_from)
    return (
        account_mail.handlers()
        | ImageVariants(units, PillowPictures()).handlers()
        | imports(units).handlers()
        | webhook_deliveries(settings, units, mailer).handlers()
    )


def webhook_deliveries(
    settings: Settings, units: SqlUnitsOfWork, mailer: Mailer
) -> WebhookDelivery:
    """The delivery jobs' runner: the sender checks each destination as the settings say."""
    sender = Sender(Destinations(allow_private=settings.webhook_allow_private))
    schedule = RetrySchedule(settings.webhook_retry_scale)
    return WebhookDelivery(units, sender, schedule, mailer, settings.mail_from)


def imports(units: SqlUnitsOfWork) -> ItemImports:
    """The import jobs' runner, its atomic transaction given a longer bound than a request's."""
    return ItemImports(units, partial(units, write=True, deadline_s=ATOMIC_DEADLINE_S))


def run_worker(settings: Settings) -> int:
    """Run until stopped by a signal; 0 on a graceful stop."""
    configure_logging(settings.log_level)
    database = Database(settings.database_url, settings.worker_threads + 2)
    units = SqlUnitsOfWork(database, REPOSITORIES)
    rules = policy(settings)
    huey = make_huey(settings)
    runner = Runner(units, handlers(settings, units), rules)
    run_job = huey.task(name=TASK)(runner.run)
    relay = Relay(units, run_job, grace=timedelta(seconds=rules.lease_s))
    stop = threading.Event()
    relaying = threading.Thread(target=relay.run, args=(stop,), name="relay", daemon=True)
    relaying.start()
    log.info("worker started", extra={"fields": {"threads": settings.worker_threads}})
    try:
        consumer(huey, settings.worker_threads).run()
    finally:
        stop.set()
        relaying.join(timeout=5)
        database.dispose()
    return 0


def consumer(huey: Huey, threads: int) -> Any:
    """huey's consumer: worker threads, no periodic scheduler (the relay schedules retries)."""
    return huey.create_consumer(
        workers=threads,
        worker_type="thread",
        periodic=False,
        initial_delay=0.05,
        backoff=1.5,
        max_delay=MAX_IDLE_DELAY_S,
        check_worker_health=True,
        # SIGTERM (systemd, `make run`'s trap) lets the jobs being run finish; SIGINT (Ctrl-C)
        # stops at once, and what it cut short runs again once its lease ends.
        graceful_signal="TERM",
    )
