"""When a failed webhook delivery is tried again, and when a failing webhook is disabled.

The contract's schedule (docs/api.md, "Webhooks"): after about 5 s, 5 min, 30 min, 2 h, 5 h,
10 h, 14 h, 20 h and 24 h; then the delivery has failed for good. Each step is jittered
upwards, never down: a receiver is never tried sooner than the documented step, and the
deliveries that failed together (a receiver down for an hour) come back spread out rather
than at one instant. A receiver's Retry-After is honoured as a floor, bounded so that a
hostile or broken receiver cannot park a delivery for a year. A 410 disables the webhook at
once; so do failures for 3 days since the first failure after the last success.

Every duration is multiplied by a scale (STOREKEEPER_WEBHOOK_RETRY_SCALE, default 1): the
tests run the whole schedule, and the 3 days, in seconds.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from storekeeper.domain.webhooks import DisabledReason

# Seconds after failed attempt n (1-based) before attempt n + 1; attempt 10 is the last.
SCHEDULE_S = (5, 300, 1800, 7200, 18000, 36000, 50400, 72000, 86400)
MAX_ATTEMPTS = len(SCHEDULE_S) + 1
# A step waits between 1 and 1 + JITTER times its length.
JITTER = 0.2
# A Retry-After longer than the schedule's longest step is honoured up to that step only.
RETRY_AFTER_MAX_S = float(SCHEDULE_S[-1])
# Failing this long since failing_since disables the webhook ('failing').
FAILING_FOR = timedelta(days=3)
# An answer of this status disables the webhook at once ('gone'): the receiver says so.
GONE = 410


def succeeded(status: int | None) -> bool:
    """Whether an attempt's answer is a success: any 2xx (a 3xx is not followed, so fails)."""
    return status is not None and 200 <= status < 300


@dataclass(frozen=True, slots=True)
class RetrySchedule:
    """The schedule, Retry-After's bound and the disabling window, all times `scale`."""

    scale: float = 1.0

    def __post_init__(self) -> None:
        if not self.scale > 0:
            raise ValueError("the retry scale must be greater than 0")

    def delay(
        self,
        attempt: int,
        retry_after_s: float | None = None,
        draw: Callable[[], float] = random.random,
    ) -> timedelta | None:
        """The wait after failed attempt `attempt` (1-based); None when it was the last."""
        if attempt < 1 or attempt >= MAX_ATTEMPTS:
            return None
        step = SCHEDULE_S[attempt - 1] * (1 + JITTER * draw())
        floor = min(max(retry_after_s or 0.0, 0.0), RETRY_AFTER_MAX_S)
        return timedelta(seconds=max(step, floor) * self.scale)

    def next_try(
        self, attempt: int, now: datetime, retry_after_s: float | None = None
    ) -> datetime | None:
        """When attempt `attempt + 1` is due after `attempt` failed now; None for no more."""
        wait = self.delay(attempt, retry_after_s)
        return None if wait is None else now + wait

    def failing_too_long(self, failing_since: datetime | None, now: datetime) -> bool:
        """Whether a webhook failing since then has failed long enough to be disabled."""
        return failing_since is not None and now - failing_since >= FAILING_FOR * self.scale


def disable_reason(
    status: int | None, failing_since: datetime | None, now: datetime, schedule: RetrySchedule
) -> DisabledReason | None:
    """Why a failed attempt disables its webhook ('gone', 'failing'), or None when it does not.

    `failing_since` is the webhook's, including this failure (set by it when it is the first).
    """
    if status == GONE:
        return "gone"
    if schedule.failing_too_long(failing_since, now):
        return "failing"
    return None
