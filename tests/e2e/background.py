"""Background work end to end: `storekeeper serve` and `storekeeper worker` processes on one
database, a real SMTP server (tests/mailserver.py), and the jobs table read directly.

    with deployment(tmp_path, url, mail.url) as site:   # upgraded schema, a server, no worker
        worker = site.start_worker()                     # waits until it said it started
        site.kill(worker)                                # SIGKILL, at once
        site.jobs()                                      # every row of the jobs table
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import requests
from sqlalchemy import create_engine, text

from deploy.processes import spawn, stop_all, tail
from storekeeper.settings import normalise_database_url
from tests.e2e.live import BIN, run, server_env, server_process
from tests.mailserver import MailServer, Received

# Hang detectors, not speed claims: what a loaded 2-core machine needs many times over.
START_S = 30.0
DELIVERY_S = 45.0
POLL_S = 0.1
# Short enough that a killed worker's job runs again within the test, long enough that a
# loaded machine's worker finishes a send well inside its lease.
FAST_JOBS = {
    "STOREKEEPER_JOB_LEASE": "2",
    "STOREKEEPER_JOB_RETRY_DELAY": "1",
    # Every kill and every lease a loaded machine lets run out costs an attempt; what these
    # tests count is deliveries, so attempts never run out here (the dead-letter test sets its own).
    "STOREKEEPER_JOB_MAX_ATTEMPTS": "100",
    "STOREKEEPER_REGISTER_RATE_LIMIT": "100000/hour",
    "STOREKEEPER_LOGIN_RATE_LIMIT": "1000/minute",
}


@dataclass(frozen=True)
class JobRow:
    """One row of the jobs table, as the test reads it."""

    id: int
    kind: str
    status: str
    attempts: int
    last_error: str | None
    payload: dict[str, Any]


@dataclass
class Site:
    """Servers and workers on one database; each process logs into its own folder."""

    folder: Path
    env: dict[str, str]
    database_url: str
    bases: list[str] = field(default_factory=list)
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)
    started_workers: int = 0

    @property
    def base(self) -> str:
        """The first server's base URL."""
        return self.bases[0]

    def worker_log(self, number: int) -> Path:
        """The log of the `number`th worker started (0-based)."""
        return self.folder / f"worker-{number}.log"

    def start_worker(self, **extra: str) -> subprocess.Popen[bytes]:
        """`storekeeper worker` in a process group of its own; returns once it has started."""
        log = self.worker_log(self.started_workers)
        self.started_workers += 1
        proc = spawn([BIN / "storekeeper", "worker"], {**self.env, **extra}, log)
        self.workers.append(proc)
        poll_until(
            lambda: "worker started" in log.read_text(errors="replace"),
            START_S,
            lambda: f"the worker did not start: {tail(log)}",
            alive=proc,
        )
        return proc

    def kill(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL a worker (no clean-up of any kind) and reap it."""
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        self.workers.remove(proc)

    def stop_workers(self) -> None:
        """SIGTERM every worker (the jobs being run finish) and wait."""
        stop_all(self.workers)
        self.workers.clear()

    def logs(self) -> str:
        """Every worker's log, for an error message or a search."""
        return "\n".join(
            self.worker_log(n).read_text(errors="replace") for n in range(self.started_workers)
        )

    def jobs(self) -> list[JobRow]:
        """Every job, oldest first, read from the database itself."""
        engine = create_engine(self.database_url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(
                    text(
                        "SELECT id, kind, status, attempts, last_error, payload FROM jobs"
                        " ORDER BY id"
                    )
                ).all()
        finally:
            engine.dispose()
        return [
            JobRow(
                row.id,
                row.kind,
                row.status,
                row.attempts,
                row.last_error,
                orjson.loads(row.payload),
            )
            for row in rows
        ]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """`storekeeper ARGS` with this site's settings."""
        extra = {k: v for k, v in self.env.items() if k.startswith("STOREKEEPER_")}
        return run(list(args), self.folder, **extra)


@contextmanager
def deployment(
    folder: Path,
    database_url: str | None,
    smtp_url: str | None,
    servers: int = 1,
    server_workers: int = 2,
    settings: Mapping[str, str] | None = None,
) -> Iterator[Site]:
    """The schema upgraded, `servers` servers running and healthy (no worker yet); every
    process it or the test started stopped on exit (SIGTERM, SIGKILL past a deadline).
    `smtp_url=None` leaves mail to files in the folder, the default of `make run`."""
    extra = {**FAST_JOBS, **(settings or {})}
    if smtp_url is not None:  # else the worker writes emails to files, as under `make run`
        extra["STOREKEEPER_SMTP_URL"] = smtp_url
    if database_url is not None:
        extra["STOREKEEPER_DATABASE_URL"] = database_url
    folder.mkdir(parents=True, exist_ok=True)
    env = server_env(str(folder), **extra)
    subprocess.run([BIN / "storekeeper", "db", "upgrade"], env=env, check=True, timeout=120)
    url = normalise_database_url(database_url or f"sqlite:///{folder / 'storekeeper.db'}")
    site = Site(folder, env, url)
    with ExitStack() as stack:
        for index in range(servers):
            own = folder / f"server-{index}"
            own.mkdir()
            # One instance folder (the secret key, the SQLite file); a log of its own each.
            base, _ = stack.enter_context(server_process(str(own), env, server_workers))
            site.bases.append(base)
        try:
            yield site
        finally:
            site.stop_workers()


def poll_until(
    done: Callable[[], bool],
    timeout_s: float,
    why: Callable[[], str],
    alive: subprocess.Popen[bytes] | None = None,
) -> None:
    """Return once `done()`; AssertionError with `why()` at the deadline, or when `alive` exits."""
    deadline = time.monotonic() + timeout_s
    while not done():
        if alive is not None and alive.poll() is not None:
            raise AssertionError(f"exited with {alive.returncode}: {why()}")
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout_s} s: {why()}")
        time.sleep(POLL_S)


def mail_to(server: MailServer, address: str) -> list[Received]:
    """Every mail received for `address`."""
    return [mail for mail in server.received if address in mail.rcpt_tos]


def wait_for_addresses(
    server: MailServer, addresses: Iterable[str], timeout_s: float = DELIVERY_S
) -> Counter[str]:
    """How many mails each address received, once every one of `addresses` has one."""
    wanted = set(addresses)

    def counts() -> Counter[str]:
        return Counter(to for mail in server.received for to in mail.rcpt_tos)

    poll_until(
        lambda: wanted <= set(counts()),
        timeout_s,
        lambda: f"no mail yet for {sorted(wanted - set(counts()))[:10]}",
    )
    return counts()


def wait_for_jobs(
    site: Site, done: Callable[[list[JobRow]], bool], timeout_s: float
) -> list[JobRow]:
    """The jobs table once `done(rows)` holds."""
    rows: list[JobRow] = []

    def check() -> bool:
        nonlocal rows
        rows = site.jobs()
        return done(rows)

    poll_until(check, timeout_s, lambda: f"jobs: {Counter((r.status, r.attempts) for r in rows)}")
    return rows


def duplicates(counts: Counter[str]) -> dict[str, int]:
    """The addresses that received more than one mail, and how many."""
    return {address: n for address, n in sorted(counts.items()) if n > 1}


def register(
    http: requests.Session, base: str, username: str, email: str, password: str
) -> requests.Response:
    """POST /register with an email."""
    body = {"username": username, "password": password, "email": email}
    return http.post(f"{base}/register", json=body, timeout=START_S)


def sign_in(http: requests.Session, base: str, username: str, password: str) -> requests.Response:
    """POST /login."""
    body = {"username": username, "password": password}
    return http.post(f"{base}/login", json=body, timeout=START_S)


def token_of(mail: Received, page: str) -> str:
    """The token of the one link to `page` (e.g. /console/verify) in a mail."""
    words = [word for word in mail.text.split() if f"{page}#token=" in word]
    assert len(words) == 1, mail.text
    return words[0].split("#token=", 1)[1]
