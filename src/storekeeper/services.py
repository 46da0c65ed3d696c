"""The services object: everything the layers use, built once by the composition root (app.py)."""

from __future__ import annotations

from dataclasses import dataclass

from storekeeper.domain.budgets import Budgets
from storekeeper.domain.images import Pictures
from storekeeper.domain.ports import AttemptLimiter, Database, UnitsOfWork
from storekeeper.domain.webhooks import Destinations
from storekeeper.metrics import Metrics
from storekeeper.offload import Admission
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
    # Counts logins and registrations: Redis when configured (shared by every instance), else
    # the database.
    limiter: AttemptLimiter
    # Every client's request budgets, counted in memory and shared through the database or
    # Redis (domain/budgets.py).
    budgets: Budgets
    # Lets a few logins and registrations at a time do their counting and hashing.
    sign_ins: Admission
    # Decodes, checks and re-encodes uploaded photos, off the event loop.
    pictures: Pictures
    metrics: Metrics
    # Whether a webhook URL may receive deliveries, checked when a webhook is saved.
    destinations: Destinations
