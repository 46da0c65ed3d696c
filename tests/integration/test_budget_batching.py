"""The budgets' batching on a real store: few writes far from the limit, the bound near it.

Two `Budgets` stand for two worker processes (each its own memory) on one database; a clock
the test moves stands for time, so what is counted is store calls and admissions, never time;
the periodic sync runs inline (in a server it runs beside the request) so it can be counted.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from storekeeper.db.request_budgets import SqlBudgetStore
from storekeeper.db.session import Database
from storekeeper.domain.budgets import FLUSH_S, Budgets, Policy, Tally
from storekeeper.domain.values import RateLimit

LIMIT = RateLimit(1000, 3600)  # a batch of 10, exact within 20 of the limit
START = 3600.0 * 500_000  # the start of an hour's window


class Counted:
    """The real store, with its calls counted."""

    def __init__(self, store: SqlBudgetStore) -> None:
        self.store = store
        self.syncs = 0

    def sync(
        self, adds: Mapping[Tally, int], take: Sequence[tuple[Tally, int]] = ()
    ) -> tuple[bool, dict[str, int]]:
        self.syncs += 1
        return self.store.sync(adds, take)

    def sweep(self, now: int) -> None:
        self.store.sweep(now)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


def test_far_from_the_limit_a_process_writes_once_per_batch_or_interval(
    database: Database,
) -> None:
    clock = Clock()
    store = Counted(SqlBudgetStore(database))
    budgets = Budgets(LIMIT, None, store, clock, background=False)
    for _ in range(500):
        clock.now += 0.001  # 1,000 requests a second: the batch fills before the interval
        assert budgets.spend("addr:192.0.2.1", write=False).retry_after is None
    assert store.syncs <= 500 // (Policy("default", LIMIT).batch - 1) + 1
    slow = Counted(SqlBudgetStore(database))
    budgets = Budgets(LIMIT, None, slow, clock, background=False)
    for _ in range(40):
        clock.now += FLUSH_S / 4  # slower than a batch per interval: one sync per interval
        budgets.spend("addr:192.0.2.2", write=False)
    assert slow.syncs <= 40 // 4 + 1


def test_two_processes_alternating_meet_the_limit_within_the_bound(database: Database) -> None:
    clock = Clock()
    store = SqlBudgetStore(database)
    processes = [Budgets(LIMIT, None, store, clock, background=False) for _ in range(2)]
    admitted = 0
    for n in range(1200):
        clock.now += 0.001
        if processes[n % 2].spend("user:7", write=False).retry_after is None:
            admitted += 1
    batch = Policy("default", LIMIT).batch
    assert LIMIT.count <= admitted <= LIMIT.count + 2 * (batch - 1)
    # The next window is whole again.
    clock.now = START + 3600
    verdict = processes[0].spend("user:7", write=False)
    assert verdict.retry_after is None and verdict.standings[0].remaining == LIMIT.count - 1


def test_a_write_spends_both_budgets_and_a_full_one_refuses_from_memory(
    database: Database,
) -> None:
    clock = Clock()
    store = Counted(SqlBudgetStore(database))
    budgets = Budgets(RateLimit(50, 60), RateLimit(3, 60), store, clock, background=False)
    verdicts = [budgets.spend("addr:192.0.2.3", write=True) for _ in range(4)]
    assert [v.retry_after is None for v in verdicts] == [True, True, True, False]
    assert [v.standings[1].remaining for v in verdicts] == [2, 1, 0, 0]
    assert verdicts[2].standings[0].remaining == 47
    syncs = store.syncs
    for _ in range(10):
        assert budgets.spend("addr:192.0.2.3", write=True).retry_after is not None
    assert store.syncs == syncs  # refused from memory: the store is not asked
    assert budgets.spend("addr:192.0.2.3", write=False).retry_after is None
