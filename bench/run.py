"""`make bench`: Storekeeper under load, as ratios against floors measured in the same run.

Every figure comes from wrk (a C load generator) against a real `storekeeper serve` with the
same worker count as the floors, on loopback. Each scenario runs a warm-up and REPS timed
repetitions; the medians are reported. Results go to bench/results/latest.{json,md}.

The reference floor is a minimal Flask endpoint on granian (the floor the performance targets
of docs/performance.md are ratios to); the same endpoint on Storekeeper's own server shows
what the server costs. The peers' figures (bench/peers.json) are divided by the reference
floor of the run that measured them and printed beside ours, so a regression is a number.

The cluster scenario (PostgreSQL) compares one instance of 2 workers served directly with two
instances of 1 worker behind nginx, run from deploy/nginx/storekeeper.conf as deploy/cluster.py
generates it: the same database, the same wrk settings, the two setups interleaved.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from functools import partial
from importlib.metadata import version
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests

from bench.seed import seed
from bench.workers import Watch, metrics_folder, worker_pids
from deploy.cluster import nginx_binary, write_nginx_config
from deploy.databases import fresh_database
from deploy.processes import free_port, running
from storekeeper.cli import server_command

ROOT = Path(__file__).resolve().parents[1]
LUA = Path(__file__).with_name("lua")
PEERS = Path(__file__).with_name("peers.json")
RESULTS = Path(__file__).with_name("results")
BIN = Path(sys.executable).parent
PG_ADMIN = os.environ.get(
    "STOREKEEPER_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
WORKERS = 2
CONNECTIONS = 32
# The crowd: as many connections as a shop's traffic behind a proxy may hold (issue 24).
CROWD = 256
THREADS = 2
SECRET = "bench-secret-" + "b" * 40
# The budgets of the one scenario that measures them: so large that wrk is never refused, so
# every request takes the common path (counted in memory, added to the store in batches).
BENCH_BUDGET = "1000000000/minute"
TOKEN_READ = "GET /item/{id} with token"  # noqa: S105 (a scenario name)
# The peer in bench/peers.json that is Storekeeper in issue 24's side-by-side run.
BASELINE = "Storekeeper 2026-12-06"
BUDGETED_TOKEN_READ = "GET /item/{id} with token, budgets on"  # noqa: S105
_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


@dataclass
class Mode:
    """How long and how big a run is."""

    duration: int
    reps: int
    stores: int
    items_per_store: int
    backends: tuple[str, ...]
    deep_page: int
    long: bool = False


@dataclass
class Result:
    """One scenario on one backend: medians of the repetitions."""

    scenario: str
    db: str
    rps: float
    p50_ms: float
    p99_ms: float
    # wrk's 99.9th percentile, where the script reports it (bench/lua: `done`).
    p999_ms: float | None = None
    connections: int = CONNECTIONS
    # To the reference floor (minimal Flask on granian), and to minimal Flask on our server.
    ratio_to_flask_floor: float | None = None
    p99_ratio_to_flask_floor: float | None = None
    ratio_to_server_floor: float | None = None
    non_2xx_3xx: int = 0
    reps: list[dict[str, float]] = field(default_factory=list)
    note: str = ""
    # Cluster scenario only: nginx + 2 x 1 worker over 1 x 2 workers direct (rps, p99).
    ratio_to_direct: float | None = None
    p99_ratio_to_direct: float | None = None
    # Each worker's share of each timed run (bench/workers.py), Storekeeper's servers only.
    workers: list[dict[str, list[Any]]] = field(default_factory=list)


# A seeded server on a busy machine may take a while; a stop waits for requests in flight.
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


def process(
    command: list[str], env: dict[str, str], base: str, ready: str = "/health"
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    """A server run from the checkout, healthy once `ready` answers 200, stopped on exit."""
    return running(
        command,
        env,
        base,
        cwd=ROOT,
        path=ready,
        start_timeout_s=START_TIMEOUT_S,
        stop_timeout_s=STOP_TIMEOUT_S,
    )


def floor_server(target: str, port: int) -> list[str]:
    """The command serving a floor exactly as `storekeeper serve` serves the app."""
    factory = target.endswith("flask_app")
    return [sys.executable, *server_command("127.0.0.1", port, WORKERS, target, factory)]


# The servers `measure` watches (bench/workers.py), by base URL: those storekeeper() started.
WATCHES: dict[str, Watch] = {}


def wrk(
    base: str,
    path: str,
    seconds: int,
    script: str | None = None,
    args: tuple[str, ...] = (),
    connections: int = CONNECTIONS,
) -> dict[str, float]:
    """One wrk run; requests per second, p50, p99 (and p99.9 when the script reports it) in
    ms, and non-2xx/3xx answers."""
    command = ["wrk", "-t", str(THREADS), "-c", str(connections), "-d", f"{seconds}s", "--latency"]
    if script:
        command += ["-s", str(LUA / script)]
    command.append(base + path)
    if args:
        command += ["--", *args]
    out = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 60, check=True
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    lat = {
        p: float(v) * _UNITS[u]
        for p, v, u in re.findall(r"^\s+(50|99)%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    }
    errors = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    found = {
        "rps": rps,
        "p50_ms": lat["50"],
        "p99_ms": lat["99"],
        "errors": float(errors.group(1)) if errors else 0.0,
    }
    tail = re.search(r"^p99\.9 (\d+) us$", out, re.M)
    if tail:
        found["p999_ms"] = int(tail.group(1)) / 1000
    return found


def timed_run(
    base: str,
    path: str,
    seconds: int,
    script: str | None,
    args: tuple[str, ...],
    connections: int,
    shares: list[dict[str, list[Any]]],
) -> dict[str, float]:
    """One timed wrk run; on a watched server, each worker's share of it too."""
    watch = WATCHES.get(base)
    if watch is None:
        return wrk(base, path, seconds, script, args, connections)
    with watch.run(seconds) as share:
        found = wrk(base, path, seconds, script, args, connections)
    shares.append(asdict(share))
    return found


