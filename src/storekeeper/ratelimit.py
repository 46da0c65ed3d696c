"""The Redis attempt limiter and request budgets, for several instances sharing one Redis."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

import redis

from storekeeper.domain.budgets import Tally
from storekeeper.domain.errors import Unavailable
from storekeeper.domain.ports import Counter

# Atomic. KEYS: the counters; ARGV: now, an attempt id, whether to check, then per key its
# window in seconds, its limit and whether the attempt is recorded in it. Trim every window;
# when checking, refuse while any is full; else record the attempt where it counts.
_SCRIPT = """
local now, id, check = tonumber(ARGV[1]), ARGV[2], ARGV[3] == '1'
local wait = 0
for i, key in ipairs(KEYS) do
  local window, limit = tonumber(ARGV[1 + 3 * i]), tonumber(ARGV[2 + 3 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if check and redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local left = tonumber(oldest[2]) + window - now
    if left > wait then wait = left end
  end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  if ARGV[3 + 3 * i] == '1' then
    redis.call('ZADD', key, now, id)
    redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[1 + 3 * i]) * 1000))
  end
end
return nil
"""


class RateLimiterUnavailable(Unavailable):
    """The shared counter cannot be reached, so no attempt can be counted (a 503)."""

    def __init__(self, reason: str) -> None:
        super().__init__(
            "Unavailable: the limiter of logins and registrations cannot count.", reason
        )


class RedisRateLimiter:
    """Sliding-window attempt counters in Redis."""

    def __init__(self, url: str) -> None:
        self._client: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self._client.register_script(_SCRIPT)

    def hit(self, counted: Sequence[Counter], watched: Sequence[Counter] = ()) -> int | None:
        """Seconds to wait when any counter is full; else record an attempt in the counted."""
        return self._run([(c, True) for c in counted] + [(c, False) for c in watched], True)

    def add(self, counted: Sequence[Counter]) -> None:
        """Record an attempt in each counter."""
        self._run([(c, True) for c in counted], False)

    def _run(self, counters: list[tuple[Counter, bool]], check: bool) -> int | None:
        args: list[str | int | float] = [time.time(), uuid.uuid4().hex, int(check)]
        for counter, recorded in counters:
            args += [counter.limit.period, counter.limit.count, int(recorded)]
        try:
            wait = self._script(keys=[f"storekeeper:{c.key}" for c, _ in counters], args=args)
        except redis.RedisError as exc:
            raise RateLimiterUnavailable(type(exc).__name__) from None
        return None if wait is None else max(1, math.ceil(float(wait)))


# Atomic. KEYS: the tallies; ARGV: per key its count to add, its expiry (Unix seconds) and
# its limit when the request is taken in it (else -1). Add every count; then, when every
# taken tally is under its limit, one more to each. Returns taken (1/0), then the totals.
_BUDGET_SCRIPT = """
local totals, taken = {}, 1
for i, key in ipairs(KEYS) do
  totals[i] = redis.call('INCRBY', key, tonumber(ARGV[3 * i - 2]))
  redis.call('EXPIREAT', key, tonumber(ARGV[3 * i - 1]) + 1)
  local limit = tonumber(ARGV[3 * i])
  if limit >= 0 and totals[i] >= limit then taken = 0 end
end
local any = false
for i, key in ipairs(KEYS) do
  if tonumber(ARGV[3 * i]) >= 0 then any = true end
end
if not any then taken = 0 end
if taken == 1 then
  for i, key in ipairs(KEYS) do
    if tonumber(ARGV[3 * i]) >= 0 then totals[i] = redis.call('INCR', key) end
  end
end
table.insert(totals, 1, taken)
return totals
"""


class RedisBudgetStore:
    """The request budgets' shared counts in Redis: one counter per tally, gone with its window."""

    def __init__(self, url: str) -> None:
        self._client: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self._client.register_script(_BUDGET_SCRIPT)

    def sync(
        self, adds: Mapping[Tally, int], take: Sequence[tuple[Tally, int]] = ()
    ) -> tuple[bool, dict[str, int]]:
        """Add each count; then one more to every `take` tally when all are under their limit."""
        limits = {t.key: limit for t, limit in take}
        counts = {t.key: n for t, n in adds.items()}
        tallies = {t.key: t for t in adds} | {t.key: t for t, _ in take}
        keys = sorted(tallies)
        args: list[int] = []
        for key in keys:
            args += [counts.get(key, 0), tallies[key].expires, limits.get(key, -1)]
        answer = self._script(keys=[f"storekeeper:budget:{k}" for k in keys], args=args)
        taken = bool(answer[0]) or not take
        return taken, {key: int(total) for key, total in zip(keys, answer[1:], strict=True)}

    def sweep(self, now: int) -> None:
        """Nothing to do: each counter expires with its window."""
