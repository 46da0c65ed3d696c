"""CSV imports, as jobs: the worker's side of domain/transfer.py."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from storekeeper.background.runner import Handler
from storekeeper.domain import transfer
from storekeeper.domain.errors import Forbidden, NotFound, Unauthenticated
from storekeeper.domain.jobs import Job, JobRefused
from storekeeper.domain.ports import UnitsOfWork, Work

# How long the one transaction of an atomic import may take (a request's is 4 s): 50,000 rows
# take well under a minute on either database (docs/performance.md).
ATOMIC_DEADLINE_S = 600.0


@dataclass(frozen=True, slots=True)
class ItemImports:
    """Runs import jobs. `one_transaction` opens a write unit of work bounded by
    ATOMIC_DEADLINE_S, for atomic imports."""

    units: UnitsOfWork
    one_transaction: Callable[[], AbstractContextManager[Work]]

    def handlers(self) -> dict[str, Handler]:
        """The handler of the import job kind."""
        return {transfer.IMPORT: self.run}

    def run(self, job: Job) -> dict[str, Any]:
        """Run one import; a store gone or no longer the starter's fails it without retries."""
        try:
            return transfer.run_import(self.units, self.one_transaction, job)
        except (NotFound, Forbidden, Unauthenticated, transfer.ImportGone) as exc:
            raise JobRefused(exc.detail) from exc
