"""Workers SIGKILLed under a write load: each is replaced, nothing acknowledged is lost.

A worker is killed every KILL_EVERY_S (once both have started) while writers
create items and link tags and a poller keeps asking /health. Afterwards every acknowledged
write is there, no write is half done, and the server never stopped answering. Bounds are
hang detectors, not speed claims.
"""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import pytest
import requests

from bench.load import call, create_item
from tests.e2e.live import BIN, database_url, login_token, server_env, server_process

KILLS = 20
KILL_EVERY_S = 2.0
_READY = re.compile(r"worker (\d+) ready")
HANG_S = 30.0
WRITERS = 3


@dataclass
class Ledger:
    """What the server acknowledged, and anything it answered that it never should."""

    items: set[int] = field(default_factory=set)
    links: set[tuple[int, int]] = field(default_factory=set)
    deleted_stores: set[int] = field(default_factory=set)
    bad_answers: list[str] = field(default_factory=list)
    polls: int = 0
    poll_failures_in_a_row: int = 0
    worst_poll_streak: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    timeout_s: float = HANG_S

    def answered(self, what: str, answer: requests.Response | None, seconds: float) -> None:
        """Any 5xx is a bad answer; a cut connection (None) is only unacknowledged."""
        if answer is not None and answer.status_code >= 500:
            with self.lock:
                self.bad_answers.append(f"{what}: {answer.status_code} {answer.text}")

    def hung(self, what: str) -> None:
        with self.lock:
            self.bad_answers.append(f"{what}: no answer within {self.timeout_s} s")

    def acknowledge(self, item: int) -> None:
        with self.lock:
            self.items.add(item)


def _workers(arbiter: int) -> list[int]:
    found = subprocess.run(
        ["pgrep", "-P", str(arbiter)], capture_output=True, text=True, check=False
    ).stdout.split()
    return sorted(int(pid) for pid in found)


def _age_s(pid: int) -> float:
    """How long a process has been running (0 when it is gone)."""
    try:
        started = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, IndexError, ValueError):
        return 0.0
    return uptime - started / os.sysconf("SC_CLK_TCK")


def _writer(
    base: str, token: str, store: int, tag: int, n: int, stop: threading.Event, ledger: Ledger
) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    with requests.Session() as session:
        session.headers.update(headers)
        serial = 0
        while not stop.is_set():
            serial += 1
            body = {"name": f"w{n}-{serial}", "price": 1.25, "quantity": serial}
            item = create_item(ledger, session, f"{base}/store/{store}/item", body)
            if item is None:
                continue
            linked = call(ledger, session, "POST", f"{base}/item/{item}/tag/{tag}")
            if linked is not None and linked.status_code == 201:
                with ledger.lock:
                    ledger.links.add((item, tag))
            if serial % 10 == 0:
                _delete_a_store(base, session, n, serial, ledger)


def _delete_a_store(
    base: str, session: requests.Session, n: int, serial: int, ledger: Ledger
) -> None:
    """Create a store with items, then delete it: a multi-row write that must be all or nothing."""
    store = call(ledger, session, "POST", f"{base}/store", json={"name": f"gone-{n}-{serial}"})
    if store is None or store.status_code != 201:
        return
    store_id = store.json()["id"]
    for i in range(3):
        call(
            ledger,
            session,
            "POST",
            f"{base}/store/{store_id}/item",
            json={"name": f"g{i}", "price": 2},
        )
    deleted = call(ledger, session, "DELETE", f"{base}/store/{store_id}")
    if deleted is not None and deleted.status_code == 204:
        with ledger.lock:
            ledger.deleted_stores.add(store_id)


def _poller(base: str, stop: threading.Event, ledger: Ledger) -> None:
    while not stop.is_set():
        try:
            # A fresh connection each time: new clients must keep getting in.
            ok = requests.get(f"{base}/health", timeout=HANG_S).status_code == 200
        except requests.Timeout:
            with ledger.lock:
                ledger.bad_answers.append(f"/health: no answer within {HANG_S} s")
            ok = False
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
            ok = False  # the poll's worker was the one killed; the next poll must succeed
        with ledger.lock:
            ledger.polls += 1
            ledger.poll_failures_in_a_row = 0 if ok else ledger.poll_failures_in_a_row + 1
            ledger.worst_poll_streak = max(ledger.worst_poll_streak, ledger.poll_failures_in_a_row)
        time.sleep(0.05)


