"""Which job queue: each candidate's enqueue cost, round trip and throughput on each engine.

The measurements behind "Background work: the queue" in docs/architecture.md (issue 20). The
candidates are not in the project's locks: install them in a scratch virtual environment outside
the repository and run this file with that interpreter, from the repository's root:

    python3 -m venv /tmp/qvenv
    /tmp/qvenv/bin/pip install huey==3.5.4 peewee 'psycopg[binary]' redis rq 'dramatiq[redis]' \
        procrastinate gevent
    /tmp/qvenv/bin/python bench/queue_choice.py                      # every case, 3 repeats
    /tmp/qvenv/bin/python bench/queue_choice.py --case huey-sqlite --repeats 1

PostgreSQL at 127.0.0.1:5432 (user postgres, trust auth): every repeat creates a database of
its own, queuebench_<pid>, and drops it. Redis at 127.0.0.1:6379: database 14, flushed before
every repeat and at the end. A case whose engine is unreachable is skipped.

Per case and repeat, with a fresh queue each time:
  enqueue     one enqueue as the caller sees it, no worker running (what a request pays after
              its commit): median and p95 of --enqueues calls after 200 warm-up calls;
  throughput  one worker (one thread or process) drains the no-op tasks left by the enqueue
              step, topped up to --fill: tasks started per second from its first task, for
              --seconds;
  round trip  one worker running, one task at a time, 5 ms apart: enqueue to task start,
              median and p95 of --tasks tasks after 10 warm-up tasks.
The figures printed are the medians of the repeats. Workers' polling, where they poll: huey's
consumer on SQL storages `-d 0.05 -m 1.0 -b 1.15` (first poll delay, ceiling, back-off), Dramatiq's
Redis consumer its default back-off up to worker_timeout=1000 ms; huey on Redis and PostgreSQL
(BRPOP, LISTEN/NOTIFY), RQ (BLPOP) and procrastinate (LISTEN/NOTIFY) wait without polling.

--gevent adds, per case, the enqueue cost inside a gevent-patched process, from 1 and from 8
greenlets at once (a gunicorn+gevent worker's requests share its queue client).

Tasks report their start on the worker's stdout ("T <enqueued at> <started at>", monotonic clock,
which Linux shares between processes); the worker is this file run with --worker.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import logging
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

PG_SERVER = "host=127.0.0.1 port=5432 user=postgres"
REDIS_URL = "redis://127.0.0.1:6379/14"
QUEUE = "bench"
CASES = [
    "huey-sqlite",
    "huey-postgres",
    "huey-sqlhuey-postgres",
    "huey-redis",
    "procrastinate-postgres",
    "rq-redis",
    "rq-simple-redis",
    "dramatiq-redis",
]
# The consumer's polling of the SQL storages: first delay, ceiling, back-off factor.
HUEY_POLL = {"initial_delay": 0.05, "max_delay": 1.0, "backoff": 1.15}

Send = Callable[[float], None]


def _mod(name: str) -> Any:
    """An optional candidate's module, typed Any: none of them is in the project's locks."""
    return importlib.import_module(name)


def _mark(enqueued: float) -> None:
    """The task of every candidate: report when it started, then do nothing."""
    sys.stdout.write(f"T {enqueued!r} {time.monotonic()!r}\n")
    sys.stdout.flush()


def _engine(case: str) -> str:
    return case.rsplit("-", 1)[1]


# -- the candidates: a producer's `send` and a worker's main loop, per case ------------------


def _huey(case: str, env: dict[str, str]) -> Any:
    if case == "huey-sqlite":
        return _mod("huey").SqliteHuey(QUEUE, filename=env["sqlite"], results=False)
    if case == "huey-postgres":
        return _mod("huey").PostgresHuey(QUEUE, dsn=env["dsn"], results=False)
    if case == "huey-sqlhuey-postgres":
        database = _mod("playhouse.postgres_ext").Psycopg3Database(
            env["dbname"], host="127.0.0.1", port=5432, user="postgres"
        )
        return _mod("huey.contrib.sql_huey").SqlHuey(QUEUE, database=database, results=False)
    return _mod("huey").RedisHuey(QUEUE, url=env["redis"], results=False)


def _procrastinate(env: dict[str, str], worker: bool) -> Any:
    procrastinate = _mod("procrastinate")
    # Not its warning that the app is made in __main__: the worker is this same file.
    logging.getLogger("procrastinate.app").setLevel(logging.ERROR)
    connector = (
        procrastinate.PsycopgConnector(conninfo=env["dsn"])
        if worker
        else procrastinate.SyncPsycopgConnector(conninfo=env["dsn"])
    )
    app = procrastinate.App(connector=connector)
    app.task(name="mark", queue=QUEUE)(_mark)
    return app


def _dramatiq(env: dict[str, str]) -> tuple[Any, Any]:
    dramatiq = _mod("dramatiq")
    broker = _mod("dramatiq.brokers.redis").RedisBroker(url=env["redis"])
    dramatiq.set_broker(broker)
    actor = dramatiq.actor(_mark, actor_name="mark", queue_name=QUEUE, max_retries=0)
    return broker, actor


def open_producer(case: str, env: dict[str, str]) -> tuple[Send, Callable[[], None]]:
    """The case's enqueue call and what closes its connections."""
    if case.startswith("huey-"):
        huey = _huey(case, env)
        task = huey.task(name="mark")(_mark)
        return task, huey.storage.close
    if case == "procrastinate-postgres":
        app = _procrastinate(env, worker=False)
        app.open()
        task = app.tasks["mark"]
        return (lambda enqueued: task.defer(enqueued=enqueued)), app.close
    if case.startswith("rq-"):
        redis = _mod("redis").Redis.from_url(env["redis"])
        queue = _mod("rq").Queue(QUEUE, connection=redis)
        # RQ refuses functions of __main__: the worker imports this file as bench.queue_choice.
        return (lambda enqueued: queue.enqueue("bench.queue_choice._mark", enqueued)), redis.close
    broker, actor = _dramatiq(env)
    return actor.send, broker.close


