"""`make profile`: where one request's time goes, per scenario and per layer.

Two views of the same scenarios as `make bench`, on a database seeded the same way:

- **in process** (no network, no server): each request is one call of the WSGI app with a
  prepared environ; the time per request is the median of 5 batches, and pyinstrument's
  samples of all batches are put in layers and phases (bench/layers.py);
- **under load** (`--load`): `storekeeper serve --workers 2` driven by wrk as in `make bench`
  while py-spy samples both workers; the same layers and phases.

The results go to bench/results/profile/<db>.json and are printed as tables;
docs/performance.md quotes them.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from pyinstrument import Profiler
from pyinstrument.frame import Frame as PyinstrumentFrame
from werkzeug.test import EnvironBuilder

from bench import floors, layers
from bench.run import BIN, CONNECTIONS, Mode, database, server_env, storekeeper, wrk
from bench.seed import seed
from storekeeper.app import create_app
from storekeeper.settings import load_settings

_BODY = "bench.body"
OUT = Path(__file__).with_name("results") / "profile"
STORES, PER_STORE = 10, 1000
ITEMS = STORES * PER_STORE


@dataclass
class Scenario:
    """One kind of request: how to make the n-th environ of it."""

    name: str
    environ: Callable[[int], dict[str, Any]]


def _environ(method: str, path: str, token: str | None = None, body: object = None) -> Any:
    headers = [("Authorization", f"Bearer {token}")] if token else []
    data = json.dumps(body).encode() if body is not None else None
    environ = EnvironBuilder(
        path=path, method=method, headers=headers, data=data, content_type="application/json"
    ).get_environ()
    environ[_BODY] = data or b""
    return environ


def scenarios(token: str) -> list[Scenario]:
    """The scenarios of `make bench` that the issue's targets name, plus the floors."""

    def get(prefix: str, count: int, with_token: bool = False) -> Callable[[int], Any]:
        base = _environ("GET", prefix + "1", token if with_token else None)

        def make(n: int) -> Any:
            return base | {"PATH_INFO": f"{prefix}{n % count + 1}"}

        return make

    def fixed(path: str) -> Callable[[int], Any]:
        base = _environ("GET", path)
        return lambda n: dict(base)

    def post(n: int) -> Any:
        body = {"name": f"profiled {n}-{time.monotonic_ns()}", "price": 12.34, "store_id": 1}
        return _environ("POST", "/item", token, body)

    return [
        Scenario("GET /health", fixed("/health")),
        Scenario("GET /item/{id}", get("/item/", ITEMS)),
        Scenario("GET /item/{id} with token", get("/item/", ITEMS, with_token=True)),
        Scenario("GET /store/{id}", get("/store/", STORES)),
        Scenario("GET /item?limit=50", fixed("/item?limit=50")),
        Scenario("POST /item", post),
    ]


def call(app: Any, environ: dict[str, Any]) -> int:
    """One request through the WSGI app; its status code."""
    status: list[str] = []

    def start_response(line: str, headers: Any, exc_info: Any = None) -> None:
        status.append(line)

    environ = environ | {"wsgi.input": io.BytesIO(environ[_BODY])}
    result = app(environ, start_response)
    try:
        b"".join(result)
    finally:
        getattr(result, "close", lambda: None)()
    return int(status[0][:3])


def _frames(frame: PyinstrumentFrame, stack: list[layers.Frame]) -> Iterator[Any]:
    here = [*stack, (frame.function, frame.file_path or "")]
    if frame.total_self_time:
        yield here, frame.total_self_time
    for child in frame.children:
        yield from _frames(child, here)


