"""The job rules over a real database (both backends): claim, lease, retry, dead letter, relay."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import update

from storekeeper.background.relay import RETENTION, Relay
from storekeeper.background.runner import Runner
from storekeeper.db import models
from storekeeper.db.repositories import REPOSITORIES
from storekeeper.db.session import Database
from storekeeper.db.unit_of_work import SqlUnitsOfWork
from storekeeper.domain.jobs import JOBS, Job, JobRefused, RetryAt, RetryPolicy

POLICY = RetryPolicy(max_attempts=3, first_delay_s=10, lease_s=60)


class Clock:
    """A clock the test moves: leases and back-offs pass without waiting."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def units(database: Database) -> SqlUnitsOfWork:
    return SqlUnitsOfWork(database, REPOSITORIES)


def _add(units: SqlUnitsOfWork, kind: str = "test.echo", **payload: Any) -> int:
    with units(write=True) as work:
        return work[JOBS].add(kind, payload, None)


def _job(units: SqlUnitsOfWork, job_id: int) -> Job:
    with units() as work:
        job = work[JOBS].get(job_id)
    assert job is not None
    return job


def test_a_job_runs_once_and_keeps_its_result(units: SqlUnitsOfWork) -> None:
    ran: list[int] = []

    def echo(job: Job) -> Mapping[str, Any]:
        ran.append(job.id)
        return {"echo": job.payload["word"]}

    runner = Runner(units, {"test.echo": echo}, POLICY)
    job_id = _add(units, word="hi")
    assert runner.run(job_id) == "succeeded"
    assert runner.run(job_id) == "skipped"  # handed twice: done once in effect
    job = _job(units, job_id)
    assert (job.status, job.attempts, job.result, ran) == ("succeeded", 1, {"echo": "hi"}, [job_id])
    assert job.started_at is not None and job.finished_at is not None


def test_a_claimed_job_is_not_claimed_again_until_its_lease_ends(units: SqlUnitsOfWork) -> None:
    job_id = _add(units)
    clock = Clock()
    lease = clock() + timedelta(seconds=POLICY.lease_s)
    with units(write=True) as work:
        assert work[JOBS].claim(job_id, clock(), lease) is not None
    with units(write=True) as work:
        assert work[JOBS].claim(job_id, clock(), lease) is None
    # The runner died holding it: once the lease ends, another takes it (at least once).
    clock.advance(POLICY.lease_s + 1)
    runner = Runner(units, {"test.echo": lambda job: None}, POLICY, clock)
    assert runner.run(job_id) == "succeeded"
    assert _job(units, job_id).attempts == 2


def test_failures_back_off_then_end_in_the_dead_letter_state(units: SqlUnitsOfWork) -> None:
    def broken(job: Job) -> None:
        raise ConnectionRefusedError("the mail server is down\nsecond line")

    job_id = _add(units)
    clock = Clock()
    runner = Runner(units, {"test.echo": broken}, POLICY, clock)
    assert runner.run(job_id) == "retrying"
    job = _job(units, job_id)
    assert (
        job.status == "queued"
        and job.last_error == "ConnectionRefusedError: the mail server is down"
    )
    assert job.run_after is not None and job.run_after >= clock() + timedelta(seconds=5)
    assert runner.run(job_id) == "skipped"  # not due before its back-off
    clock.advance(20)
    assert runner.run(job_id) == "retrying"
    clock.advance(40)
    assert runner.run(job_id) == "failed"
    job = _job(units, job_id)
    assert (job.status, job.attempts) == ("failed", 3)
    with units() as work:
        assert [j.id for j in work[JOBS].failed(10)] == [job_id]
    # An operator queues it again (storekeeper jobs retry): attempts counted afresh.
    with units(write=True) as work:
        assert work[JOBS].retry(job_id, clock())
        assert not work[JOBS].retry(job_id, clock())
    assert (_job(units, job_id).status, _job(units, job_id).attempts) == ("queued", 0)


def test_an_unknown_kind_is_a_failure_not_a_crash(units: SqlUnitsOfWork) -> None:
    runner = Runner(units, {}, RetryPolicy(max_attempts=1))
    job_id = _add(units, kind="test.nobody")
    assert runner.run(job_id) == "failed"
    assert "no handler" in (_job(units, job_id).last_error or "")


def test_the_relay_hands_each_job_once_and_again_only_when_lost(units: SqlUnitsOfWork) -> None:
    handed: list[int] = []
    relay = Relay(units, handed.append, grace=timedelta(seconds=60))
    first, second = _add(units), _add(units)
    assert relay.hand_over() == 2
    assert relay.hand_over() == 0  # handed already, within the grace
    assert handed == [first, second]
    # The queue lost `first` (a worker killed holding it): after the grace it is due again.
    later = datetime.now(UTC) + timedelta(seconds=61)
    with units(write=True) as work:
        assert work[JOBS].due(later, relay.grace, 10) == [first, second]
        assert work[JOBS].take([first, second], later, relay.grace) == [first, second]
        assert work[JOBS].take([first, second], later, relay.grace) == []  # another relay


