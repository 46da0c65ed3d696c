"""Request budgets: every client's requests counted in fixed windows, shared by every process.

A database write (or a Redis round trip) per request would cost more than most requests do,
so each worker process counts in memory and adds its counts to the shared store in batches:
at most every FLUSH_S seconds (beside the request that found it due, in a thread of its own),
or as soon as it holds BATCH_SHARE of a budget unflushed (in that request). Near
the limit (within two batches of it) every request is counted in the store itself, one atomic
step that admits it only while the shared total has room, so the total is exact where it
matters. Over budget, a process refuses from memory: a fixed window's count only grows, so a
full window stays full until it ends, and refusals cost the store nothing.

The bound (docs/reliability.md, "Request budgets"): each process holds fewer than one batch
unflushed, so past the limit a caller can be admitted at most `processes x (batch - 1)` more
times per window, plus as many again per sync still in flight when the window filled; with a
limit under 1 / BATCH_SHARE the batch is 1 and the count is exact.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from storekeeper.domain.values import RateLimit

log = logging.getLogger("storekeeper.budgets")

# How often a process adds what it counted to the shared store, at most (seconds).
FLUSH_S = 0.2
# The share of a budget one process may count before it must add it to the shared store.
BATCH_SHARE = 0.01
# How often a process deletes the store's ended windows (seconds).
SWEEP_S = 30.0
# After the store failed to answer, how long a process counts in memory alone (seconds): an
# outage must not cost every request a connection attempt.
RETRY_STORE_S = 1.0
# The policy names of the RateLimit header fields (draft-ietf-httpapi-ratelimit-headers-11).
GENERAL = "default"
WRITES = "writes"


@dataclass(frozen=True, slots=True)
class Policy:
    """A named budget: `limit.count` requests per fixed window of `limit.period` seconds."""

    name: str
    limit: RateLimit

    @property
    def batch(self) -> int:
        """The most a process counts before adding to the shared store (1: every request)."""
        return max(1, math.floor(self.limit.count * BATCH_SHARE))

    @property
    def near(self) -> int:
        """Within this many of the limit, every request is counted in the store itself."""
        return 2 * self.batch if self.batch > 1 else 0


@dataclass(frozen=True, slots=True)
class Tally:
    """One client's count in one window of one policy, as the shared store keys it."""

    key: str
    # When the window ends (Unix seconds): the store may forget the count after it.
    expires: int


class BudgetStore(Protocol):
    """The shared counts, in the database or Redis; every call one atomic step."""

    def sync(
        self, adds: Mapping[Tally, int], take: Sequence[tuple[Tally, int]] = ()
    ) -> tuple[bool, dict[str, int]]:
        """Add each count to its tally; then, when every `take` tally is under its limit, add
        one to each (True), else nothing more (False). The totals of every tally touched."""
        ...

    def sweep(self, now: int) -> None:
        """Forget the tallies of windows that ended before `now`."""
        ...


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a client stands under one policy: what is left and when its window ends."""

    policy: Policy
    remaining: int
    reset: int


@dataclass(frozen=True, slots=True)
class Verdict:
    """A request's answer from the budgets: its standings and, when refused, the wait."""

    standings: tuple[Standing, ...]
    retry_after: int | None = None


class _StoreDown(Exception):
    """The store failed a moment ago: not asked again until RETRY_STORE_S have passed."""


class _Count:
    """A process's view of one tally: the shared total last seen and what it has not added."""

    __slots__ = ("known", "pending", "tally")

    def __init__(self, tally: Tally) -> None:
        self.tally = tally
        self.known = 0
        self.pending = 0

    @property
    def total(self) -> int:
        return self.known + self.pending


