"""Webhook deliveries, as jobs: each job drives one chain of attempts (domain/webhooks.py).

A job finds its chain's pending attempt, takes the webhook's sending lease (one runner sends
to a receiver at a time, so a receiver that hangs holds one worker thread at most; a job
finding the lease taken asks to run again a few seconds later, which is no attempt), signs
and sends, and records the outcome on the attempt's row. A failure adds the next attempt,
due on the retry schedule (domain/deliveries.py), and the job asks the runner to run it again
then (RetryAt). While it holds the lease after a success, a runner sends the webhook's other
due attempts too, oldest first: a busy store's events go out in order without a job per
event queuing for the lease. A job whose attempt another runner sent ends.

The webhook's lease is short and kept alive by its holder while it sends (as a job's is,
background/runner.py's Heartbeat), so a receiver that hangs keeps it for as long as the send
lasts, and a worker killed while holding it lets it go within LEASE_S. A killed worker leaves
its attempt pending: the job runs again once its own lease ends, and sends again (at least
once; receivers dedup by webhook-id). A 410, or failures for 3 days, disable the webhook,
fail its pending attempts unsent and email the store's owner (a mail job in the same
transaction).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

import orjson

from storekeeper.background.runner import Handler, Renewal, utcnow
from storekeeper.domain.accounts import ACCOUNTS
from storekeeper.domain.catalog import CATALOG
from storekeeper.domain.deliveries import RetrySchedule, disable_reason, succeeded
from storekeeper.domain.events import EVENTS
from storekeeper.domain.jobs import JOBS, Job, RetryAt, one_line
from storekeeper.domain.ports import UnitsOfWork, Work
from storekeeper.domain.webhooks import (
    DELIVER_JOB,
    PING,
    WEBHOOKS,
    Attempt,
    Delivery,
    DisabledReason,
    Webhook,
)
from storekeeper.http.event_json import event_json
from storekeeper.mail.messages import compose
from storekeeper.mail.transport import Mailer
from storekeeper.webhooks import signing
from storekeeper.webhooks.sender import Outcome, Sender

log = logging.getLogger("storekeeper.worker")
# The email to a store's owner when delivery turns one of its webhooks off.
DISABLED_MAIL_JOB = "email.webhook_disabled"
# How long a webhook's sending lease lasts unless its holder renews it (every third of it).
LEASE_S = 10.0
# A job finding the lease taken runs again after between these many seconds: the holder
# probably sends its attempt meanwhile, and the job then ends.
BUSY_DELAY_S = (1.0, 3.0)
# A lease holder sends at most this many other attempts before giving its thread back.
DRAIN_LIMIT = 100
# A job that failed for a reason of ours (the database away) runs again after this long.
TROUBLE_DELAY_S = 30.0
DISABLED_ERROR = "webhook disabled"
REASONS: Mapping[str, str] = {
    "gone": "the receiver answered 410 Gone, which asks for no more deliveries",
    "failing": "every delivery attempt failed for 3 days",
}


class _LeaseKeeper(Renewal):
    """Holds a webhook's sending lease while this runner sends, renewing it every third of
    LEASE_S, and gives it back at the end."""

    def __init__(
        self,
        units: UnitsOfWork,
        webhook_id: int,
        until: datetime,
        clock: Callable[[], datetime],
    ) -> None:
        self.units = units
        self.webhook_id = webhook_id
        self.until = until
        self.clock = clock
        super().__init__(f"webhook-{webhook_id}", LEASE_S, self._move, {"webhook_id": webhook_id})

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        super().__exit__(kind, error, trace)
        with self.units(write=True) as work:
            work[WEBHOOKS].release_lease(self.webhook_id, self.until)

    def _move(self) -> bool:
        now = self.clock()
        until = now + timedelta(seconds=LEASE_S)
        with self.units(write=True) as work:
            hooks = work[WEBHOOKS]
            # Moved only if still ours: given back and taken again in one transaction.
            hooks.release_lease(self.webhook_id, self.until)
            kept = hooks.take_lease(self.webhook_id, now, until)
        if kept:
            self.until = until
        return kept


@dataclass(frozen=True, slots=True)
class _Chain:
    """Where a chain stands after an attempt: ended (`next_at` None) or due again then."""

    next_at: datetime | None
    result: dict[str, Any]


class _Later(RetryAt):
    """When the job must look again: returned from inside a transaction, raised outside."""


@dataclass(frozen=True, slots=True)
class WebhookDelivery:
    """What deliveries need: the database, the sender, the schedule, and mail for owners."""

    units: UnitsOfWork
    sender: Sender
    schedule: RetrySchedule
    mailer: Mailer
    mail_from: str
    clock: Callable[[], datetime] = utcnow

    def handlers(self) -> dict[str, Handler]:
        """The delivery job's handler, and the owner's email's."""
        return {DELIVER_JOB: self.deliver, DISABLED_MAIL_JOB: self.mail_owner}

    def deliver(self, job: Job) -> dict[str, Any]:
        """Send the chain's pending attempt if it is due and the receiver free; see above."""
        try:
            return self._deliver(job)
        except RetryAt:
            raise
        except Exception as exc:
            # Ours, not the receiver's (an outage): the generic retry policy counts attempts
            # this job has passed long ago (each deferral is one), so the job keeps its own.
            log.exception("webhook delivery: trouble; the job runs again", extra=_fields(job))
            raise RetryAt(self.clock() + timedelta(seconds=TROUBLE_DELAY_S), one_line(exc)) from exc

    def _deliver(self, job: Job) -> dict[str, Any]:
        now = self.clock()
        with self.units(write=True) as work:
            taken = self._take(work, job, now)
        # Raised out here: raised inside, it would roll back what _take wrote.
        if isinstance(taken, _Later):
            raise taken
        if isinstance(taken, dict):
            return taken
        until, webhook, row = taken
        with _LeaseKeeper(self.units, webhook.id, until, self.clock) as lease:
            chain = self._attempt(webhook, row)
            if chain.result.get("status") == "succeeded":
                self._drain(lease)
        if chain.next_at is not None:
            raise RetryAt(chain.next_at, f"attempt {row.attempt} failed; the next is due then")
        return chain.result

    def _take(
        self, work: Work, job: Job, now: datetime
    ) -> dict[str, Any] | _Later | tuple[datetime, Webhook, Delivery]:
        """The job's pending attempt with the webhook's lease held; the job's result when
        there is nothing to send; or when to look again."""
        hooks = work[WEBHOOKS]
        row = hooks.pending_of_job(job.id)
        if row is None:
            return {"status": "ended", "reason": "no pending attempt (sent by another runner)"}
        webhook = hooks.get_webhook(row.webhook_id)
        if webhook is None:
            return {"status": "ended", "reason": "the webhook was deleted"}
        if not webhook.enabled:
            hooks.fail_pending(webhook.id, DISABLED_ERROR, now)
            return {"status": "failed", "reason": DISABLED_ERROR}
        if row.next_attempt_at is not None and row.next_attempt_at > now:
            return _Later(row.next_attempt_at, f"attempt {row.attempt} is due then")
        until = now + timedelta(seconds=LEASE_S)
        if not hooks.take_lease(webhook.id, now, until):
            wait = timedelta(seconds=random.uniform(*BUSY_DELAY_S))
            return _Later(now + wait, "another runner is sending to this webhook")
        # Read again under the lease: a holder that let it go just now may have sent it.
        again = hooks.pending_of_job(job.id)
        if again is not None and (again.next_attempt_at is None or again.next_attempt_at <= now):
            return until, webhook, again
        hooks.release_lease(webhook.id, until)
        if again is None:
            return {"status": "ended", "reason": "sent by another runner"}
        return _Later(again.next_attempt_at or now, f"attempt {again.attempt} is due then")

    def _attempt(self, webhook: Webhook, row: Delivery) -> _Chain:
        """Sign and send one attempt, and record what came of it."""
        with self.units() as work:
            message = _message(work, webhook, row)
        now = self.clock()
        if message is None:
            outcome = Outcome(None, None, 0, "the event is gone")
        else:
            message_id, body = message
            secrets = webhook.signing_secrets(now)
            headers = signing.headers(secrets, message_id, int(now.timestamp()), body)
            outcome = self.sender.post(webhook.url, headers, body)
        return self._record(webhook, row, outcome)

    def _record(self, webhook: Webhook, row: Delivery, outcome: Outcome) -> _Chain:
        now = self.clock()
        log.info(
            "webhook delivery attempted",
            extra={
                "fields": {
                    "webhook_id": webhook.id,
                    "delivery_id": row.id,
                    "attempt": row.attempt,
                    "status": outcome.status,
                    "error": outcome.error,
                }
            },
        )
        with self.units(write=True) as work:
            hooks = work[WEBHOOKS]
            if succeeded(outcome.status):
                done = Attempt("succeeded", outcome.status, outcome.duration_ms, None, now)
                if hooks.record_attempt(row.id, done):
                    hooks.clear_failing(webhook.id)
                chain = _Chain(None, {"status": "succeeded", "attempt": row.attempt})
            else:
                chain = self._failed(work, webhook, row, outcome, now)
        return chain

    def _failed(
        self, work: Work, webhook: Webhook, row: Delivery, outcome: Outcome, now: datetime
    ) -> _Chain:
        hooks = work[WEBHOOKS]
        since = hooks.mark_failing(webhook.id, now)
        reason = disable_reason(outcome.status, since, now, self.schedule)
        next_at = (
            None if reason else self.schedule.next_try(row.attempt, now, outcome.retry_after_s)
        )
        failed = Attempt("failed", outcome.status, outcome.duration_ms, outcome.error, now, next_at)
        result: dict[str, Any] = {
            "status": "failed",
            "attempt": row.attempt,
            "response_status": outcome.status,
        }
        if not hooks.record_attempt(row.id, failed):
            return _Chain(None, {"status": "ended", "reason": "recorded by another runner"})
        if next_at is not None:
            hooks.add_attempt(row, next_at)
        if reason is not None:
            self._disable(work, webhook, reason, now)
            result["disabled"] = reason
        return _Chain(next_at, result)

    def _disable(self, work: Work, webhook: Webhook, reason: DisabledReason, now: datetime) -> None:
        hooks = work[WEBHOOKS]
        hooks.lock_webhook(webhook.id)
        current = hooks.get_webhook(webhook.id)
        if current is None or not current.enabled:
            return  # turned off meanwhile (a PATCH): nothing to tell the owner
        hooks.disable(webhook.id, reason, now)
        hooks.fail_pending(webhook.id, DISABLED_ERROR, now)
        payload = {
            "store_id": webhook.store_id,
            "webhook_id": webhook.id,
            "url": webhook.url,
            "reason": reason,
        }
        work[JOBS].add(DISABLED_MAIL_JOB, payload, None)
        log.warning(
            "webhook disabled", extra={"fields": {"webhook_id": webhook.id, "reason": reason}}
        )

    def _drain(self, lease: _LeaseKeeper) -> None:
        """Send the webhook's other due attempts, oldest first, while the receiver takes them
        and the lease stays ours."""
        for _ in range(DRAIN_LIMIT):
            with self.units() as work:
                hooks = work[WEBHOOKS]
                webhook = hooks.get_webhook(lease.webhook_id)
                due = hooks.due_pending(lease.webhook_id, self.clock(), 1)
            if not lease.held or webhook is None or not webhook.enabled or not due:
                return
            if self._attempt(webhook, due[0]).result.get("status") != "succeeded":
                return  # the receiver is in trouble: each chain keeps its own schedule

    def mail_owner(self, job: Job) -> dict[str, Any]:
        """Tell the store's owner that delivery turned one of its webhooks off, and why."""
        with self.units() as work:
            store = work[CATALOG].store_detail(int(job.payload["store_id"]), 0)
            owner = None
            if store is not None and store.owner_id is not None:
                owner = work[ACCOUNTS].get_user(store.owner_id)
        if store is None or owner is None or owner.email is None:
            return {"sent": False, "reason": "no owner with an address"}
        context = {
            "username": owner.username,
            "store_name": store.name,
            "webhook_url": str(job.payload["url"]),
            "webhook_id": str(job.payload["webhook_id"]),
            "reason": REASONS.get(str(job.payload["reason"]), str(job.payload["reason"])),
        }
        self.mailer.send(compose("webhook_disabled", owner.email, context, self.mail_from))
        return {"sent": True}


