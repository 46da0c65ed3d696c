"""gunicorn's server hooks for Storekeeper: each is a documented setting (`application.options`)."""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import signal
from collections.abc import Callable
from pathlib import Path
from types import FrameType
from typing import Any

import gevent

from storekeeper.serving import connection
from storekeeper.serving.limits import LIMITS

log = logging.getLogger("storekeeper.server")


def when_ready(arbiter: Any) -> None:
    """Make Ctrl-C (SIGINT) the arbiter's short graceful stop, not gunicorn's quick one.

    SIGTERM keeps gunicorn's meaning (graceful, LIMITS.graceful_timeout_s), for
    orchestrators; SIGQUIT, or a second SIGINT while stopping, is gunicorn's quick shutdown.
    """
    interrupted = False

    def on_interrupt(sig: int, frame: FrameType | None) -> None:
        nonlocal interrupted
        if interrupted:
            # Queued as gunicorn queues it: a SIGINT during its graceful stop is the quick one.
            arbiter.signal(sig, frame)
            return
        interrupted = True
        arbiter.cfg.set("graceful_timeout", LIMITS.interrupt_timeout_s)
        # The terminal sent SIGINT to the workers too; sending it again covers `kill -INT`
        # of the arbiter alone. Then gunicorn's graceful stop, bounded by the shorter timeout.
        for pid in list(arbiter.WORKERS):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGINT)
        arbiter.signal(signal.SIGTERM, frame)

    # Replaces gunicorn's handler, which only queues the signal for the arbiter's loop;
    # set here because the arbiter installs its handlers just before this hook.
    signal.signal(signal.SIGINT, on_interrupt)


def post_worker_init(worker: Any) -> None:
    """Say that a worker has loaded the app (operators and the worker-kill test read it)."""
    log.info("worker %d ready", worker.pid)


def pre_request(worker: Any, req: Any) -> None:
    """Count the request as in flight: a stopping worker waits for it."""
    worker.in_flight.add(gevent.getcurrent())


def post_request(worker: Any, req: Any, environ: dict[str, Any], resp: Any) -> None:
    """Finish the connection's part of the request; it is no longer in flight."""
    try:
        connection.after_request(environ)
    finally:
        worker.in_flight.discard(gevent.getcurrent())


def worker_int(worker: Any) -> None:
    """Say when gunicorn's quick exit (SIGQUIT) drops requests in flight."""
    if worker.in_flight:
        log.warning("dropping requests still in flight at a quick shutdown (pid %s)", worker.pid)


def metrics_files(folder: Path) -> dict[str, Callable[..., None]]:
    """The hooks that keep the workers' shared metrics folder true: child_exit and on_exit."""

    def child_exit(arbiter: Any, worker: Any) -> None:
        # A dead worker's live gauges must not be added up any more. Imported here, in the
        # arbiter, only once a worker has exited.
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid, str(folder))  # type: ignore[no-untyped-call]

    def on_exit(arbiter: Any) -> None:
        shutil.rmtree(folder, ignore_errors=True)

    return {"child_exit": child_exit, "on_exit": on_exit}