class Budgets:
    """The request budgets of one process, counted in memory and shared through a store."""

    def __init__(
        self,
        general: RateLimit | None,
        writes: RateLimit | None,
        store: BudgetStore,
        clock: Callable[[], float] = time.time,
        background: bool = True,
    ) -> None:
        self.general = Policy(GENERAL, general) if general else None
        self.writes = Policy(WRITES, writes) if writes else None
        self._store = store
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, _Count] = {}
        self._flushed_at = clock()
        self._flushing = False
        self._swept_at = clock()
        # The periodic sync runs beside the request that found it due, never in its way (a
        # write to SQLite may wait for its lock); a test may run it inline to count it.
        self._background = background
        self._store_down_until = 0.0

    @property
    def policies(self) -> tuple[Policy, ...]:
        """The budgets that are on, general first."""
        return tuple(p for p in (self.general, self.writes) if p is not None)

    def spend(self, client: str, write: bool) -> Verdict:
        """Count one request of `client` (a write counts in both budgets) or refuse it."""
        now = self._clock()
        applied = [p for p in (self.general, self.writes if write else None) if p is not None]
        shown = self.policies
        with self._lock:
            due = self._flush_due(now)
        if due:
            self._start_flush(now)
        with self._lock:
            counts = {p.name: self._count(p, client, now) for p in shown}
            full = [p for p in applied if counts[p.name].total >= p.limit.count]
            if full:
                return self._verdict(counts, now, refused=full)
            exact = any(
                counts[p.name].total + 1 > p.limit.count - p.near
                or counts[p.name].pending + 1 >= p.batch
                for p in applied
            )
            if not exact:
                for p in applied:
                    counts[p.name].pending += 1
            else:
                adds = {counts[p.name].tally: counts[p.name].pending for p in applied}
                for p in applied:
                    counts[p.name].pending = 0
        if not exact:
            return self._verdict(counts, now)
        taken, totals = self._sync(adds, [(counts[p.name].tally, p.limit.count) for p in applied])
        with self._lock:
            for p in applied:
                count = counts[p.name]
                count.known = max(count.known, totals.get(count.tally.key, count.known))
            if not taken:
                full = [p for p in applied if counts[p.name].total >= p.limit.count]
                return self._verdict(counts, now, refused=full or applied)
        return self._verdict(counts, now)

    def _count(self, policy: Policy, client: str, now: float) -> _Count:
        window = int(now // policy.limit.period)
        key = f"{policy.name}:{client}:{window}"
        count = self._counts.get(key)
        if count is None:
            count = _Count(Tally(key, (window + 1) * policy.limit.period))
            self._counts[key] = count
        return count

    def _verdict(
        self, counts: Mapping[str, _Count], now: float, refused: Sequence[Policy] = ()
    ) -> Verdict:
        standings = []
        for policy in self.policies:
            count = counts[policy.name]
            left = max(0, policy.limit.count - count.total)
            standings.append(Standing(policy, left, max(0, math.ceil(count.tally.expires - now))))
        if not refused:
            return Verdict(tuple(standings))
        wait = max(max(1, math.ceil(counts[p.name].tally.expires - now)) for p in refused)
        return Verdict(tuple(standings), wait)

    def _flush_due(self, now: float) -> bool:
        """Whether this request adds the process's counts to the store (one at a time)."""
        if self._flushing or now - self._flushed_at < FLUSH_S:
            return False
        self._flushing = True
        self._flushed_at = now
        return True

    def _start_flush(self, now: float) -> None:
        if self._background:
            threading.Thread(target=self._flush, args=(now,), name="budgets", daemon=True).start()
        else:
            self._flush(now)

    def _flush(self, now: float) -> None:
        """The periodic step: counts to the store, now and then the store's ended windows."""
        try:
            self._sync_all(now)
            if now - self._swept_at >= SWEEP_S:
                self._swept_at = now
                self._store.sweep(int(now))
        except Exception:  # a sweep that failed is tried again at the next one
            log.warning("request budgets: the store's ended windows were kept", exc_info=True)
        finally:
            self._flushing = False

    def _sync_all(self, now: float) -> None:
        """Add every unflushed count to the store; forget the windows that ended."""
        with self._lock:
            ended = [k for k, c in self._counts.items() if c.tally.expires <= now]
            for key in ended:
                del self._counts[key]
            live = [c for c in self._counts.values() if c.pending]
            adds = {c.tally: c.pending for c in live}
            for count in live:
                count.pending = 0
        if adds:
            _, totals = self._sync(adds, [])
            with self._lock:
                for count in live:
                    count.known = max(count.known, totals.get(count.tally.key, count.known))

    def _sync(
        self, adds: Mapping[Tally, int], take: Sequence[tuple[Tally, int]]
    ) -> tuple[bool, dict[str, int]]:
        """The store's answer; when it cannot answer, the request is admitted uncounted there.

        A budget protects the service, so an outage of its store must not refuse everyone:
        the counts stay in memory (added at the next sync) and the request goes on.
        """
        try:
            if self._clock() < self._store_down_until:
                raise _StoreDown
            return self._store.sync(adds, take)
        except Exception as exc:
            if not isinstance(exc, _StoreDown):
                log.warning(
                    "request budgets: the shared store did not answer (%s); counting in memory",
                    type(exc).__name__,
                )
                self._store_down_until = self._clock() + RETRY_STORE_S
            with self._lock:
                for tally, added in adds.items():
                    count = self._counts.get(tally.key)
                    if count is not None:
                        count.pending += added
                for tally, _ in take:
                    count = self._counts.get(tally.key)
                    if count is not None:
                        count.pending += 1
            return True, {}
