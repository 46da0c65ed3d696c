"""Reading a store's history: who may, and which page."""

from __future__ import annotations

from storekeeper.domain.catalog import CatalogRepository, check_owner, require_actor
from storekeeper.domain.errors import NotFound
from storekeeper.domain.events import Event, EventQuery, EventRepository
from storekeeper.domain.model import Actor, Page


def store_history(
    repo: CatalogRepository, events: EventRepository, actor: Actor | None, query: EventQuery
) -> Page[Event]:
    """A page of a store's events, newest first: for those who manage the store (its owner or
    an admin), as the history shows who changed what."""
    require_actor(actor)
    exists, owner = repo.store_owner(query.store_id)
    if not exists:
        raise NotFound("No store with this id.")
    check_owner(actor, owner)
    return events.page(query)