def measure(app: Flask, scenario: Scenario, requests: int) -> dict[str, Any]:
    """µs per request (median of 5 batches) and the layer and phase shares."""
    environs = [scenario.environ(n) for n in range(requests)]
    for n in range(requests // 10):  # warm-up, on other ids and names than the timed run
        call(app, scenario.environ(requests + n))
    batches: list[float] = []
    statuses: set[int] = set()
    size = requests // 5
    for start in range(0, size * 5, size):
        batch = environs[start : start + size]
        began = time.perf_counter()
        for environ in batch:
            statuses.add(call(app, environ))
        batches.append((time.perf_counter() - began) / len(batch) * 1e6)
    # Profiled apart from the timed batches: the sampler's own cost stays out of the timings.
    profiler = Profiler(interval=0.0002, async_mode="disabled")
    profiler.start()
    for n in range(requests):
        call(app, scenario.environ(2 * requests + n))
    profiler.stop()
    root = profiler.last_session.root_frame() if profiler.last_session else None
    shares = layers.breakdown(_frames(root, []) if root else iter(()))
    result = {"us_per_request": round(statistics.median(batches), 1), "statuses": sorted(statuses)}
    return result | shares


def in_process(backend: str, requests: int) -> dict[str, Any]:
    """Every scenario through the WSGI app in this process, on a freshly seeded database."""
    with (
        tempfile.TemporaryDirectory(prefix="storekeeper-profile-") as instance,
        database(backend) as url,
    ):
        env = server_env(instance, url)
        subprocess.run([BIN / "storekeeper", "db", "upgrade"], env=env, check=True)
        app = create_app(load_settings(env))
        client = app.test_client()
        body = {"username": "profiler", "password": "profile-password"}
        client.post("/register", json=body)
        token = client.post("/login", json=body).get_json()["access_token"]
        seed(url or f"sqlite:///{instance}/storekeeper.db", 1, STORES, PER_STORE)
        found = {"floor: minimal Flask": measure_floor(requests)}
        for scenario in scenarios(token):
            found[scenario.name] = measure(app, scenario, requests)
            print(f"  {backend:10} {scenario.name:30} {found[scenario.name]['us_per_request']} µs")
        app.extensions["storekeeper"].database.engine.dispose()
        return found


def measure_floor(requests: int) -> dict[str, Any]:
    """The minimal Flask endpoint, in process: what any Flask request costs."""
    app = floors.flask_app()
    base = _environ("GET", "/item/1")
    return measure(app, Scenario("floor", lambda n: dict(base)), requests)


def _parse_raw(text: str) -> Iterator[tuple[list[layers.Frame], float]]:
    frame = re.compile(r"^(.*) \((.*?)(?::\d+)?\)$")
    for line in text.splitlines():
        stack_text, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        stack = [
            (m.group(1), m.group(2)) for part in stack_text.split(";") if (m := frame.match(part))
        ]
        yield stack, float(count)


def under_load(backend: str, seconds: int) -> dict[str, Any]:
    """py-spy on both workers of `storekeeper serve` while wrk drives each scenario."""
    mode = Mode(seconds, 1, STORES, PER_STORE, (backend,), 0)
    found: dict[str, Any] = {}
    with (
        storekeeper(backend, mode) as (base, token, _db, sizes),
        tempfile.TemporaryDirectory(prefix="storekeeper-pyspy-") as raw_dir,
    ):
        runs: list[tuple[str, str, str | None, tuple[str, ...]]] = [
            ("GET /item/{id}", "/", "random_get.lua", ("/item/", str(ITEMS))),
            ("GET /item/{id} with token", "/", "random_get.lua", ("/item/", str(ITEMS), token)),
            ("GET /store/{id}", "/", "random_get.lua", ("/store/", str(STORES))),
            ("GET /item?limit=50", "/item?limit=50", None, ()),
            ("POST /item", "/", "post_item.lua", (token, "1")),
        ]
        for name, path, script, args in runs:
            wrk(base, path, 2, script, args)
            out = Path(raw_dir) / "profile.txt"
            spy = subprocess.Popen(
                [
                    str(BIN / "py-spy"),
                    "record",
                    "--pid",
                    str(sizes["server_pid"]),
                    "--subprocesses",
                    "--nonblocking",
                    "--full-filenames",  # the layers are told apart by their paths
                    "--rate",
                    "200",
                    "--duration",
                    str(seconds),
                    "--format",
                    "raw",
                    "--output",
                    str(out),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            rate = wrk(base, path, seconds, script, args)
            spy.wait(seconds + 60)
            samples = list(_parse_raw(out.read_text()))
            found[name] = {"rps": rate["rps"], **layers.breakdown(samples)}
            print(f"  {backend:10} {name:30} {rate['rps']:.0f} rps ({CONNECTIONS} connections)")
    return found


def table(results: dict[str, Any], key: str) -> str:
    """One markdown table: the shares of `key` (layers or phases) per scenario."""
    names = list(results)
    rows = sorted({row for r in results.values() for row in r.get(key, {})})
    lines = ["| " + key + " | " + " | ".join(names) + " |"]
    lines.append("| --- |" + " ---: |" * len(names))
    for row in rows:
        cells = [f"{results[n].get(key, {}).get(row, 0.0):.0%}" for n in names]
        lines.append(f"| {row} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Profile the scenarios in process, and under load with --load."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="sqlite,postgresql", help="backends to profile")
    parser.add_argument("--requests", type=int, default=2000, help="requests per scenario")
    parser.add_argument("--load", action="store_true", help="also profile under load (py-spy)")
    parser.add_argument("--no-in-process", action="store_true", help="only under load")
    parser.add_argument("--seconds", type=int, default=5, help="seconds per loaded scenario")
    parser.add_argument("--out", type=Path, default=OUT)
    options = parser.parse_args(argv)
    options.out.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("STOREKEEPER_LOG_LEVEL", "WARNING")
    for backend in options.db.split(","):
        out = options.out / f"{backend}.json"
        # A view not run this time keeps its last results.
        report: dict[str, Any] = json.loads(out.read_text()) if out.exists() else {}
        if not options.no_in_process:
            report["in_process"] = in_process(backend, options.requests)
        if options.load:
            report["under_load"] = under_load(backend, options.seconds)
        out.write_text(json.dumps(report, indent=2) + "\n")
        for view, results in report.items():
            us = {n: r["us_per_request"] for n, r in results.items() if "us_per_request" in r}
            print(f"\n## {backend}, {view}\n\n{json.dumps(us) if us else ''}\n")
            print(table(results, "phases") + "\n\n" + table(results, "layers"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
