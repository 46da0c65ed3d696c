"""Prometheus metrics: request counts and latencies by route, method and status; pool figures;
the background jobs.

Under `storekeeper serve` every worker process writes its samples to files in
PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess mode, which the server sets up before
any worker starts), and /metrics aggregates all of them, so a scrape answered by any worker
counts the requests of every worker.
"""

from __future__ import annotations

import logging
import os
import statistics
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool

from storekeeper.domain.jobs import JOBS
from storekeeper.domain.ports import UnitsOfWork
from storekeeper.settings import MULTIPROC_ENV

log = logging.getLogger("storekeeper.metrics")
# Job latencies are summarised over this window, from at most this many jobs.
LATENCY_WINDOW = timedelta(minutes=15)
LATENCY_SAMPLE = 10_000
QUANTILES = (0.5, 0.9, 0.99)

CONTENT_TYPE = CONTENT_TYPE_LATEST
POOL_SAMPLE_S = 1.0
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
# Label values come from closed sets, so a client cannot grow the series (and every scrape, and
# the multiprocess files) with made-up methods or paths: the methods the app can route, and the
# app's own route templates. Anything else is counted under one label.
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
OTHER_METHOD = "other"
UNMATCHED_ROUTE = "unmatched"


class JobMetrics(Collector):
    """The queue's figures, read from the jobs table at each scrape.

    Every worker process and instance writes that table, so whichever server answers the
    scrape reports the work of all of them, and nothing is counted twice.
    """

    def __init__(self, units: UnitsOfWork) -> None:
        self.units = units

    def collect(self) -> Iterator[Metric]:
        now = datetime.now(UTC)
        try:
            with self.units() as work:
                repo = work[JOBS]
                counts = repo.counts()
                oldest = repo.oldest_due(now)
                latencies = repo.latencies(now - LATENCY_WINDOW, LATENCY_SAMPLE)
        except Exception:
            log.warning("job metrics unavailable: the database did not answer")
            return
        jobs = GaugeMetricFamily(
            "storekeeper_jobs",
            "Background jobs by kind and status (failed: every retry spent).",
            labels=["kind", "status"],
        )
        for (kind, status), count in sorted(counts.items()):
            jobs.add_metric([kind, status], count)
        yield jobs
        yield GaugeMetricFamily(
            "storekeeper_job_queue_wait_seconds",
            "How long the longest-waiting due job has waited to run (0: none waits).",
            value=0.0 if oldest is None else max(0.0, (now - oldest).total_seconds()),
        )
        latency = GaugeMetricFamily(
            "storekeeper_job_latency_seconds",
            "From a job's recording to its success, over the last 15 minutes, by quantile.",
            labels=["kind", "quantile"],
        )
        by_kind: dict[str, list[float]] = {}
        for kind, seconds in latencies:
            by_kind.setdefault(kind, []).append(seconds)
        for kind, values in sorted(by_kind.items()):
            for q in QUANTILES:
                latency.add_metric([kind, str(q)], _quantile(values, q))
        yield latency


def _quantile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return cuts[round(q * 100) - 1]


class Metrics:
    """The application's metrics, in a registry of its own (one per app)."""

    def __init__(self, engine: Engine, units: UnitsOfWork) -> None:
        self._engine = engine
        self.jobs = JobMetrics(units)
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
        self.registry.register(self.jobs)

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
            registry.register(self.jobs)
            return generate_latest(registry)
        return generate_latest(self.registry)