def run_worker(case: str, env: dict[str, str]) -> None:
    """One worker in this process until SIGINT, which each candidate takes as a graceful stop."""
    sys.stdout.write("ready\n")
    sys.stdout.flush()
    if case.startswith("huey-"):
        huey = _huey(case, env)
        huey.task(name="mark")(_mark)
        consumer = _mod("huey.consumer").Consumer(
            huey, workers=1, worker_type="thread", periodic=False, **HUEY_POLL
        )
        consumer.run()  # SIGINT: finish the task in hand; SIGTERM: interrupt it
    elif case == "procrastinate-postgres":
        _procrastinate(env, worker=True).run_worker(
            queues=[QUEUE], concurrency=1, install_signal_handlers=True
        )
    elif case.startswith("rq-"):
        rq = _mod("rq")
        redis = _mod("redis").Redis.from_url(env["redis"])
        kind = rq.SimpleWorker if case == "rq-simple-redis" else rq.Worker
        kind([rq.Queue(QUEUE, connection=redis)], connection=redis).work(
            logging_level="WARNING", with_scheduler=False
        )
    else:
        broker, _ = _dramatiq(env)
        worker = _mod("dramatiq").Worker(broker, worker_threads=1, worker_timeout=1000)
        stop = threading.Event()
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        worker.start()
        stop.wait()
        worker.stop()


# -- the engines: a fresh, empty queue per repeat --------------------------------------------


def _reachable(engine: str) -> bool:
    try:
        if engine == "postgres":
            _mod("psycopg").connect(f"{PG_SERVER} dbname=postgres", connect_timeout=2).close()
        elif engine == "redis":
            _mod("redis").Redis.from_url(REDIS_URL, socket_timeout=2).ping()
    except Exception:
        return False
    return True


