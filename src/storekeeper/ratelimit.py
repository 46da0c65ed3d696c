"""The Redis login limiter, for several instances sharing one Redis."""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

import redis

from storekeeper.domain.errors import Unavailable
from storekeeper.settings import RateLimit

# Atomic: trim each key's window, refuse when any is full, else record the attempt in all.
_SCRIPT = """
local now, window, limit = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wait = 0
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= limit then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    local left = tonumber(oldest[2]) + window - now
    if left > wait then wait = left end
  end
end
if wait > 0 then return tostring(wait) end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[4])
  redis.call('PEXPIRE', key, math.ceil(window * 1000))
end
return nil
"""


class RateLimiterUnavailable(Unavailable):
    """The shared counter cannot be reached, so no attempt can be counted (a 503)."""

    def __init__(self, reason: str) -> None:
        super().__init__("Login is unavailable: the rate limiter cannot count.", reason)


class RedisRateLimiter:
    """A sliding-window login limiter in Redis."""

    def __init__(self, url: str, limit: RateLimit) -> None:
        self._client: Any = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._script = self._client.register_script(_SCRIPT)
        self.limit = limit

    def hit(self, keys: list[str]) -> int | None:
        """Record an attempt; seconds to wait when a key is over the limit."""
        try:
            wait = self._script(
                keys=[f"storekeeper:{k}" for k in keys],
                args=[time.time(), self.limit.period, self.limit.count, uuid.uuid4().hex],
            )
        except redis.RedisError as exc:
            raise RateLimiterUnavailable(type(exc).__name__) from None
        return None if wait is None else max(1, math.ceil(float(wait)))
