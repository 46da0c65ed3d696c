"""Runs one job: claim it under a lease, do it, record the outcome (domain/jobs.py's rules)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from storekeeper.domain.jobs import JOBS, Job, RetryPolicy, one_line
from storekeeper.domain.ports import UnitsOfWork

log = logging.getLogger("storekeeper.worker")
# A job's work: given its record, it does what the kind says and returns what to keep as the
# job's result. It must tolerate running again after a crash (at least once).
Handler = Callable[[Job], Mapping[str, Any] | None]


def utcnow() -> datetime:
    """Now, in UTC."""
    return datetime.now(UTC)


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
            result = handler(job)
        except Exception as exc:
            return self._failed(job, exc)
        with self.units(write=True) as work:
            work[JOBS].succeed(job.id, job.attempts, result, self.clock())
        log.info(
            "job succeeded",
            extra={"fields": {"job_id": job.id, "kind": job.kind, "attempt": job.attempts}},
        )
        return "succeeded"

    def _failed(self, job: Job, exc: Exception) -> str:
        now = self.clock()
        retry_at = self.policy.next_try(job.attempts, now)
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
