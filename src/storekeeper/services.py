"""The services object: everything the layers use, built once by the composition root (app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from storekeeper.domain.ports import Database, LoginLimiter, UnitsOfWork
from storekeeper.metrics import Metrics
from storekeeper.security import Passwords, Tokens
from storekeeper.settings import Settings


@dataclass(frozen=True, slots=True)
class Services:
    """The app's services, typed; the HTTP layer reaches persistence only through `units`."""

    settings: Settings
    # Opens a unit of work (one transaction) with every repository bound to it.
    units: UnitsOfWork
    # The database as a whole, for the readiness check.
    database: Database
    tokens: Tokens
    passwords: Passwords
    # Redis when configured (shared by every instance), else the database.
    login_limiter: LoginLimiter
    metrics: Metrics