@contextlib.contextmanager
def fresh_engine(case: str) -> Iterator[dict[str, str]]:
    """Where the case's queue lives: its own SQLite file, PostgreSQL database or Redis db."""
    engine = _engine(case)
    with tempfile.TemporaryDirectory(prefix="queuebench-") as folder:
        env = {"sqlite": str(Path(folder) / "queue.db"), "redis": REDIS_URL}
        if engine == "postgres":
            name = f"queuebench_{os.getpid()}"
            admin = _mod("psycopg").connect(f"{PG_SERVER} dbname=postgres", autocommit=True)
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.execute(f"CREATE DATABASE {name}")
            env |= {"dbname": name, "dsn": f"{PG_SERVER} dbname={name}"}
            if case == "procrastinate-postgres":
                app = _procrastinate(env, worker=False)
                with app.open():
                    app.schema_manager.apply_schema()
            try:
                yield env
            finally:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
                admin.close()
            return
        redis = _mod("redis").Redis.from_url(REDIS_URL)
        redis.flushdb()
        try:
            yield env
        finally:
            redis.flushdb()
            redis.close()


class Worker:
    """A worker process of the case, and the task starts it reported."""

    def __init__(self, case: str, env: dict[str, str], log: Path) -> None:
        self.starts: list[tuple[float, float]] = []
        self._stderr = log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--worker", case, "--env", json.dumps(env)],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])},
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            if line.startswith("T "):
                _, enqueued, started = line.split()
                self.starts.append((float(enqueued), float(started)))

    def wait_for(self, count: int, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while len(self.starts) < count:
            if time.monotonic() > deadline or self.process.poll() is not None:
                return False
            time.sleep(0.0005)
        return True

    def stop(self) -> str:
        """SIGINT, then SIGKILL after 10 s: how it went."""
        self.process.send_signal(signal.SIGINT)
        try:
            code = self.process.wait(10)
            outcome = "graceful" if code == 0 else f"exit {code}"
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            outcome = "killed"
        self._reader.join(2)
        self._stderr.close()
        return outcome


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20)[18]


def measure_enqueue(send: Send, count: int) -> tuple[float, float]:
    """Median and p95 of one enqueue, in ms, after 200 warm-up calls."""
    for _ in range(200):
        send(time.monotonic())
    costs = []
    for _ in range(count):
        start = time.perf_counter()
        send(time.monotonic())
        costs.append((time.perf_counter() - start) * 1000)
    return statistics.median(costs), _p95(costs)


def measure_throughput(worker: Worker, queued: int, seconds: float) -> float:
    """Tasks started per second by the worker, from its first task."""
    if not worker.wait_for(1, 30):
        return float("nan")
    first = worker.starts[0][1]
    while time.monotonic() < first + seconds and len(worker.starts) < queued:
        if worker.process.poll() is not None:
            break
        time.sleep(0.01)
    started = [s for _, s in list(worker.starts) if s <= first + seconds]
    if len(started) < 2:
        return float("nan")
    return (len(started) - 1) / (started[-1] - first)


def measure_round_trip(send: Send, worker: Worker, tasks: int) -> tuple[float, float]:
    """Median and p95, in ms, from the enqueue call to the task's start, one task at a time."""
    latencies = []
    for i in range(tasks + 10):
        before = len(worker.starts)
        send(time.monotonic())
        if not worker.wait_for(before + 1, 30):
            return float("nan"), float("nan")
        enqueued, started = worker.starts[-1]
        if i >= 10:
            latencies.append((started - enqueued) * 1000)
        time.sleep(0.005)
    return statistics.median(latencies), _p95(latencies)


def run_case(case: str, args: argparse.Namespace, log: Path) -> dict[str, Any]:
    """One repeat of one case: enqueue, throughput, round trip."""
    result: dict[str, Any] = {}
    with fresh_engine(case) as env:
        send, close = open_producer(case, env)
        try:
            result["enqueue_ms"] = measure_enqueue(send, args.enqueues)
            for _ in range(max(0, args.fill - args.enqueues - 200)):
                send(time.monotonic())
            worker = Worker(case, env, log)
            result["per_second"] = measure_throughput(
                worker, max(args.fill, args.enqueues + 200), args.seconds
            )
            result["stop"] = worker.stop()
        finally:
            close()
    with fresh_engine(case) as env:
        send, close = open_producer(case, env)
        try:
            worker = Worker(case, env, log)
            result["round_trip_ms"] = measure_round_trip(send, worker, args.tasks)
            worker.stop()
        finally:
            close()
    return result


