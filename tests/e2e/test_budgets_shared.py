"""The budgets across two instances: two real `storekeeper serve`, one database (one Redis).

A client spends its budget on both in turn and is refused at the shared limit, give or take
the documented batching slack (docs/reliability.md, "Request budgets"): each worker process
holds fewer than one batch of counts unflushed, so the shared total can be passed by at most
`processes x (batch - 1)` requests. Counted, not timed.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest
import requests

from storekeeper.domain.budgets import Policy
from storekeeper.domain.values import RateLimit
from tests.e2e.live import BIN, server_env, server_process
from tests.helpers import missing, postgres_available, postgres_database

pytestmark = pytest.mark.slow
LIMIT = 300  # an hour: the whole test runs in one window
WORKERS = 2
INSTANCES = 2
SECRET = "budgets-secret-" + "s" * 40
RESET = re.compile(r'"default";r=(\d+);t=(\d+)')


@contextmanager
def shared_database(store: str, folder: Path, redis_url: str | None) -> Iterator[dict[str, str]]:
    """The settings two instances share: one database (and Redis), one secret, small budgets."""
    settings = {
        "STOREKEEPER_SECRET_KEY": SECRET,
        "STOREKEEPER_RATE_LIMIT": f"{LIMIT}/hour",
        "STOREKEEPER_WRITE_RATE_LIMIT": f"{LIMIT}/hour",
    }
    if store == "sqlite":
        settings["STOREKEEPER_DATABASE_URL"] = f"sqlite:///{folder}/shared.db"
        yield settings
        return
    if not postgres_available():
        missing("PostgreSQL")
    if redis_url is not None:
        settings["STOREKEEPER_REDIS_URL"] = redis_url
    with postgres_database("storekeeper_budgets") as url:
        settings["STOREKEEPER_DATABASE_URL"] = url
        yield settings


@contextmanager
def two_instances(store: str, redis_url: str | None) -> Iterator[list[str]]:
    """Two servers of WORKERS processes each on the shared store; their base URLs."""
    with tempfile.TemporaryDirectory() as raw, ExitStack() as stack:
        folder = Path(raw)
        shared = stack.enter_context(shared_database(store, folder, redis_url))
        bases = []
        for n in range(INSTANCES):
            instance = folder / f"instance{n}"
            instance.mkdir()
            env = server_env(str(instance), **shared)
            if n == 0:
                upgrade = [str(BIN / "storekeeper"), "db", "upgrade"]
                subprocess.run(upgrade, env=env, check=True, timeout=120)
            base, _ = stack.enter_context(server_process(str(instance), env, WORKERS))
            bases.append(base)
        yield bases


@pytest.mark.parametrize("store", ["sqlite", "postgresql", "redis"])
def test_a_client_alternating_between_two_instances_meets_one_limit(
    store: str, request: pytest.FixtureRequest
) -> None:
    # Redis: the run's own server (tests/redis_server.py), with the database on PostgreSQL.
    redis_url = request.getfixturevalue("redis_url") if store == "redis" else None
    slack = INSTANCES * WORKERS * (Policy("default", RateLimit(LIMIT, 3600)).batch - 1)
    with two_instances(store, redis_url) as bases, requests.Session() as http:
        first = http.get(f"{bases[0]}/store", timeout=10)
        found = RESET.search(first.headers["RateLimit"])
        assert found, first.headers
        counted_before = 1
        if int(found.group(2)) < 120:
            # The hour's window ends within the test: spend the budget in the next one.
            time.sleep(int(found.group(2)) + 1)
            counted_before = 0
        statuses = [
            http.get(f"{bases[n % INSTANCES]}/store", timeout=10).status_code
            for n in range(LIMIT + slack + 40)
        ]
    admitted = statuses.count(200)
    assert set(statuses) == {200, 429}
    # Never fewer than the limit; past it, no more than the slack (the first request included).
    assert LIMIT <= admitted + counted_before <= LIMIT + slack
    # Once every process has seen the shared total, everyone refuses.
    assert statuses[-20:] == [429] * 20
