"""Runs one job: claim it under a lease, do it, record the outcome (domain/jobs.py's rules)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Any, Self

from storekeeper.domain.jobs import (
    ERROR_CHARS,
    JOBS,
    Job,
    JobRefused,
    RetryAt,
    RetryPolicy,
    one_line,
)
from storekeeper.domain.ports import UnitsOfWork

log = logging.getLogger("storekeeper.worker")
# A job's work: given its record, it does what the kind says and returns what to keep as the
# job's result. It must tolerate running again after a crash (at least once).
Handler = Callable[[Job], Mapping[str, Any] | None]


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


class Renewal:
    """Keeps a lease alive while a block runs: `renew` every third of the lease, in a thread
    of its own, until the block ends or `renew` says the lease is held no more (`held`).

    A renewal that fails (SQLite's write lock held by the work itself, an outage) is tried
    again at the next beat; one that finds the lease gone stops, and the work can see it.
    """

    def __init__(
        self, name: str, lease_s: float, renew: Callable[[], bool], fields: dict[str, Any]
    ) -> None:
        self.lease_s = lease_s
        self.renew = renew
        self.fields = fields
        self.held = True
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._beat, name=name, daemon=True)

    def __enter__(self) -> Self:
        self.thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.stop.set()
        self.thread.join()

    def _beat(self) -> None:
        while not self.stop.wait(self.lease_s / 3):
            try:
                held = self.renew()
            except Exception:
                log.warning("lease not renewed; trying again", extra={"fields": self.fields})
                continue
            if not held:
                self.held = False
                return


class Heartbeat(Renewal):
    """Keeps a running job's lease alive while its handler runs, however long it takes.

    Every third of the lease it moves the lease's end a whole lease ahead, for as long as
    this attempt holds the job. A worker that dies stops beating, and the job is free again
    within one lease; a long job (a 50,000-row import) is never taken by a second runner
    while the first still works on it.
    """

    def __init__(
        self, units: UnitsOfWork, job: Job, lease_s: float, clock: Callable[[], datetime]
    ) -> None:
        def extend() -> bool:
            with units(write=True) as work:
                return work[JOBS].extend(job.id, job.attempts, clock() + timedelta(seconds=lease_s))

        super().__init__(f"lease-{job.id}", lease_s, extend, {"job_id": job.id, "kind": job.kind})


class Runner:
    """Runs jobs by id, each at most once in effect, whichever worker thread or process asks."""

    def __init__(
        self,
        units: UnitsOfWork,
        handlers: Mapping[str, Handler],
        policy: RetryPolicy,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.units = units
        self.handlers = handlers
        self.policy = policy
        self.clock = clock

    def run(self, job_id: int) -> str:
        """Run a job if it is still to be run; say what happened (for the log and the tests)."""
        now = self.clock()
        lease = now + timedelta(seconds=self.policy.lease_s)
        with self.units(write=True) as work:
            job = work[JOBS].claim(job_id, now, lease)
        if job is None:
            # Done already, running elsewhere under a live lease, or not due yet.
            return "skipped"
        try:
            handler = self.handlers.get(job.kind)
            if handler is None:
                raise LookupError(f"no handler for jobs of kind {job.kind!r}")
            with Heartbeat(self.units, job, self.policy.lease_s, self.clock):
                result = handler(job)
        except RetryAt as exc:
            return self._rescheduled(job, exc)
        except JobRefused as exc:
            return self._failed(job, exc, retry=False)
        except Exception as exc:
            return self._failed(job, exc)
        with self.units(write=True) as work:
            work[JOBS].succeed(job.id, job.attempts, result, self.clock())
        log.info(
            "job succeeded",
            extra={"fields": {"job_id": job.id, "kind": job.kind, "attempt": job.attempts}},
        )
        return "succeeded"

    def _rescheduled(self, job: Job, request: RetryAt) -> str:
        # Queued for the handler's time, never failed for good here: the generic policy's
        # max attempts do not apply (a delivery retried for 3 days, deferred many times).
        reason = request.reason[:ERROR_CHARS]
        with self.units(write=True) as work:
            work[JOBS].fail(job.id, job.attempts, reason, self.clock(), request.when)
        log.info(
            "job rescheduled",
            extra={
                "fields": {
                    "job_id": job.id,
                    "kind": job.kind,
                    "run_after": request.when.isoformat(),
                    "reason": reason,
                }
            },
        )
        return "rescheduled"

    def _failed(self, job: Job, exc: Exception, retry: bool = True) -> str:
        now = self.clock()
        retry_at = self.policy.next_try(job.attempts, now) if retry else None
        reason = one_line(exc)
        with self.units(write=True) as work:
            work[JOBS].fail(job.id, job.attempts, reason, now, retry_at)
        outcome = "failed" if retry_at is None else "retrying"
        log.warning(
            "job %s",
            outcome,
            extra={"fields": {"job_id": job.id, "kind": job.kind, "error": reason}},
        )
        return outcome