def gevent_enqueue(case: str, env: dict[str, str], greenlets: int, count: int) -> None:
    """In a gevent-patched process: one enqueue's cost when `greenlets` enqueue at once."""
    _mod("gevent.monkey").patch_all()
    gevent = _mod("gevent")
    send, close = open_producer(case, env)
    costs: list[float] = []

    def loop(n: int) -> None:
        for _ in range(n):
            start = time.perf_counter()
            send(time.monotonic())
            costs.append((time.perf_counter() - start) * 1000)

    loop(200)
    costs.clear()
    gevent.joinall([gevent.spawn(loop, count // greenlets) for _ in range(greenlets)])
    close()
    sys.stdout.write(json.dumps([statistics.median(costs), _p95(costs)]) + "\n")


def run_gevent(case: str, greenlets: int, count: int) -> tuple[float, float]:
    with fresh_engine(case) as env:
        out = subprocess.run(
            [
                *(sys.executable, __file__, "--gevent-worker", case, "--env", json.dumps(env)),
                *("--greenlets", str(greenlets), "--enqueues", str(count)),
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        ).stdout
    median, p95 = json.loads(out.splitlines()[-1])
    return float(median), float(p95)


def _median_of(runs: list[dict[str, Any]], key: str, index: int | None = None) -> float:
    values = [float(r[key] if index is None else r[key][index]) for r in runs]
    return statistics.median(values)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--case", action="append", choices=CASES, help="default: every case")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--enqueues", type=int, default=2000)
    parser.add_argument("--fill", type=int, default=4000, help="tasks queued for throughput")
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--tasks", type=int, default=200, help="round trips")
    parser.add_argument("--gevent", action="store_true", help="also enqueue under gevent")
    parser.add_argument("--out", type=Path, help="write the results as JSON")
    parser.add_argument("--worker", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--gevent-worker", choices=CASES, help=argparse.SUPPRESS)
    parser.add_argument("--greenlets", type=int, default=1, help=argparse.SUPPRESS)
    parser.add_argument("--env", default="{}", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.worker:
        run_worker(args.worker, json.loads(args.env))
        return
    if args.gevent_worker:
        gevent_enqueue(args.gevent_worker, json.loads(args.env), args.greenlets, args.enqueues)
        return

    results: dict[str, Any] = {}
    log = Path(tempfile.gettempdir()) / "queue_choice_workers.log"
    print(f"workers' stderr: {log}")
    header = "| case | enqueue ms median/p95 | round trip ms median/p95 | tasks/s | stop |"
    if args.gevent:
        header += " gevent enqueue ms, 1 greenlet | 8 greenlets |"
    print(header)
    print("|---" * (header.count("|") - 1) + "|")
    for case in args.case or CASES:
        if not _reachable(_engine(case)):
            print(f"| {case} | skipped: {_engine(case)} unreachable |")
            continue
        runs = [run_case(case, args, log) for _ in range(args.repeats)]
        row: dict[str, Any] = {
            "enqueue_ms": [_median_of(runs, "enqueue_ms", i) for i in (0, 1)],
            "round_trip_ms": [_median_of(runs, "round_trip_ms", i) for i in (0, 1)],
            "per_second": _median_of(runs, "per_second"),
            "stop": sorted({r["stop"] for r in runs}),
            "runs": runs,
        }
        line = (
            f"| {case} | {row['enqueue_ms'][0]:.3f} / {row['enqueue_ms'][1]:.3f}"
            f" | {row['round_trip_ms'][0]:.1f} / {row['round_trip_ms'][1]:.1f}"
            f" | {row['per_second']:.0f} | {', '.join(row['stop'])} |"
        )
        if args.gevent:
            row["gevent_ms"] = {g: run_gevent(case, g, args.enqueues) for g in (1, 8)}
            line += "".join(
                f" {m:.3f} / {p:.3f} |" for m, p in (row["gevent_ms"][1], row["gevent_ms"][8])
            )
        print(line, flush=True)
        results[case] = row
    if args.out:
        args.out.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
