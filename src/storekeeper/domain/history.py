"""Reading a store's history: who may, and which page."""

from __future__ import annotations

from storekeeper.domain.catalog import CatalogRepository, store_access
from storekeeper.domain.events import Event, EventQuery, EventRepository
from storekeeper.domain.model import Actor, Page
from storekeeper.domain.policy import Action


def store_history(
    repo: CatalogRepository, events: EventRepository, actor: Actor | None, query: EventQuery
) -> Page[Event]:
    """A page of a store's events, newest first: for those who may see its history (the
    policy's STORE_HISTORY: its owner, managers and admins)."""
    store_access(repo, actor, query.store_id, Action.STORE_HISTORY)
    return events.page(query)