def measure(
    name: str,
    db: str,
    base: str,
    path: str,
    mode: Mode,
    script: str | None = None,
    args: tuple[str, ...] = (),
    connections: int = CONNECTIONS,
) -> Result:
    """Warm up once, then REPS timed runs; medians."""
    wrk(base, path, max(1, mode.duration // 2), script, args, connections)
    shares: list[dict[str, list[Any]]] = []
    reps = [
        timed_run(base, path, mode.duration, script, args, connections, shares)
        for _ in range(mode.reps)
    ]
    return summarise(name, db, reps, shares, connections)


def measure_interleaved(
    servers: tuple[tuple[str, str], ...],
    db: str,
    path: str,
    mode: Mode,
    script: str | None = None,
    args: tuple[str, ...] = (),
) -> list[Result]:
    """The same load on several servers, (name, base) each: every one warmed up, then their
    timed runs taken in turns, so that a drift of the shared machine weighs on all alike."""
    for _, base in servers:
        wrk(base, path, max(1, mode.duration // 2), script, args)
    reps: list[list[dict[str, float]]] = [[] for _ in servers]
    shares: list[list[dict[str, list[Any]]]] = [[] for _ in servers]
    for _ in range(mode.reps):
        for taken, seen, (_, base) in zip(reps, shares, servers, strict=True):
            taken.append(timed_run(base, path, mode.duration, script, args, CONNECTIONS, seen))
    return [
        summarise(name, db, taken, seen)
        for (name, _), taken, seen in zip(servers, reps, shares, strict=True)
    ]


def summarise(
    name: str,
    db: str,
    reps: list[dict[str, float]],
    shares: list[dict[str, list[Any]]] | None = None,
    connections: int = CONNECTIONS,
) -> Result:
    """The medians of the repetitions of one scenario, printed as they come."""
    tails = [r["p999_ms"] for r in reps if "p999_ms" in r]
    result = Result(
        name,
        db,
        rps=statistics.median(r["rps"] for r in reps),
        p50_ms=statistics.median(r["p50_ms"] for r in reps),
        p99_ms=statistics.median(r["p99_ms"] for r in reps),
        p999_ms=statistics.median(tails) if tails else None,
        connections=connections,
        non_2xx_3xx=int(sum(r["errors"] for r in reps)),
        reps=reps,
        workers=shares or [],
    )
    tail = "" if result.p999_ms is None else f"  p99.9 {result.p999_ms:7.2f} ms"
    split = f"  {shown_shares(result.workers)}" if result.workers else ""
    print(
        f"  {db:10} {name:44} {result.rps:9.0f} rps  "
        f"p50 {result.p50_ms:6.2f} ms  p99 {result.p99_ms:6.2f} ms{tail}{split}",
        flush=True,
    )
    return result


def shown_shares(shares: list[dict[str, list[Any]]]) -> str:
    """Each worker's connections and share of the answers, run by run: "15/17 51/49 %; ..."."""
    runs = []
    for share in shares:
        total = sum(share["requests"]) or 1
        split = "/".join(f"{100 * n / total:.0f}" for n in share["requests"])
        waited = "/".join(f"{w:.2f}" for w in share["runqueue_s"])
        runs.append(f"{'/'.join(map(str, share['connections']))} conns {split} % waited {waited} s")
    return "; ".join(runs)


REFERENCE_FLOOR = "floor: minimal Flask on granian"
SERVER_FLOOR = "floor: minimal Flask"
# gunicorn's own sync workers (one request at a time each, no keep-alive): the tail to match.
SYNC_FLOOR = "floor: minimal Flask on gunicorn sync"


def granian_floor(port: int) -> list[str]:
    """The reference floor's command: the minimal Flask app on granian, as many workers."""
    return [
        str(BIN / "granian"),
        "--interface",
        "wsgi",
        "--workers",
        str(WORKERS),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--factory",
        "bench.floors:flask_app",
    ]


def sync_floor(port: int) -> list[str]:
    """Minimal Flask on gunicorn's default sync workers, as many."""
    return [
        str(BIN / "gunicorn"),
        *("--workers", str(WORKERS), "--bind", f"127.0.0.1:{port}", "--log-level", "warning"),
        "bench.floors:flask_app()",
    ]


def floors(mode: Mode) -> list[Result]:
    """The floors: bare WSGI and minimal Flask on our server, minimal Flask on granian and on
    gunicorn's sync workers."""
    found = []
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for name, target in (
        ("floor: bare WSGI", "bench.floors:bare_app"),
        (SERVER_FLOOR, "bench.floors:flask_app"),
        (REFERENCE_FLOOR, "granian"),
        (SYNC_FLOOR, "sync"),
    ):
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        if target == "granian":
            command = granian_floor(port)
        elif target == "sync":
            command = sync_floor(port)
        else:
            command = floor_server(target, port)
        with process(command, env, base, "/item/1"):
            found.append(measure(name, "-", base, "/item/1", mode))
    return found


@contextmanager
def database(backend: str) -> Iterator[str | None]:
    """None for the embedded SQLite default, else a fresh PostgreSQL database URL."""
    if backend == "sqlite":
        yield None
        return
    with fresh_database(PG_ADMIN, "storekeeper_bench") as url:
        yield url


def server_env(
    instance: str, url: str | None, login_limit: str | None = "1000000/minute", **extra: str
) -> dict[str, str]:
    """The environment of a benchmarked `storekeeper serve`: none of the caller's STOREKEEPER_*."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("STOREKEEPER_")}
    env |= {
        "STOREKEEPER_INSTANCE_PATH": instance,
        "STOREKEEPER_SECRET_KEY": SECRET,
        "STOREKEEPER_LOG_LEVEL": "WARNING",
        # Every scenario but one runs without request budgets (wrk would be refused in a
        # second); the one that measures their cost turns them on (budgeted_server).
        "STOREKEEPER_RATE_LIMIT": "off",
        "STOREKEEPER_WRITE_RATE_LIMIT": "off",
    }
    if login_limit is not None:
        env["STOREKEEPER_LOGIN_RATE_LIMIT"] = login_limit
        env["STOREKEEPER_REGISTER_RATE_LIMIT"] = login_limit
    if url:
        env["STOREKEEPER_DATABASE_URL"] = url
    return env | {f"STOREKEEPER_{name}": value for name, value in extra.items()}


@contextmanager
def storekeeper(
    backend: str,
    mode: Mode,
    items_per_store: int | None = None,
    login_limit: str | None = "1000000/minute",
) -> Iterator[tuple[str, str, str, dict[str, int]]]:
    """A seeded `storekeeper serve`; its base URL, an access token, the database URL, sizes.

    The login limit is lifted unless `login_limit` is None (the default limit then applies).
    """
    with (
        tempfile.TemporaryDirectory(prefix="storekeeper-bench-") as instance,
        database(backend) as url,
    ):
        # TMPDIR: the server's metrics folder lands in the instance, where Watch finds it.
        env = server_env(instance, url, login_limit) | {"TMPDIR": instance}
        db_url = url or f"sqlite:///{instance}/storekeeper.db"
        subprocess.run(
            [BIN / "storekeeper", "db", "upgrade"], env=env, check=True, capture_output=True
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        with process(
            [str(BIN / "storekeeper"), "serve", "--port", str(port), "--workers", str(WORKERS)],
            env,
            base,
        ) as proc:
            body = {"username": "bencher", "password": "bench-password"}
            requests.post(f"{base}/register", json=body, timeout=10).raise_for_status()
            token = requests.post(f"{base}/login", json=body, timeout=30).json()["access_token"]
            per_store = items_per_store or mode.items_per_store
            started = time.monotonic()
            sizes = seed(db_url, owner_id=1, stores=mode.stores, items_per_store=per_store)
            sizes["seed_ms"] = round((time.monotonic() - started) * 1000)
            sizes["server_pid"] = proc.pid
            WATCHES[base] = Watch(proc.pid, port, metrics_folder(Path(instance)))
            try:
                yield base, token, db_url, sizes
            finally:
                del WATCHES[base]


@contextmanager
def budgeted_server(db_url: str) -> Iterator[str]:
    """A second `storekeeper serve` on the same seeded database, with request budgets on."""
    with tempfile.TemporaryDirectory(prefix="storekeeper-bench-budgets-") as instance:
        env = server_env(
            instance,
            db_url,
            RATE_LIMIT=BENCH_BUDGET,
            WRITE_RATE_LIMIT=BENCH_BUDGET,
        )
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        command = [str(BIN / "storekeeper"), "serve", "--port", str(port)]
        with process([*command, "--workers", str(WORKERS)], env, base):
            yield base


def deep_cursor_path(base: str, depth: int) -> str:
    """The path of the page of 50 that starts `depth` items deep, reached by following Links."""
    path = "/item?limit=50"
    for _ in range(depth // 50):
        link = requests.get(base + path, timeout=30).headers["Link"]
        parts = urlsplit(link.split(";")[0].strip()[1:-1])
        path = f"{parts.path}?{parts.query}"
    return path


def worker_rss_mb(server_pid: int) -> list[float]:
    """Resident memory of each worker process of the server, in MiB."""
    sizes = []
    for pid in worker_pids(server_pid):
        try:
            rss = re.search(r"VmRSS:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text())
        except OSError:
            continue
        if rss:
            sizes.append(round(int(rss.group(1)) / 1024, 1))
    return sorted(sizes)


def scenarios(backend: str, mode: Mode, report: dict[str, Any]) -> list[Result]:
    """Every Storekeeper scenario on one backend."""
    found: list[Result] = []
    with storekeeper(backend, mode) as (base, token, db_url, sizes):
        report["seed"][backend] = sizes
        items = mode.stores * mode.items_per_store
        etag = requests.get(f"{base}/item/1", timeout=10).headers["ETag"]
        deep = deep_cursor_path(base, mode.deep_page)
        runs: list[tuple[str, str, str | None, tuple[str, ...]]] = [
            ("GET /item/{id}", "/", "random_get.lua", ("/item/", str(items))),
            ("GET /store/{id}", "/", "random_get.lua", ("/store/", str(mode.stores))),
            ("GET /item?limit=50", "/item?limit=50", None, ()),
            (f"GET /item?limit=50 ({mode.deep_page} deep)", deep, None, ()),
            ("GET /item?q=...&sort=-price", "/item?q=item%201&sort=-price&limit=50", None, ()),
            # Full-text search ranked by relevance (docs/performance.md): a narrow search
            # (every item has "item", store 3's items "3", a few of them a word from "45"),
            # and a broad one whose ~20 % of the items are all scored to rank them.
            ("GET /item?search=item 3-45", "/item?search=item+3-45&limit=50", None, ()),
            ("GET /item?search=item 3", "/item?search=item+3&limit=50", None, ()),
            (
                "GET /item/{id} If-None-Match (304)",
                "/item/1",
                "headers.lua",
                ("/item/1", "If-None-Match", etag),
            ),
            (TOKEN_READ, "/", "random_get.lua", ("/item/", str(items), token)),
            ("POST /item", "/", "post_item.lua", (token, "1")),
            # The same writes spread over every store: writes into one store used to queue on
            # its row's item count, now spread over slots (docs/performance.md).
            (
                f"POST /item (over {mode.stores} stores)",
                "/",
                "post_item.lua",
                (token, "1", str(mode.stores)),
            ),
            ("PATCH /item/{id} If-Match", "/", "patch_item.lua", (token, str(items))),
            ("mixed 90% GET / 10% PATCH", "/", "mixed.lua", (token, str(items))),
        ]
        for name, path, script, args in runs:
            if name != TOKEN_READ:
                found.append(measure(name, backend, base, path, mode, script, args))
                continue
            # The same read from a server whose budgets are on, in turns with this one: their
            # cost on every request, the machine's drift weighing on both alike.
            with budgeted_server(db_url) as budgeted:
                pair = ((name, base), (BUDGETED_TOKEN_READ, budgeted))
                found += measure_interleaved(pair, backend, path, mode, script, args)
        # The crowd (issue 24): the tail where a shop's traffic behind a proxy would put it.
        crowd: list[tuple[str, str, tuple[str, ...]]] = [
            (f"{TOKEN_READ}, {CROWD} connections", "random_get.lua", ("/item/", str(items), token)),
            (f"GET /item?limit=50, {CROWD} connections", "headers.lua", ("/item?limit=50",)),
        ]
        for name, script, args in crowd:
            found.append(measure(name, backend, base, "/", mode, script, args, CROWD))
        report["memory_mb_per_worker"][backend] = worker_rss_mb(sizes["server_pid"])
        # Each login costs ~25 ms of CPU: a run of a second or two under 32 connections may
        # finish none, so it always gets at least 5 seconds.
        login = measure(
            "POST /login (argon2id by design)",
            backend,
            base,
            "/login",
            replace(mode, duration=max(mode.duration, 5)),
            "headers.lua",
            (
                "/login",
                "--method",
                "POST",
                "--body",
                '{"username":"bencher","password":"bench-password"}',
                "Content-Type",
                "application/json",
            ),
        )
        login.note = "reported separately: the password hash costs ~20-30 ms of CPU by design"
        found.append(login)
        # The outbox's cost on a write: the same registration with an address also records
        # its welcome email as a job, in the same transaction (no worker runs here).
        for name, args in (("POST /register", ()), ("POST /register with email", ("email",))):
            registered = measure(name, backend, base, "/", mode, "register.lua", args)
            registered.note = "hashes a password (argon2id); compare the two: the job's cost"
            found.append(registered)
        if mode.long:
            found += long_runs(backend, mode, report, base, token, items)
    return found


CLUSTER_DIRECT = "1 instance x 2 workers, direct"
CLUSTER_NGINX = "2 instances x 1 worker, nginx"
CLUSTER_HOP = "1 instance x 2 workers, nginx"


@contextmanager
def nginx(ports: list[int], workdir: Path) -> Iterator[str]:
    """nginx in front of the instances on `ports`, as deploy/cluster.py configures it."""
    workdir.mkdir()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = write_nginx_config(("127.0.0.1", port), [("127.0.0.1", p) for p in ports], workdir)
    with process(command, dict(os.environ), base):
        yield base


@contextmanager
def behind_nginx(db_url: str, workdir: Path) -> Iterator[str]:
    """Two `storekeeper serve --workers 1` on `db_url` behind nginx; nginx's base URL.

    nginx runs the shipped site with the configuration deploy/cluster.py generates, as in
    `make cluster`; the instances trust it for client addresses and name it in their links.
    """
    workdir.chmod(0o755)  # nginx's workers (nobody, when run as root) reach their folders
    nginx_port = free_port()
    nginx_base = f"http://127.0.0.1:{nginx_port}"
    ports = [free_port() for _ in range(2)]
    with ExitStack() as stack:
        for number, port in enumerate(ports, start=1):
            instance = workdir / f"instance-{number}"
            instance.mkdir()
            env = server_env(
                str(instance), db_url, PUBLIC_URL=nginx_base, TRUSTED_PROXIES="127.0.0.1"
            )
            command = [str(BIN / "storekeeper"), "serve", "--port", str(port), "--workers", "1"]
            stack.enter_context(process(command, env, f"http://127.0.0.1:{port}"))
        nginx_dir = workdir / "nginx"
        nginx_dir.mkdir()
        command = write_nginx_config(
            ("127.0.0.1", nginx_port), [("127.0.0.1", port) for port in ports], nginx_dir
        )
        stack.enter_context(process(command, dict(os.environ), nginx_base))
        yield nginx_base


def cluster(mode: Mode, report: dict[str, Any]) -> list[Result]:
    """(a) one instance of 2 workers, direct, against (b) two of 1 worker behind nginx.

    A third setup, (c) the instance of (a) behind the same nginx configuration, separates
    the proxy hop from the change of topology. All serve the same seeded PostgreSQL database
    and run at once (an idle one costs next to nothing); each repetition measures all three,
    rotating which goes first, so a load that comes and goes on the machine falls on all alike.
    """
    found: list[Result] = []
    with (
        storekeeper("postgresql", mode) as (direct, token, db_url, sizes),
        tempfile.TemporaryDirectory(prefix="storekeeper-bench-cluster-") as raw,
        behind_nginx(db_url, Path(raw)) as proxied,
        nginx([int(urlsplit(direct).port or 0)], Path(raw) / "hop") as hop,
    ):
        report["seed"]["postgresql (cluster)"] = sizes
        items = str(mode.stores * mode.items_per_store)
        runs: list[tuple[str, str, str | None, tuple[str, ...]]] = [
            ("GET /item/{id}", "/", "random_get.lua", ("/item/", items)),
            ("GET /item?limit=50", "/item?limit=50", None, ()),
            ("mixed 90% GET / 10% PATCH", "/", "mixed.lua", (token, items)),
        ]
        warm = max(1, mode.duration // 2)
        bases = {CLUSTER_DIRECT: direct, CLUSTER_NGINX: proxied, CLUSTER_HOP: hop}
        setups = list(bases)
        for name, path, script, args in runs:
            reps: dict[str, list[dict[str, float]]] = {setup: [] for setup in bases}
            for base in bases.values():
                wrk(base, path, warm, script, args)
            for rep in range(mode.reps):
                shift = rep % len(setups)
                for setup in setups[shift:] + setups[:shift]:
                    reps[setup].append(wrk(bases[setup], path, mode.duration, script, args))
            a, b, c = (
                summarise(f"cluster: {name} ({setup})", "postgresql", reps[setup])
                for setup in setups
            )
            for r in (b, c):
                r.ratio_to_direct = round(r.rps / a.rps, 3)
                r.p99_ratio_to_direct = round(r.p99_ms / a.p99_ms, 3)
            print(
                f"  {'':10} {'(b) / (a)':44} {b.ratio_to_direct:9.2f} x rps  "
                f"p99 {b.p99_ratio_to_direct:.2f} x; (c) / (a) {c.ratio_to_direct:.2f} x rps  "
                f"p99 {c.p99_ratio_to_direct:.2f} x",
                flush=True,
            )
            report["cluster"].append(
                {
                    "scenario": name,
                    "direct": {"rps": a.rps, "p99_ms": a.p99_ms},
                    "nginx": {"rps": b.rps, "p99_ms": b.p99_ms},
                    "rps_ratio": b.ratio_to_direct,
                    "p99_ratio": b.p99_ratio_to_direct,
                    "nginx_one_instance": {"rps": c.rps, "p99_ms": c.p99_ms},
                    "hop_rps_ratio": c.ratio_to_direct,
                    "hop_p99_ratio": c.p99_ratio_to_direct,
                }
            )
            found += [a, b, c]
    return found


def long_runs(
    backend: str, mode: Mode, report: dict[str, Any], base: str, token: str, items: int
) -> list[Result]:
    """The 1,000,000-item scaling run and the 10-minute memory run."""
    found = []
    scaled = Mode(mode.duration, mode.reps, 10, 100_000, mode.backends, mode.deep_page, long=False)
    with storekeeper(backend, scaled) as (big, _token, _db, sizes):
        report["seed"][backend + " (1M)"] = sizes
        deep = deep_cursor_path(big, mode.deep_page)
        found.append(
            measure(
                f"GET /item?limit=50 ({mode.deep_page} deep, 1M items)", backend, big, deep, mode
            )
        )
        found.append(measure("GET /item?limit=50 (1M items)", backend, big, "/item?limit=50", mode))
        found.append(
            measure(
                "GET /item?search=item 3-4567 (1M items)",
                backend,
                big,
                "/item?search=item+3-4567&limit=50",
                mode,
            )
        )
    samples = []
    for minute in range(10):
        wrk(base, "/", 60, "mixed.lua", (token, str(items)))
        samples.append(
            {"minute": minute + 1, "rss_mb": worker_rss_mb(report["seed"][backend]["server_pid"])}
        )
    report["leak_check"][backend] = samples
    return found


def targets(results: list[Result]) -> list[dict[str, Any]]:
    """Each target of docs/performance.md with the measured value and a verdict.

    Ratios are to the reference floor (minimal Flask on granian) of this run; the FastAPI
    template's write is its figure over the reference floor of the run that measured it.
    """
    by = {(r.scenario, r.db): r for r in results}
    checks: list[dict[str, Any]] = []

    def check(what: str, goal: str, value: float, shown: str, met: bool) -> None:
        checks.append({"target": what, "goal": goal, "value": shown, "met": met, "x": value})

    def ratio(scenario: str, db: str, goal: float, what: str) -> None:
        r = by.get((scenario, db))
        if r and r.ratio_to_flask_floor is not None:
            value = r.ratio_to_flask_floor
            check(
                f"{what} ({db})",
                f">= {goal:.3f} of the floor",
                value,
                f"{value:.3f}",
                value >= goal,
            )

    template = "FastAPI full-stack template (PostgreSQL)"
    template_write = peer_ratio(template, "POST /item")
    tails = _peers().get("p99_ms", {})
    own, sync = by.get((SERVER_FLOOR, "-")), by.get((SYNC_FLOOR, "-"))
    if own and sync:
        value = own.p99_ms / sync.p99_ms
        check(
            "p99 of minimal Flask, our server vs gunicorn's sync workers",
            "<= 2x",
            value,
            f"{value:.2f}x ({own.p99_ms:.1f} / {sync.p99_ms:.1f} ms)",
            value <= 2.0,
        )
    for db in ("sqlite", "postgresql"):
        ratio("GET /item/{id}", db, 0.45 if db == "sqlite" else 0.20, "GET /item/{id}")
        plain, token = by.get(("GET /item/{id}", db)), by.get(("GET /item/{id} with token", db))
        if plain and token:
            value = token.rps / plain.rps
            check(
                f"GET /item/{{id}} with a token vs without ({db})",
                ">= 0.90x",
                value,
                f"{value:.2f}x",
                value >= 0.90,
            )
        budgeted = by.get((BUDGETED_TOKEN_READ, db))
        if token and budgeted:
            value = budgeted.rps / token.rps
            check(
                f"GET /item/{{id}} with a token, request budgets on vs off ({db})",
                ">= 0.95x",
                value,
                f"{value:.2f}x",
                value >= 0.95,
            )
        ratio("GET /store/{id}", db, 0.35, "GET /store/{id}")
        ratio("GET /item?limit=50", db, 0.15, "list page of 50")
        if db == "sqlite":
            ratio("POST /item", db, 0.05, "POST /item, synchronous=FULL")
        elif template_write is not None:
            ratio(
                "POST /item", db, round(1.5 * template_write, 4), "POST /item, 1.5x the template's"
            )
            write, template_p99 = (
                by.get(("POST /item", db)),
                tails.get(template, {}).get("POST /item"),
            )
            if write and template_p99:
                check(
                    f"p99 of POST /item ({db})",
                    f"<= the template's {template_p99} ms",
                    write.p99_ms,
                    f"{write.p99_ms:.1f} ms",
                    write.p99_ms <= template_p99,
                )
        course_p99 = tails.get("course final app (gunicorn, SQLite)", {}).get(TOKEN_READ)
        if token and course_p99:
            check(
                f"p99 of {TOKEN_READ} ({db})",
                f"<= the course app's {course_p99} ms",
                token.p99_ms,
                f"{token.p99_ms:.1f} ms",
                token.p99_ms <= course_p99,
            )
        then_peer = f"{BASELINE} ({'SQLite' if db == 'sqlite' else 'PostgreSQL'})"
        baseline = _peers()["peers"].get(then_peer, {})
        for scenario in baseline:
            then = peer_ratio(then_peer, scenario)
            now = by.get((scenario, db))
            if then and now and now.ratio_to_flask_floor is not None:
                value = now.ratio_to_flask_floor / then
                check(
                    f"{scenario} against issue 24's baseline ({db})",
                    ">= 0.95x",
                    value,
                    f"{value:.2f}x",
                    value >= 0.95,
                )
        big = next((r for (s, d), r in by.items() if d == db and "deep, 1M" in s), None)
        deep = next(
            (
                r
                for (s, d), r in by.items()
                if d == db and s.startswith("GET /item?limit=50 (") and "1M" not in s
            ),
            None,
        )
        if big and deep and deep.p50_ms > 0:
            value = big.p50_ms / deep.p50_ms
            check(
                f"deep page, 1M items vs 10k items ({db})",
                "<= 1.2x",
                value,
                f"{value:.2f}x",
                value <= 1.2,
            )
        for r in results:
            if (
                own
                and r.db == db
                and r.scenario.startswith("GET")
                and "1M" not in r.scenario
                and r.connections == CONNECTIONS
            ):
                value = r.p99_ms / own.p99_ms
                check(
                    f"p99 of {r.scenario} ({db})",
                    "<= 3x minimal Flask's on our server",
                    value,
                    f"{value:.2f}x",
                    value <= 3.0,
                )
    return checks


def _peers() -> dict[str, Any]:
    found: dict[str, Any] = json.loads(PEERS.read_text())
    return found


def peer_ratio(peer: str, scenario: str) -> float | None:
    """A peer's figure for a scenario over the reference floor of the run that measured it."""
    peers = _peers()
    rps = peers["peers"].get(peer, {}).get(scenario)
    floor = peers["floors"][peers["reference_floor"]]
    return None if rps is None else rps / floor


def _beside(
    scenarios: list[str],
    results: list[Result],
    ours: Callable[[Result], float | None],
    theirs: dict[str, Callable[[str], float | None]],
) -> list[dict[str, Any]]:
    """A row per scenario: our figure on each database beside each peer's."""
    by = {(r.scenario, r.db): r for r in results}
    rows = []
    for scenario in scenarios:
        row: dict[str, Any] = {"scenario": scenario}
        for db in ("sqlite", "postgresql"):
            r = by.get((scenario, db))
            row[f"storekeeper ({db})"] = ours(r) if r else None
        for peer, figure in theirs.items():
            row[peer] = figure(scenario)
        rows.append(row)
    return rows


def peer_table(results: list[Result]) -> list[dict[str, Any]]:
    """Per scenario the peers name: our ratios to this run's floor beside each peer's."""
    everything = _peers()
    peers = everything["peers"]
    named = [*peers.values(), *everything.get("p99_ms", {}).values()]
    scenarios = list(
        dict.fromkeys(s for figures in named for s in figures if s.startswith(("GET", "POST")))
    )
    theirs: dict[str, Callable[[str], float | None]] = {
        peer: partial(peer_ratio, peer) for peer in peers
    }
    return _beside(scenarios, results, lambda r: r.ratio_to_flask_floor, theirs)


def tail_table(results: list[Result]) -> list[dict[str, Any]]:
    """Per scenario bench/peers.json has a p99 for: ours (ms, this run) beside each peer's."""
    tails = {k: v for k, v in _peers().get("p99_ms", {}).items() if k != "floors"}
    scenarios = list(dict.fromkeys(s for figures in tails.values() for s in figures))
    theirs = {peer: figures.get for peer, figures in tails.items()}
    return _beside(scenarios, results, lambda r: r.p99_ms, theirs)


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    versions = {
        name: version(name)
        for name in ("flask", "gunicorn", "gevent", "sqlalchemy", "pydantic", "psycopg", "orjson")
    }
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True).stdout.split("\n")[
        0
    ]
    return {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "wrk": wrk_version.strip(),
        "versions": versions | {"granian": version("granian")},
        "workers": WORKERS,
        "connections": CONNECTIONS,
        "wrk_threads": THREADS,
    }


def _beside_peers(
    title: str, rows: list[dict[str, Any]], cell: Callable[[float | None], str]
) -> list[str]:
    """A markdown section: one row per scenario, our columns and then each peer's."""
    if not rows:
        return []
    names = [k for k in rows[0] if k != "scenario"]
    return [
        "",
        f"## {title}",
        "",
        "Storekeeper's columns are this run; the others are bench/peers.json.",
        "",
        "| scenario | " + " | ".join(names) + " |",
        "| --- |" + " ---: |" * len(names),
        *(
            f"| {row['scenario']} | " + " | ".join(cell(row[n]) for n in names) + " |"
            for row in rows
        ),
    ]


def write(report: dict[str, Any], results: list[Result], out: Path) -> None:
    """latest.json and latest.md in `out` (bench/results by default)."""
    out.mkdir(parents=True, exist_ok=True)
    report["scenarios"] = [asdict(r) for r in results]
    (out / "latest.json").write_text(json.dumps(report, indent=2) + "\n")
    lines = [
        f"# Storekeeper benchmark — {report['date']}",
        "",
        f"{report['machine']['cpus']} CPUs, {report['machine']['platform']}, "
        f"Python {report['machine']['python']}, "
        f"{report['machine']['wrk']}; {WORKERS} workers, wrk -t{THREADS} -c{CONNECTIONS}, "
        f"{report['mode']['reps']} x {report['mode']['duration']} s per scenario, medians.",
        "",
        "Ratios are to the reference floor, minimal Flask on granian; the last ratio column is "
        "to minimal Flask on Storekeeper's own server (gunicorn + gevent).",
        "",
        "| scenario | db | req/s | p50 ms | p99 ms | p99.9 ms | rps / floor | p99 / floor "
        "| rps / own server's floor | non-2xx/3xx |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]

    def shown(value: float | None) -> str:
        return "—" if value is None else f"{value:.3f}"

    for r in results:
        lines.append(
            f"| {r.scenario} | {r.db} | {r.rps:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} "
            f"| {'—' if r.p999_ms is None else f'{r.p999_ms:.2f}'} "
            f"| {shown(r.ratio_to_flask_floor)} | {shown(r.p99_ratio_to_flask_floor)} "
            f"| {shown(r.ratio_to_server_floor)} | {r.non_2xx_3xx} |"
        )
    watched = [r for r in results if r.workers]
    if watched:
        lines += [
            "",
            "## Each worker's share",
            "",
            "Per timed run: the connections each worker held, and its share of the answers "
            "(bench/workers.py).",
            "",
            "| scenario | db | connections | runs |",
            "| --- | --- | ---: | --- |",
        ]
        lines += [
            f"| {r.scenario} | {r.db} | {r.connections} | {shown_shares(r.workers)} |"
            for r in watched
        ]
    lines += _beside_peers(
        "Beside the peers (rps / the reference floor of each one's own run)",
        report["peers"],
        shown,
    )
    lines += _beside_peers(
        "Tails beside the peers (p99, ms)",
        report["tails"],
        lambda value: "—" if value is None else f"{value:.1f}",
    )
    if report["targets"]:
        lines += [
            "",
            "## Targets",
            "",
            "| target | goal | measured | met |",
            "| --- | --- | --- | --- |",
        ]
        lines += [
            f"| {t['target']} | {t['goal']} | {t['value']} | {'yes' if t['met'] else '**no**'} |"
            for t in report["targets"]
        ]
    if report["cluster"]:
        lines += [
            "",
            "## Cluster: nginx in front (PostgreSQL)",
            "",
            f"(a) {CLUSTER_DIRECT} against (b) {CLUSTER_NGINX} "
            "(deploy/nginx/storekeeper.conf), same database and wrk settings, interleaved; "
            f"(c) {CLUSTER_HOP}: the proxy hop alone.",
            "",
            "| scenario | (a) req/s | (a) p99 ms | (b) req/s | (b) p99 ms | rps (b)/(a) "
            "| p99 (b)/(a) | rps (c)/(a) | p99 (c)/(a) |",
            "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        ]
        lines += [
            f"| {c['scenario']} | {c['direct']['rps']:.0f} | {c['direct']['p99_ms']:.2f} "
            f"| {c['nginx']['rps']:.0f} | {c['nginx']['p99_ms']:.2f} | {c['rps_ratio']:.2f} "
            f"| {c['p99_ratio']:.2f} | {c['hop_rps_ratio']:.2f} | {c['hop_p99_ratio']:.2f} |"
            for c in report["cluster"]
        ]
    if report["memory_mb_per_worker"]:
        lines += [
            "",
            "## Memory",
            "",
            "Resident memory per worker after the mixed load (MiB): "
            f"{report['memory_mb_per_worker']}",
        ]
    if report["leak_check"]:
        lines += [
            "",
            f"10-minute leak check (RSS per worker, MiB, each minute): {report['leak_check']}",
        ]
    lines += ["", f"Seeding: {report['seed']}", ""]
    (out / "latest.md").write_text("\n".join(lines))


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--smoke", action="store_true", help="a few seconds, SQLite only, tiny data"
    )
    parser.add_argument(
        "--long",
        action="store_true",
        help="add the 1,000,000-item run and the 10-minute leak check",
    )
    parser.add_argument("--db", default="sqlite,postgresql", help="backends to run")
    parser.add_argument(
        "--only",
        choices=("cluster",),
        help="run just this scenario (no floors, no per-backend scenarios)",
    )
    parser.add_argument(
        "--duration", type=int, help="seconds per timed run (default 5; 2 with --smoke)"
    )
    parser.add_argument("--reps", type=int, help="timed runs per scenario (default 3)")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the results go")
    options = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        print("bench: wrk is not installed (make bench installs it)", file=sys.stderr)
        return 2
    if options.smoke:
        mode = Mode(
            duration=2, reps=1, stores=2, items_per_store=300, backends=("sqlite",), deep_page=400
        )
    else:
        mode = Mode(
            duration=5,
            reps=3,
            stores=10,
            items_per_store=1000,
            backends=tuple(options.db.split(",")),
            deep_page=9_950,
            long=options.long,
        )
    mode = replace(mode, duration=options.duration or mode.duration, reps=options.reps or mode.reps)
    report: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "machine": machine(),
        "mode": asdict(mode),
        "seed": {},
        "memory_mb_per_worker": {},
        "leak_check": {},
        "cluster": [],
    }
    results: list[Result] = []
    if options.only is None:
        print("floors", flush=True)
        results += floors(mode)
        for backend in mode.backends:
            print(backend, flush=True)
            results += scenarios(backend, mode, report)
    # Not in --smoke: it needs PostgreSQL and nginx, and would double the smoke run.
    if options.only == "cluster" or (not options.smoke and "postgresql" in mode.backends):
        try:
            nginx_binary()
        except RuntimeError:
            print("cluster: skipped, nginx is not installed (make deploy-tools)", flush=True)
        else:
            print("cluster (postgresql)", flush=True)
            results += cluster(mode, report)
    reference = next((r for r in results if r.scenario == REFERENCE_FLOOR), None)
    own = next((r for r in results if r.scenario == SERVER_FLOOR), None)
    for r in results:
        if reference is not None:
            r.ratio_to_flask_floor = round(r.rps / reference.rps, 4)
            r.p99_ratio_to_flask_floor = round(r.p99_ms / reference.p99_ms, 3)
        if own is not None:
            r.ratio_to_server_floor = round(r.rps / own.rps, 4)
    report["targets"] = targets(results) if reference is not None else []
    report["peers"] = peer_table(results) if reference is not None else []
    report["tails"] = tail_table(results)
    write(report, results, options.out)
    print(f"wrote {options.out / 'latest.md'} and latest.json", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
