"""The client reads a store's history, newest first, filtered, across pages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from storekeeper_client import Forbidden, Storekeeper
from tests.client.helpers import unique
from tests.helpers import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]


def _client(base_url: str) -> tuple[Storekeeper, str]:
    client = Storekeeper(base_url)
    username = unique("historian")
    client.register(username, PASSWORD)
    client.login(username, PASSWORD)
    return client, username


def test_iter_events_follows_pages_and_filters(base_url: str) -> None:
    sk, username = _client(base_url)
    stranger, _ = _client(base_url)
    with sk, stranger:
        store = sk.create_store(unique("History Shop"))
        chair = sk.create_store_item(store.id, "Chair", Decimal("19.99"))
        for n in range(3):
            sk.update_item(chair.id, price=Decimal(20 + n))
        everything = list(sk.iter_events(store.id, limit=2))
        assert [e.type for e in everything] == ["item.updated"] * 3 + ["item.created"]
        assert everything[0].actor is not None and everything[0].actor.username == username
        assert everything[0].changes == {"price": [21, 22]}
        assert [e.id for e in everything] == sorted((e.id for e in everything), reverse=True)
        created = list(sk.iter_events(store.id, type="item.created"))
        assert [e.resource.id for e in created] == [chair.id]
        about = list(sk.iter_events(store.id, resource=f"item:{chair.id}"))
        assert len(about) == 4
        with pytest.raises(Forbidden):
            list(stranger.iter_events(store.id))
