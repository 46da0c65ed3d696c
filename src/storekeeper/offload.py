"""Where CPU-bound work runs: off the event loop in a server worker, inline anywhere else."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Protocol, TypeVar

from storekeeper.domain.errors import Unavailable

T = TypeVar("T")
# Threads per worker process for CPU-bound work: as many as this machine's cores would use
# (docs/performance.md measures it). More only queue inside argon2's memory.
CPU_THREADS = 2


class Runner(Protocol):
    """Runs a function somewhere and returns its result to the caller."""

    def __call__(self, work: Callable[[], T]) -> T: ...


def inline(work: Callable[[], T]) -> T:
    """Run in the calling thread (commands, tests, a server without gevent)."""
    return work()


def off_the_loop(threads: int = CPU_THREADS) -> Runner:
    """gevent's thread pool when this process runs gevent's hub (a server worker), else inline.

    A password hash takes tens of milliseconds of CPU. Run in the worker's event loop, it stalls
    every other request of that worker; in a pool thread, the greenlet that asked waits and
    the loop goes on serving, since argon2 releases the GIL while it hashes.
    """
    from gevent import monkey

    if not monkey.is_module_patched("socket"):
        return inline
    from gevent.threadpool import ThreadPool

    pool = ThreadPool(threads)

    def run(work: Callable[[], T]) -> T:
        result: T = pool.apply(work)
        return result

    return run


class Admission:
    """At most `slots` requests of one kind at work in this process; the rest wait their turn.

    Sign-ins and sign-ups each write the attempt counters and hash a password. Let a burst of
    them in all at once and they queue on the database's write lock, where the last ones (and
    every other write of the worker) time out; admitted a few at a time, they take their turn
    while the worker's other requests go on. Made in the process that uses it: under gevent
    the semaphore is gevent's, and a waiting greenlet blocks nothing else.
    """

    def __init__(self, slots: int, wait_s: float) -> None:
        self._slots = threading.BoundedSemaphore(slots)
        self._wait_s = wait_s

    @contextmanager
    def __call__(self) -> Iterator[None]:
        if not self._slots.acquire(timeout=self._wait_s):
            raise Unavailable("Too many sign-ins at once; retry shortly.", "admission wait")
        try:
            yield
        finally:
            self._slots.release()
