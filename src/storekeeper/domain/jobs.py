"""Background work: jobs recorded with the change that implies them, and the rules of running them.

A job is written in the transaction of the request that decides it (the outbox), so a
committed change never loses its work and a rolled-back one never does any. The queue carries
only job ids; the job's row decides. A runner claims a job with a lease before running it, so
two runners never run it at once, a job that succeeded never runs again (at most once in
effect), and a job whose runner died runs again once its lease has ended (at least once).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from storekeeper.domain.errors import Forbidden, NotFound, Unauthenticated
from storekeeper.domain.model import Actor
from storekeeper.domain.ports import Slot

JobStatus = Literal["queued", "running", "succeeded", "failed"]
STATUSES: tuple[JobStatus, ...] = ("queued", "running", "succeeded", "failed")
Payload = Mapping[str, Any]
# The reason kept for an operator is one line of this many characters at most.
ERROR_CHARS = 500


@dataclass(frozen=True, slots=True)
class Job:
    """One job's record."""

    id: int
    kind: str
    user_id: int | None
    status: JobStatus
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    result: dict[str, Any] | None
    last_error: str | None = None
    run_after: datetime | None = None
    payload: dict[str, Any] = field(default_factory=dict, repr=False)


class JobRepository(Protocol):
    """Jobs inside one unit of work."""

    def add(self, kind: str, payload: Payload, user_id: int | None) -> int:
        """Record a job; the worker's relay hands it to the queue once this has committed."""
        ...

    def get(self, job_id: int) -> Job | None: ...

    def claim(self, job_id: int, now: datetime, lease_until: datetime) -> Job | None:
        """Take a due queued job, or a running one whose lease ended; None when neither."""
        ...

    def succeed(self, job_id: int, attempt: int, result: Payload | None, now: datetime) -> None:
        """Mark the job done, if this attempt still holds it."""
        ...

    def extend(self, job_id: int, attempt: int, lease_until: datetime) -> bool:
        """Move the lease of a job this attempt still holds; False when it holds it no more."""
        ...

    def fail(
        self, job_id: int, attempt: int, error: str, now: datetime, retry_at: datetime | None
    ) -> None:
        """Record a failed attempt: queued again at `retry_at`, or failed for good (None)."""
        ...

    def due(self, now: datetime, grace: timedelta, limit: int) -> list[int]:
        """The jobs to hand to the queue now: new ones, retries whose time came, and any the
        queue lost (handed over `grace` ago and still queued, or running under an ended
        lease)."""
        ...

    def take(self, job_ids: list[int], now: datetime, grace: timedelta) -> list[int]:
        """Mark as handed those of these jobs still due; the ones marked."""
        ...

    def failed(self, limit: int) -> list[Job]:
        """Failed jobs (the dead letters), newest first."""
        ...

    def retry(self, job_id: int, now: datetime) -> bool:
        """Queue a failed job again with its attempts reset; False when it is not failed."""
        ...

    def counts(self) -> dict[tuple[str, JobStatus], int]:
        """How many jobs of each kind are in each status."""
        ...

    def purge(self, finished_before: datetime, limit: int) -> int:
        """Delete up to `limit` jobs that succeeded before then; how many were deleted."""
        ...

    def latencies(self, since: datetime, limit: int) -> list[tuple[str, float]]:
        """(kind, seconds from recorded to done) of the jobs that succeeded since `since`."""
        ...

    def oldest_due(self, now: datetime) -> datetime | None:
        """When the longest-waiting due job became due; None when none waits."""
        ...


JOBS: Slot[JobRepository] = Slot("jobs")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often a job is tried, and how long to wait between tries (exponential, jittered)."""

    max_attempts: int = 10
    first_delay_s: float = 10.0
    max_delay_s: float = 3600.0
    # How long a runner holds a job; a runner that dies lets it go when this ends.
    lease_s: float = 120.0

    def delay(self, attempt: int, draw: Callable[[], float] = random.random) -> timedelta:
        """The wait after failed attempt number `attempt` (1-based): "full jitter" back-off."""
        ceiling = min(self.max_delay_s, self.first_delay_s * 2 ** (attempt - 1))
        # Half fixed, half random: failures of many jobs at once (a mail server down) spread
        # out, and no retry comes sooner than half its step.
        return timedelta(seconds=ceiling / 2 + draw() * ceiling / 2)

    def next_try(self, attempt: int, now: datetime) -> datetime | None:
        """When to try again after attempt `attempt` failed; None when it was the last."""
        return None if attempt >= self.max_attempts else now + self.delay(attempt)


class JobRefused(Exception):
    """A job that cannot succeed however often it is tried (what it works on is gone): it
    fails at once, without retries."""


class RetryAt(Exception):
    """A handler's request to run its job again at `when`: the job is queued for then, its
    result left unset, whatever the RetryPolicy's max attempts say.

    For work that keeps its own schedule (a webhook delivery's retries over three days) or
    waits for something else (another runner delivering to the same receiver). Each claim
    counts an attempt of the job, so such a job's attempts may pass the policy's maximum;
    only the handler decides when it ends.
    """

    def __init__(self, when: datetime, reason: str) -> None:
        super().__init__(reason)
        self.when = when
        self.reason = reason


def get_job(repo: JobRepository, actor: Actor | None, job_id: int) -> Job:
    """A job, seen by the user who started it or an admin."""
    if actor is None:
        raise Unauthenticated("Authentication is required.")
    job = repo.get(job_id)
    if job is None:
        raise NotFound("No job with this id.")
    if job.user_id != actor.user_id and not actor.is_admin:
        raise Forbidden("Only the user who started a job, or an admin, may see it.")
    return job


def one_line(error: BaseException) -> str:
    """A failure as an operator reads it: its type and first line, bounded."""
    text = str(error).strip().splitlines()
    line = f"{type(error).__name__}: {text[0]}" if text else type(error).__name__
    return line[:ERROR_CHARS]
