"""`make soak`: a long mixed load, hostile requests and a worker SIGKILL a minute.

Readers, a writer, a login loop and a hostile client (idle sockets, half-sent headers and
bodies, huge numbers, NUL characters, made-up methods, malformed HTTP, oversized bodies) run
against a seeded `storekeeper serve --workers 2` while the oldest worker is SIGKILLed once a
minute. The summary gives requests, answers by class, p99 latency and worker memory per
minute; the run fails on any 500 or any acknowledged write missing afterwards.
Results go to bench/results/soak/latest.{json,md}.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import socket
import sqlite3
import statistics
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import requests

from bench.load import call, create_item
from bench.run import Mode, storekeeper, worker_rss_mb

OUT = Path(__file__).with_name("results") / "soak"
TIMEOUT_S = 30.0
IDLE_SOCKETS = 100


@dataclass
class Stats:
    """Everything the clients saw, per minute and in total."""

    started: float = field(default_factory=time.monotonic)
    classes: Counter[str] = field(default_factory=Counter)
    latencies: dict[int, list[float]] = field(default_factory=lambda: defaultdict(list))
    server_errors: list[str] = field(default_factory=list)
    acknowledged: set[int] = field(default_factory=set)
    kills: int = 0
    memory: dict[int, list[float]] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    timeout_s: float = TIMEOUT_S

    def minute(self) -> int:
        return int((time.monotonic() - self.started) // 60)

    def answered(self, what: str, answer: requests.Response | None, seconds: float) -> None:
        with self.lock:
            if answer is None:
                self.classes["connection cut"] += 1
                return
            self.classes[f"{answer.status_code // 100}xx"] += 1
            if answer.status_code == 503:
                self.classes["503"] += 1
            self.latencies[self.minute()].append(seconds)
            if answer.status_code >= 500 and answer.status_code != 503:
                self.server_errors.append(f"{what}: {answer.status_code} {answer.text[:200]}")

    def hung(self, what: str) -> None:
        with self.lock:
            self.classes["timed out"] += 1
            self.server_errors.append(f"{what}: no answer in {self.timeout_s} s")

    def acknowledge(self, item: int) -> None:
        with self.lock:
            self.acknowledged.add(item)


def reader(base: str, items: int, stop: threading.Event, stats: Stats) -> None:
    paths: list[Callable[[], str]] = [
        lambda: f"/item/{random.randint(1, items)}",
        lambda: f"/store/{random.randint(1, 5)}",
        lambda: "/item?limit=50",
        lambda: f"/item?q=item {random.randint(1, 99)}&sort=-price",
        # Full-text search while the writers add "soak <n> ..." items: the index keeps up.
        lambda: f"/item?search=soak {random.randint(1, 99)}",
        lambda: f"/store/{random.randint(1, 5)}/item?in_stock=true",
    ]
    with requests.Session() as session:
        while not stop.is_set():
            call(stats, session, "GET", base + random.choice(paths)())


def writer(base: str, token: str, stop: threading.Event, stats: Stats) -> None:
    with requests.Session() as session:
        session.headers["Authorization"] = f"Bearer {token}"
        serial = 0
        while not stop.is_set():
            serial += 1
            body = {"name": f"soak {serial} {random.random()}", "price": 19.99}
            item = create_item(stats, session, f"{base}/store/1/item", body)
            if item is None:
                continue
            read = call(stats, session, "GET", f"{base}/item/{item}")
            if read is not None and read.status_code == 200:
                call(
                    stats,
                    session,
                    "PATCH",
                    f"{base}/item/{item}",
                    json={"quantity": serial},
                    headers={"If-Match": read.headers["ETag"]},
                )


def logins(base: str, stop: threading.Event, stats: Stats) -> None:
    body = {"username": "bencher", "password": "bench-password"}
    with requests.Session() as session:
        while not stop.wait(7.0):  # under the default limit of 10 a minute per address
            call(stats, session, "POST", f"{base}/login", json=body)


def _raw(base: str, payload: bytes, hold_s: float = 0.0) -> None:
    host, port = base.removeprefix("http://").split(":")
    try:
        with socket.create_connection((host, int(port)), timeout=TIMEOUT_S) as sock:
            sock.sendall(payload)
            if hold_s:
                time.sleep(hold_s)
            sock.recv(65536)
    except OSError:
        pass


def hostile(base: str, token: str, stop: threading.Event, stats: Stats) -> None:
    """One hostile request every half second, and a pool of idle sockets kept full."""
    auth = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    head = f"POST /store HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n"
    attacks: list[Callable[[requests.Session], object]] = [
        lambda s: call(
            stats,
            s,
            "POST",
            f"{base}/store/1/item",
            data=b'{"name":"q","price":1,"quantity":1e400000}',
            headers=auth,
        ),
        lambda s: call(stats, s, "GET", f"{base}/store?q=%00"),
        lambda s: call(
            stats, s, "POST", f"{base}/login", json={"username": "a\x00b", "password": "x" * 8}
        ),
        lambda s: call(stats, s, f"FOO{random.randint(1, 10**6)}", f"{base}/store"),
        lambda s: call(stats, s, "POST", f"{base}/store", data=b"x" * (2 << 20), headers=auth),
        lambda s: call(stats, s, "GET", f"{base}//store/1"),
        lambda s: _raw(base, b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n"),
        lambda s: _raw(base, b"POST /store HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"),
        lambda s: _raw(base, b"GET /" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"),
        lambda s: _raw(base, b"GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ", hold_s=8),
        lambda s: _raw(base, (head + "Content-Length: 1000\r\n\r\n").encode() + b'{"na', 12),
    ]
    idle: list[socket.socket] = []
    host, port = base.removeprefix("http://").split(":")
    with requests.Session() as session:
        while not stop.wait(0.5):
            idle = [sock for sock in idle if _still_open(sock)]
            while len(idle) < IDLE_SOCKETS:
                idle.append(socket.create_connection((host, int(port)), timeout=TIMEOUT_S))
            threading.Thread(target=random.choice(attacks), args=(session,), daemon=True).start()
    for sock in idle:
        sock.close()


def _still_open(sock: socket.socket) -> bool:
    sock.setblocking(False)
    try:
        if sock.recv(1) == b"":
            sock.close()
            return False
    except BlockingIOError:
        return True
    except OSError:
        sock.close()
        return False
    return True


def killer(server_pid: int, stop: threading.Event, stats: Stats) -> None:
    while not stop.wait(60.0):
        workers = sorted(_children(server_pid))
        with stats.lock:
            stats.memory[stats.minute()] = worker_rss_mb(server_pid)
        if workers:
            os.kill(workers[0], signal.SIGKILL)  # the oldest: the youngest may be starting
            with stats.lock:
                stats.kills += 1


def _children(pid: int) -> list[int]:
    found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [int(child) for child in found]


def lost_writes(db_url: str, acknowledged: set[int]) -> list[int]:
    """Acknowledged item ids that are not in the database."""
    if db_url.startswith("sqlite"):
        with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
            present = {row[0] for row in conn.execute("SELECT id FROM items")}
            assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    else:
        with psycopg.connect(db_url) as conn:
            present = {row[0] for row in conn.execute("SELECT id FROM items")}
    return sorted(acknowledged - present)


def summary(stats: Stats, minutes: float, backend: str, lost: list[int]) -> dict[str, Any]:
    per_minute = []
    for minute in sorted(stats.latencies):
        samples = sorted(stats.latencies[minute])
        p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))] if samples else 0.0
        per_minute.append(
            {
                "minute": minute,
                "requests": len(samples),
                "p50_ms": round(statistics.median(samples) * 1000, 1) if samples else 0.0,
                "p99_ms": round(p99 * 1000, 1),
                "worker_rss_mb": stats.memory.get(minute, []),
            }
        )
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "backend": backend,
        "minutes": minutes,
        "requests": sum(stats.classes.values()),
        "answers_by_class": dict(sorted(stats.classes.items())),
        "answers_500": stats.classes.get("5xx", 0) - stats.classes.get("503", 0),
        "failures": len(stats.server_errors),
        "server_errors": stats.server_errors[:20],
        "worker_kills": stats.kills,
        "acknowledged_writes": len(stats.acknowledged),
        "lost_writes": len(lost),
        "per_minute": per_minute,
    }


def write(report: dict[str, Any]) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"# Soak run, {report['when']} ({report['backend']}, {report['minutes']} minutes)",
        "",
        f"- requests: {report['requests']:,}; answers by class: {report['answers_by_class']}",
        f"- answers of 500: {report['answers_500']}; requests with no answer in 30 s: "
        f"{report['answers_by_class'].get('timed out', 0)}; worker kills: {report['worker_kills']}",
        f"- acknowledged writes: {report['acknowledged_writes']:,}; lost: {report['lost_writes']}",
        "",
        "| minute | requests | p50 ms | p99 ms | worker RSS MiB |",
        "| ---: | ---: | ---: | ---: | --- |",
    ]
    for row in report["per_minute"]:
        rss = ", ".join(f"{mb:.0f}" for mb in row["worker_rss_mb"]) or "—"
        lines.append(
            f"| {row['minute']} | {row['requests']:,} | {row['p50_ms']} | {row['p99_ms']} | {rss} |"
        )
    (OUT / "latest.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args(argv)
    mode = Mode(
        duration=0, reps=0, stores=5, items_per_store=200, backends=(args.backend,), deep_page=0
    )
    # The default login limit stays on: the login loop and the hostile client live under it.
    with storekeeper(args.backend, mode, login_limit=None) as (base, token, db_url, sizes):
        stats = Stats()
        stop = threading.Event()
        items = sizes.get("items", 1000)
        threads = [
            threading.Thread(target=reader, args=(base, items, stop, stats)) for _ in range(3)
        ]
        threads += [
            threading.Thread(target=writer, args=(base, token, stop, stats)),
            threading.Thread(target=logins, args=(base, stop, stats)),
            threading.Thread(target=hostile, args=(base, token, stop, stats)),
            threading.Thread(target=killer, args=(sizes["server_pid"], stop, stats)),
        ]
        for thread in threads:
            thread.start()
        try:
            stop.wait(args.minutes * 60)
        finally:
            stop.set()
            for thread in threads:
                thread.join(TIMEOUT_S * 2)
        lost = lost_writes(
            db_url.replace("postgresql+psycopg://", "postgresql://"), stats.acknowledged
        )
    report = summary(stats, args.minutes, args.backend, lost)
    write(report)
    print((OUT / "latest.md").read_text())
    return 1 if report["failures"] or report["lost_writes"] else 0


if __name__ == "__main__":
    raise SystemExit(main())
