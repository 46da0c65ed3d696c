"""Prometheus metrics: request counts and latencies by route, method and status; pool figures.

Under `storekeeper serve` every worker process writes its samples to files in
PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode, which the server sets up before
any worker starts), and /metrics aggregates all of them, so a scrape answered by any worker
counts the requests of every worker.
"""

from __future__ import annotations

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

from storekeeper.settings import MULTIPROC_ENV

CONTENT_TYPE = CONTENT_TYPE_LATEST
POOL_SAMPLE_S = 1.0
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Label values come from closed sets, so a client cannot grow the series (and every scrape, and
# the multiprocess files) with made-up methods or paths: the methods the app can route, and the
# app's own route templates. Anything else is counted under one label.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
UNMATCHED_ROUTE = "unmatched"


class Metrics:
    """The application's metrics, in a registry of its own (one per app)."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}
        self._pool_seen = 0.0
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "storekeeper_http_requests",
            "HTTP requests answered.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "storekeeper_http_request_duration_seconds",
            "Time from the start of a request to its answer.",
            ["method", "route", "status"],
            buckets=_BUCKETS,
            registry=self.registry,
        )
        self.pool_checked_out = Gauge(
            "storekeeper_db_pool_checked_out",
            "Database connections in use.",
            multiprocess_mode="livesum",
            registry=self.registry,
        )
        self.pool_size = Gauge(
            "storekeeper_db_pool_size",
            "Database connections the pools keep.",
            multiprocess_mode="livesum",
            registry=self.registry,
        )

    def observe(self, method: str, route: str | None, status: int, seconds: float) -> None:
        """Count one answered request; `route` is the matched route template, None when none."""
        key = (
            method if method in METHODS else OTHER_METHOD,
            UNMATCHED_ROUTE if route is None else route,
            status,
        )
        children = self._children.get(key)
        if children is None:
            # The label sets are few (see METHODS): resolve each one once.
            labels = (key[0], key[1], str(status))
            children = (self.requests.labels(*labels), self.latency.labels(*labels))
            self._children[key] = children
        children[0].inc()
        children[1].observe(seconds)
        now = time.monotonic()
        if now - self._pool_seen >= POOL_SAMPLE_S:
            # Reading the pool takes its lock, which every request thread also wants: profiled
            # at a sixth of a list request's time when done on every request. Once a second
            # is plenty for a gauge.
            self._pool_seen = now
            self._sample_pool()

    def _sample_pool(self) -> None:
        pool = self._engine.pool
        if isinstance(pool, QueuePool):
            self.pool_checked_out.set(pool.checkedout())
            self.pool_size.set(pool.size())

    def exposition(self) -> bytes:
        """The text format of every worker's metrics."""
        if os.environ.get(MULTIPROC_ENV):
            registry = CollectorRegistry()
            MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
            return generate_latest(registry)
        return generate_latest(self.registry)
