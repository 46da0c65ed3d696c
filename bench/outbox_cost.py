"""The outbox's cost on a write, in process: a registration's transaction with and without
the job its email records (`python -m bench.outbox_cost`; docs/performance.md §6).

Over HTTP the password hash (argon2id, ~25 ms of CPU) hides a fraction of a millisecond, so
`make bench`'s two registration scenarios agree within their noise; this times the
transaction alone: 3 rounds of 400 registrations each way, medians of the rounds' medians.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from bench.run import database
from storekeeper.db import migrate
from storekeeper.db.repositories import REPOSITORIES
from storekeeper.db.session import Database
from storekeeper.db.unit_of_work import SqlUnitsOfWork
from storekeeper.domain import accounts
from storekeeper.domain.accounts import ACCOUNTS, NewAccount
from storekeeper.domain.jobs import JOBS

ROUNDS = 3
PER_ROUND = 400


def transaction_ms(url: str) -> dict[str, float]:
    """Median ms of one registration's write transaction, without and with an email's job."""
    db = Database(url)
    migrate.upgrade(db.engine)
    units = SqlUnitsOfWork(db, REPOSITORIES)
    found: dict[str, list[float]] = {"without email": [], "with email": []}
    try:
        for round_ in range(ROUNDS):
            for label in found:
                times = []
                for i in range(PER_ROUND):
                    with_email = label == "with email"
                    name = f"r{round_}-{'e' if with_email else 'n'}-{i}"
                    email = f"{name}@example.com" if with_email else None
                    account = NewAccount(name, email, "$argon2id$not-a-real-hash")
                    started = time.perf_counter()
                    with units(write=True) as work:
                        accounts.add_account(work[ACCOUNTS], account, jobs=work[JOBS])
                    times.append(time.perf_counter() - started)
                found[label].append(statistics.median(times) * 1000)
    finally:
        db.dispose()
    return {label: round(statistics.median(values), 3) for label, values in found.items()}


def main() -> None:
    """Print the figures on SQLite and, when it answers, PostgreSQL."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", default="sqlite,postgresql", help="backends to run")
    for backend in parser.parse_args().db.split(","):
        with tempfile.TemporaryDirectory() as folder, database(backend) as url:
            print(backend, transaction_ms(url or f"sqlite:///{Path(folder)}/outbox.db"))


if __name__ == "__main__":
    main()
