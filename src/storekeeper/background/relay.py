"""The outbox's relay: hands committed jobs to the queue, and again any the queue lost."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

from storekeeper.background.runner import utcnow
from storekeeper.domain.jobs import JOBS
from storekeeper.domain.ports import UnitsOfWork, Work
from storekeeper.domain.trash import purge_trash
from storekeeper.domain.webhooks import WEBHOOKS

log = logging.getLogger("storekeeper.worker")
# How often the outbox is read for jobs to hand over: a registration's email leaves this long
# after its commit at most. One indexed query, whether or not there is work.
POLL_S = 0.25
BATCH = 200
# After a failure to reach the database or the queue, wait this long before the next try.
PAUSE_S = 2.0
# Succeeded jobs are kept this long (GET /job/{id}, the latency metrics), then deleted, a
# batch at a time, once an hour: the table holds a month of work, not all of it. Failed jobs
# stay until an operator retries them. Items 30 days in a store's trash go in the same pass
# (domain/trash.py), and webhook delivery attempts 30 days old (the delivery log's month).
RETENTION = timedelta(days=30)
PURGE_EVERY_S = 3600.0
PURGE_BATCH = 1000


class Relay:
    """Hands due jobs to the queue, in the transaction that marks them handed.

    A job handed twice (two relays, a retry of a lost one) runs once: the claim decides
    (domain/jobs.py). A job the queue lost (a worker killed holding it) is due again once
    `grace` has passed, or its lease has ended.
    """

    def __init__(
        self,
        units: UnitsOfWork,
        enqueue: Callable[[int], object],
        grace: timedelta,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.units = units
        self.enqueue = enqueue
        self.grace = grace
        # What the purges count retention from: a test moves it, nobody waits 30 days.
        self.clock = clock

    def hand_over(self) -> int:
        """One pass: hand every due job (up to a batch); how many were handed."""
        # Read first: an idle pass must not take SQLite's write lock four times a second.
        with self.units() as work:
            due = work[JOBS].due(utcnow(), self.grace, BATCH)
        if not due:
            return 0
        with self.units(write=True) as work:
            taken = work[JOBS].take(due, utcnow(), self.grace)
            # Inside the transaction: when the queue cannot take them, none is marked handed.
            for job_id in taken:
                self.enqueue(job_id)
        return len(due)

    def purge(self) -> int:
        """Delete succeeded jobs and webhook delivery attempts past their retention, a batch
        at a time, and the items past theirs in the trash; how many rows went. Each is
        idempotent and safe with several workers purging at once."""
        now = self.clock()
        gone = self._in_batches(lambda work: work[JOBS].purge(now - RETENTION, PURGE_BATCH))
        gone += self._in_batches(
            lambda work: work[WEBHOOKS].purge_deliveries(now - RETENTION, PURGE_BATCH)
        )
        return gone + purge_trash(self.units, now)

    def _in_batches(self, purge: Callable[[Work], int]) -> int:
        """Run a purge of PURGE_BATCH rows, a transaction each, until one deletes fewer."""
        gone = 0
        while True:
            with self.units(write=True) as work:
                deleted = purge(work)
            gone += deleted
            if deleted < PURGE_BATCH:
                return gone

    def run(self, stop: threading.Event) -> None:
        """Hand jobs over until `stop` is set; a failure pauses, never ends the loop."""
        next_purge = time.monotonic()
        while not stop.is_set():
            try:
                if time.monotonic() >= next_purge:
                    next_purge = time.monotonic() + PURGE_EVERY_S
                    self.purge()
                handed = self.hand_over()
            except Exception:
                log.exception("relay: cannot hand jobs to the queue; retrying")
                stop.wait(PAUSE_S)
                continue
            if handed < BATCH:
                stop.wait(POLL_S)
