"""The client's trash: list_trash / iter_trash and restore_item against a live server."""

from __future__ import annotations

from decimal import Decimal

import pytest

from storekeeper_client import ChangedSinceRead, Conflict, NotFound, Storekeeper
from tests.client.helpers import unique
from tests.helpers import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]


def _client(base_url: str) -> Storekeeper:
    client = Storekeeper(base_url)
    username = unique("binman")
    client.register(username, PASSWORD)
    client.login(username, PASSWORD)
    return client


def test_delete_list_the_trash_and_restore(base_url: str) -> None:
    with _client(base_url) as sk:
        store = sk.create_store(unique("Second Hand"))
        made = [sk.create_store_item(store.id, f"Lamp {n}", Decimal("5.50")) for n in range(3)]
        etag = sk.get_item(made[0].id).etag
        for found in made:
            sk.delete_item(found.id)
        page = sk.list_trash(store.id, limit=2)
        assert [row.id for row in page.items] == [made[2].id, made[1].id]
        assert page.next_url is not None
        every = list(sk.iter_trash(store.id, limit=2, sort="deleted_at"))
        assert [row.id for row in every] == [m.id for m in made]
        assert every[0].deleted_by == sk.get_me().value.id and every[0].price == Decimal("5.50")

        with pytest.raises(ChangedSinceRead):
            sk.restore_item(made[0].id, if_match='"stale"')
        back = sk.restore_item(made[0].id, if_match=etag)
        assert (back.id, back.name) == (made[0].id, "Lamp 0")
        with pytest.raises(Conflict):
            sk.restore_item(made[0].id)  # live again

        sk.create_store_item(store.id, "Lamp 1", Decimal("1"))
        with pytest.raises(Conflict):
            sk.restore_item(made[1].id)
        assert sk.restore_item(made[1].id, "Lamp 1 (old)").name == "Lamp 1 (old)"
        assert [row.id for row in sk.iter_trash(store.id)] == [made[2].id]
        with pytest.raises(NotFound):
            sk.restore_item(10**12)