def _ready(log: Path) -> set[int]:
    """The workers that have said, in the server's log, that they finished starting."""
    return {int(pid) for pid in _READY.findall(log.read_text(errors="replace"))}


def _kill_workers(arbiter: int, log: Path) -> int:
    """SIGKILL the oldest worker every KILL_EVERY_S, but only once both workers are ready.

    Killing a worker whose peer is still starting would, on a loaded machine, leave nobody
    to serve (or kill workers before they ever start): that tests the machine, not the server.
    """
    kills = 0
    deadline = time.monotonic() + KILLS * KILL_EVERY_S * 10
    while kills < KILLS and time.monotonic() < deadline:
        time.sleep(KILL_EVERY_S if kills else 0.5)
        workers = _workers(arbiter)
        while len(workers) < 2 or not set(workers) <= _ready(log):
            if time.monotonic() > deadline:
                return kills  # the replacements never came: the assertion on kills says so
            time.sleep(0.2)
            workers = _workers(arbiter)
        os.kill(max(workers, key=_age_s), signal.SIGKILL)
        kills += 1
    return kills


def _verify(base: str, ledger: Ledger) -> None:
    with requests.Session() as session:
        for item in sorted(ledger.items):
            answer = session.get(f"{base}/item/{item}", timeout=HANG_S)
            assert answer.status_code == 200, f"acknowledged item {item} is missing"
        for item, tag in sorted(ledger.links):
            tags = session.get(f"{base}/item/{item}", timeout=HANG_S).json()["tags"]
            assert tag in {t["id"] for t in tags}, f"acknowledged link {item}->{tag} is missing"
        for store in sorted(ledger.deleted_stores):
            assert session.get(f"{base}/store/{store}", timeout=HANG_S).status_code == 404


def _check_sqlite(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []


def _orphans_in_postgres(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            "SELECT (SELECT count(*) FROM items WHERE store_id NOT IN (SELECT id FROM stores))"
            " + (SELECT count(*) FROM item_tags WHERE item_id NOT IN (SELECT id FROM items))"
        ).fetchone()
    assert row is not None
    return int(row[0])


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_twenty_worker_kills_under_writes_lose_nothing(backend: str) -> None:
    with database_url(backend) as url, tempfile.TemporaryDirectory() as instance:
        extra = {} if url is None else {"STOREKEEPER_DATABASE_URL": url}
        env = server_env(instance, **extra)
        subprocess.run([BIN / "storekeeper", "db", "upgrade"], env=env, check=True, timeout=120)
        ledger = Ledger()
        with server_process(instance, env) as (base, proc):
            token = login_token(base)
            auth = {"Authorization": f"Bearer {token}"}
            store = requests.post(
                f"{base}/store", json={"name": "Kept"}, headers=auth, timeout=HANG_S
            )
            tag = requests.post(
                f"{base}/store/{store.json()['id']}/tag",
                json={"name": "t"},
                headers=auth,
                timeout=HANG_S,
            )
            stop = threading.Event()
            threads = [
                threading.Thread(
                    target=_writer,
                    args=(base, token, store.json()["id"], tag.json()["id"], n, stop, ledger),
                )
                for n in range(WRITERS)
            ]
            threads.append(threading.Thread(target=_poller, args=(base, stop, ledger)))
            for thread in threads:
                thread.start()
            try:
                kills = _kill_workers(proc.pid, Path(instance) / "server.log")
            finally:
                stop.set()
                for thread in threads:
                    thread.join(HANG_S)
            assert kills == KILLS
            assert proc.poll() is None, "the server itself died"
            assert len(_workers(proc.pid)) >= 1
            assert ledger.bad_answers == []
            assert ledger.items, "no write was acknowledged at all"
            assert ledger.polls > KILLS
            assert ledger.worst_poll_streak <= 1, "/health stopped answering"
            _verify(base, ledger)
        if url is None:
            _check_sqlite(Path(instance) / "storekeeper.db")
        else:
            assert _orphans_in_postgres(url.replace("postgresql+psycopg://", "postgresql://")) == 0
