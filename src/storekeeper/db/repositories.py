"""Every repository a unit of work offers, each bound to its slot (domain/ports.py)."""

from __future__ import annotations

from storekeeper.db.accounts import AccountRepository
from storekeeper.db.catalog import CatalogRepository
from storekeeper.db.events import EventRepository
from storekeeper.db.idempotency import IdempotencyRepository
from storekeeper.db.images import ImageRepository
from storekeeper.db.jobs import JobRepository
from storekeeper.db.members import MembersRepository
from storekeeper.db.transfer import ImportRepository
from storekeeper.db.trash import TrashRepository
from storekeeper.db.unit_of_work import bind
from storekeeper.db.webhooks import WebhookRepository
from storekeeper.domain.accounts import ACCOUNTS
from storekeeper.domain.catalog import CATALOG
from storekeeper.domain.events import EVENTS
from storekeeper.domain.images import IMAGES
from storekeeper.domain.jobs import JOBS
from storekeeper.domain.members import MEMBERS
from storekeeper.domain.ports import IDEMPOTENCY_KEYS
from storekeeper.domain.transfer import IMPORTS
from storekeeper.domain.trash import TRASH
from storekeeper.domain.webhooks import WEBHOOKS

REPOSITORIES = (
    bind(CATALOG, CatalogRepository),
    bind(ACCOUNTS, AccountRepository),
    bind(IDEMPOTENCY_KEYS, IdempotencyRepository),
    bind(JOBS, JobRepository),
    bind(IMAGES, ImageRepository),
    bind(TRASH, TrashRepository),
    bind(MEMBERS, MembersRepository),
    bind(IMPORTS, ImportRepository),
    bind(EVENTS, EventRepository),
    bind(WEBHOOKS, WebhookRepository),
)
