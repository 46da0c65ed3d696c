"""The webhook retry schedule and the disabling rules (domain/deliveries.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storekeeper.domain.deliveries import (
    FAILING_FOR,
    JITTER,
    MAX_ATTEMPTS,
    RETRY_AFTER_MAX_S,
    SCHEDULE_S,
    RetrySchedule,
    disable_reason,
    succeeded,
)

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)
HOURS = 3600


def test_the_schedule_is_the_contracts() -> None:
    assert SCHEDULE_S == (5, 5 * 60, 30 * 60, 2 * HOURS, 5 * HOURS, 10 * HOURS, 14 * HOURS,
                          20 * HOURS, 24 * HOURS)  # fmt: skip
    assert MAX_ATTEMPTS == 10


@pytest.mark.parametrize("attempt", range(1, MAX_ATTEMPTS))
def test_each_step_is_jittered_upwards_only(attempt: int) -> None:
    schedule = RetrySchedule()
    step = SCHEDULE_S[attempt - 1]
    assert schedule.delay(attempt, draw=lambda: 0.0) == timedelta(seconds=step)
    assert schedule.delay(attempt, draw=lambda: 1.0) == timedelta(seconds=step * (1 + JITTER))


def test_no_retry_follows_the_last_attempt() -> None:
    schedule = RetrySchedule()
    assert schedule.delay(MAX_ATTEMPTS) is None
    assert schedule.next_try(MAX_ATTEMPTS, NOW) is None
    assert schedule.next_try(MAX_ATTEMPTS - 1, NOW) is not None


def test_retry_after_is_a_floor_bounded_by_the_longest_step() -> None:
    schedule = RetrySchedule()
    none = lambda: 0.0  # noqa: E731
    assert schedule.delay(1, 120, none) == timedelta(seconds=120)
    assert schedule.delay(3, 120, none) == timedelta(seconds=1800)  # the schedule is longer
    assert schedule.delay(1, 10**9, none) == timedelta(seconds=RETRY_AFTER_MAX_S)
    assert schedule.delay(1, -5, none) == timedelta(seconds=5)


def test_the_scale_multiplies_every_duration() -> None:
    schedule = RetrySchedule(scale=0.001)
    none = lambda: 0.0  # noqa: E731
    assert schedule.delay(1, draw=none) == timedelta(seconds=0.005)
    assert schedule.delay(9, 10**9, none) == timedelta(seconds=86.4)
    since = NOW - FAILING_FOR * 0.001
    assert schedule.failing_too_long(since, NOW)
    assert not schedule.failing_too_long(since + timedelta(seconds=1), NOW)
    with pytest.raises(ValueError, match="greater than 0"):
        RetrySchedule(scale=0)


def test_a_410_disables_at_once_and_failures_after_three_days() -> None:
    schedule = RetrySchedule()
    assert disable_reason(410, NOW, NOW, schedule) == "gone"
    assert disable_reason(500, NOW - timedelta(days=2, hours=23), NOW, schedule) is None
    assert disable_reason(None, NOW - timedelta(days=3), NOW, schedule) == "failing"
    assert disable_reason(503, None, NOW, schedule) is None


@pytest.mark.parametrize(("status", "ok"), [(200, True), (204, True), (299, True), (301, False),
                                            (410, False), (500, False), (None, False)])  # fmt: skip
def test_any_2xx_is_a_success(status: int | None, ok: bool) -> None:
    assert succeeded(status) is ok