def _message(work: Work, webhook: Webhook, row: Delivery) -> tuple[str, bytes] | None:
    """An attempt's webhook-id and body, the same bytes on every attempt of its chain; None
    when its event is gone."""
    if row.event_id is None:
        # A ping: its id and time are the chain's first attempt's (the one POST /ping answered).
        first = row
        job = None if row.job_id is None else work[JOBS].get(row.job_id)
        if job is not None:
            found = work[WEBHOOKS].get_delivery(webhook.id, int(job.payload["delivery_id"]))
            first = found or row
        data = {"webhook_id": webhook.id, "store_id": webhook.store_id}
        return f"ping_{first.id}", delivery_body(PING, first.created_at, data)
    event = work[EVENTS].get(row.event_id)
    if event is None:
        return None
    data = {**event_json(event), "store_id": event.store_id}
    return str(event.id), delivery_body(event.type, event.created_at, data)


def delivery_body(event_type: str, created_at: datetime, data: Mapping[str, Any]) -> bytes:
    """A delivery's body: `{"type", "timestamp", "data"}`, times as RFC 3339 UTC ("Z"), as the
    API writes them."""
    envelope = {"type": event_type, "timestamp": created_at, "data": dict(data)}
    return orjson.dumps(envelope, option=orjson.OPT_UTC_Z)


def _fields(job: Job) -> dict[str, Any]:
    return {"fields": {"job_id": job.id, "kind": job.kind}}