def test_a_job_recorded_in_a_rolled_back_transaction_never_exists(units: SqlUnitsOfWork) -> None:
    def failing_request() -> None:
        with units(write=True) as work:
            work[JOBS].add("test.echo", {}, None)
            raise RuntimeError("the request's change failed")

    with pytest.raises(RuntimeError):
        failing_request()
    with units(write=True) as work:
        assert work[JOBS].due(datetime.now(UTC), timedelta(seconds=60), 10) == []
        assert work[JOBS].counts() == {}


def test_back_off_doubles_with_jitter_up_to_its_ceiling() -> None:
    policy = RetryPolicy(first_delay_s=10, max_delay_s=3600)
    assert policy.delay(1, lambda: 0.0) == timedelta(seconds=5)
    assert policy.delay(1, lambda: 1.0) == timedelta(seconds=10)
    assert policy.delay(3, lambda: 1.0) == timedelta(seconds=40)
    assert policy.delay(30, lambda: 1.0) == timedelta(seconds=3600)
    assert policy.next_try(policy.max_attempts, datetime.now(UTC)) is None


def test_succeeded_jobs_are_purged_after_their_retention_and_failed_ones_stay(
    units: SqlUnitsOfWork,
) -> None:
    done, old, dead = _add(units), _add(units), _add(units)
    runner = Runner(units, {"test.echo": lambda job: None}, POLICY)
    assert runner.run(done) == runner.run(old) == "succeeded"
    with units(write=True) as work:
        assert work[JOBS].claim(dead, datetime.now(UTC), datetime.now(UTC)) is not None
        work[JOBS].fail(dead, 1, "gave up", datetime.now(UTC) - timedelta(days=90), None)
    with units(write=True) as work:  # `old` finished long ago
        conn = work[JOBS].conn  # type: ignore[attr-defined]
        conn.execute(
            update(models.Job)
            .where(models.Job.id == old)
            .values(finished_at=datetime.now(UTC) - RETENTION - timedelta(days=1))
        )
    relay = Relay(units, lambda job_id: None, grace=timedelta(seconds=60))
    assert relay.purge() == 1
    with units() as work:
        assert work[JOBS].get(old) is None
        assert work[JOBS].get(done) is not None and work[JOBS].get(dead) is not None


def test_a_job_longer_than_its_lease_keeps_it_while_it_runs(units: SqlUnitsOfWork) -> None:
    """The heartbeat moves the lease ahead: no second runner takes a job still being worked on."""
    policy = RetryPolicy(max_attempts=1, lease_s=0.6)
    taken: list[bool] = []

    def slow(job: Job) -> Mapping[str, Any]:
        time.sleep(1.5)  # two and a half leases
        lease = datetime.now(UTC) + timedelta(seconds=policy.lease_s)
        with units(write=True) as work:
            taken.append(work[JOBS].claim(job.id, datetime.now(UTC), lease) is not None)
        return {}

    job_id = _add(units)
    assert Runner(units, {"test.echo": slow}, policy).run(job_id) == "succeeded"
    assert taken == [False]
    assert _job(units, job_id).attempts == 1


def test_a_refused_job_fails_at_once_without_retries(units: SqlUnitsOfWork) -> None:
    def refuse(job: Job) -> Mapping[str, Any]:
        raise JobRefused("what it works on is gone")

    job_id = _add(units)
    assert Runner(units, {"test.echo": refuse}, POLICY).run(job_id) == "failed"
    job = _job(units, job_id)
    assert (job.status, job.attempts) == ("failed", 1)
    assert job.last_error == "JobRefused: what it works on is gone"


def test_a_handler_reschedules_its_job_past_the_policys_max_attempts(
    units: SqlUnitsOfWork,
) -> None:
    # A webhook delivery asks to run again on its own schedule (or a few seconds later when
    # another runner is sending to the same receiver): many more times than POLICY allows.
    runs: list[int] = []

    def patient(job: Job) -> Mapping[str, Any]:
        runs.append(job.attempts)
        if len(runs) <= POLICY.max_attempts * 3:
            raise RetryAt(clock() + timedelta(seconds=30), f"not yet ({len(runs)})")
        return {"done": True}

    job_id = _add(units, "test.patient")
    clock = Clock()  # after the job's own run_after (the database's now)
    runner = Runner(units, {"test.patient": patient}, POLICY, clock)
    for n in range(1, POLICY.max_attempts * 3 + 1):
        assert runner.run(job_id) == "rescheduled"
        job = _job(units, job_id)
        assert (job.status, job.attempts, job.last_error) == ("queued", n, f"not yet ({n})")
        assert job.run_after == clock() + timedelta(seconds=30)
        assert runner.run(job_id) == "skipped"  # not due before the handler's time
        clock.advance(30)
    assert runner.run(job_id) == "succeeded"
    job = _job(units, job_id)
    assert (job.status, job.result) == ("succeeded", {"done": True})
    assert runs == list(range(1, POLICY.max_attempts * 3 + 2))
