"""The Redis attempt limiter, for several instances sharing one Redis."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Sequence
from typing import Any

import redis

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
