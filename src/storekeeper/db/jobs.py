"""Queries for jobs: the outbox rows written with a request's change, and their runs."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, cast

import orjson
from sqlalchemy import Table, and_, delete, func, insert, or_, select, update
from sqlalchemy.engine import Connection

from storekeeper.db import models
from storekeeper.domain.jobs import Job, JobStatus, Payload

jobs: Table = cast(Table, models.Job.__table__)


def _job(row: Any) -> Job:
    return Job(
        id=row.id,
        kind=row.kind,
        user_id=row.user_id,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        result=orjson.loads(row.result) if row.result else None,
        last_error=row.last_error,
        run_after=row.run_after,
        payload=orjson.loads(row.payload),
    )


def _due(now: datetime, grace: timedelta) -> Any:
    """Jobs to hand to the queue: not handed yet, a retry whose time has come, or handed
    longer ago than the queue needs to start one (lost on the way: a worker died holding it);
    or running under a lease that ended (its runner died)."""
    return or_(
        and_(
            jobs.c.status == "queued",
            jobs.c.run_after <= now,
            or_(
                jobs.c.handed_at.is_(None),
                jobs.c.handed_at < jobs.c.run_after,
                jobs.c.handed_at < now - grace,
            ),
        ),
        and_(jobs.c.status == "running", jobs.c.lease_until < now),
    )


class JobRepository:
    """Jobs in one transaction."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def add(self, kind: str, payload: Payload, user_id: int | None) -> int:
        now = models.utcnow()
        stmt = (
            insert(jobs)
            .values(
                kind=kind,
                payload=orjson.dumps(dict(payload)).decode(),
                user_id=user_id,
                status="queued",
                attempts=0,
                created_at=now,
                run_after=now,
            )
            .returning(jobs.c.id)
        )
        return int(self.conn.execute(stmt).scalar_one())

    def get(self, job_id: int) -> Job | None:
        row = self.conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
        return None if row is None else _job(row)

    def claim(self, job_id: int, now: datetime, lease_until: datetime) -> Job | None:
        # One conditional update decides between runners: of two at once, one matches.
        claimable = or_(
            and_(jobs.c.status == "queued", jobs.c.run_after <= now),
            and_(jobs.c.status == "running", jobs.c.lease_until < now),
        )
        row = self.conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id, claimable)
            .values(
                status="running",
                attempts=jobs.c.attempts + 1,
                lease_until=lease_until,
                started_at=now,
            )
            .returning(*jobs.c)
        ).first()
        return None if row is None else _job(row)

    def _held(self, job_id: int, attempt: int) -> Any:
        return and_(jobs.c.id == job_id, jobs.c.status == "running", jobs.c.attempts == attempt)

    def succeed(self, job_id: int, attempt: int, result: Payload | None, now: datetime) -> None:
        self.conn.execute(
            update(jobs)
            .where(self._held(job_id, attempt))
            .values(
                status="succeeded",
                finished_at=now,
                lease_until=None,
                result=None if result is None else orjson.dumps(dict(result)).decode(),
            )
        )

    def extend(self, job_id: int, attempt: int, lease_until: datetime) -> bool:
        done = self.conn.execute(
            update(jobs).where(self._held(job_id, attempt)).values(lease_until=lease_until)
        )
        return bool(done.rowcount)

    def fail(
        self, job_id: int, attempt: int, error: str, now: datetime, retry_at: datetime | None
    ) -> None:
        if retry_at is None:
            values: dict[str, Any] = {"status": "failed", "finished_at": now}
        else:
            values = {"status": "queued", "run_after": retry_at}
        self.conn.execute(
            update(jobs)
            .where(self._held(job_id, attempt))
            .values(lease_until=None, last_error=error, **values)
        )

    def due(self, now: datetime, grace: timedelta, limit: int) -> list[int]:
        chosen = select(jobs.c.id).where(_due(now, grace)).order_by(jobs.c.run_after, jobs.c.id)
        return [int(row[0]) for row in self.conn.execute(chosen.limit(limit))]

    def take(self, job_ids: list[int], now: datetime, grace: timedelta) -> list[int]:
        # The condition again in the update: of two relays at once, one takes each job.
        taken = self.conn.execute(
            update(jobs)
            .where(jobs.c.id.in_(job_ids), _due(now, grace))
            .values(handed_at=now)
            .returning(jobs.c.id)
        )
        return sorted(int(row[0]) for row in taken)

    def failed(self, limit: int) -> list[Job]:
        query = (
            select(jobs)
            .where(jobs.c.status == "failed")
            .order_by(jobs.c.finished_at.desc(), jobs.c.id.desc())
            .limit(limit)
        )
        return [_job(row) for row in self.conn.execute(query)]

    def retry(self, job_id: int, now: datetime) -> bool:
        done = self.conn.execute(
            update(jobs)
            .where(jobs.c.id == job_id, jobs.c.status == "failed")
            .values(status="queued", attempts=0, run_after=now, handed_at=None, finished_at=None)
        )
        return bool(done.rowcount)

    def latencies(self, since: datetime, limit: int) -> list[tuple[str, float]]:
        """(kind, seconds from recorded to done) of jobs that succeeded since then, newest first."""
        query = (
            select(jobs.c.kind, jobs.c.created_at, jobs.c.finished_at)
            .where(jobs.c.status == "succeeded", jobs.c.finished_at >= since)
            .order_by(jobs.c.finished_at.desc())
            .limit(limit)
        )
        return [
            (row.kind, (row.finished_at - row.created_at).total_seconds())
            for row in self.conn.execute(query)
        ]

    def oldest_due(self, now: datetime) -> datetime | None:
        """When the longest-waiting due job was recorded (or last made due)."""
        query = select(func.min(jobs.c.run_after)).where(
            jobs.c.status == "queued", jobs.c.run_after <= now
        )
        value = self.conn.execute(query).scalar()
        return models.utc_datetime(value)

    def purge(self, finished_before: datetime, limit: int) -> int:
        chosen = (
            select(jobs.c.id)
            .where(jobs.c.status == "succeeded", jobs.c.finished_at < finished_before)
            .limit(limit)
        )
        return int(self.conn.execute(delete(jobs).where(jobs.c.id.in_(chosen))).rowcount)

    def counts(self) -> dict[tuple[str, JobStatus], int]:
        query = select(jobs.c.kind, jobs.c.status, func.count()).group_by(
            jobs.c.kind, jobs.c.status
        )
        return {(row[0], row[1]): int(row[2]) for row in self.conn.execute(query)}
