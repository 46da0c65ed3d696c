"""The client's CSV export and import against a live server and a live worker."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from storekeeper_client import Storekeeper, ValidationFailed
from tests.e2e.background import Site, deployment
from tests.e2e.live import database_url
from tests.helpers import PASSWORD

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]


@pytest.fixture(params=["sqlite", "postgresql"])
def site(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Site]:
    """A server and a worker on each database."""
    with (
        database_url(request.param) as url,
        deployment(tmp_path / "site", url, "smtp://127.0.0.1:9") as found,
    ):
        found.start_worker()
        yield found


def test_export_then_import_a_changed_file(site: Site, tmp_path: Path) -> None:
    with Storekeeper(site.base) as sk:
        sk.register("exporter", PASSWORD)
        sk.login("exporter", PASSWORD)
        store = sk.create_store("Depot")
        sk.create_store_item(store.id, "Chair", Decimal("19.99"), quantity=4)
        exported = tmp_path / "items.csv"
        assert sk.export_items(store.id, exported) == exported.stat().st_size
        text = exported.read_text()
        assert text.splitlines()[1].endswith(",Chair,19.99,4,,")
        changed = text.replace("19.99", "17.50") + ",Table,120,1,Pine,furniture\r\n"
        (tmp_path / "changed.csv").write_text(changed)

        dry = sk.import_items(store.id, tmp_path / "changed.csv", dry_run=True)
        assert dry.status == "succeeded" and dry.result is not None
        assert (dry.result["updated"], dry.result["created"]) == (1, 1)
        assert sk.get_item(sk.list_store_items(store.id).items[0].id).value.price == Decimal(
            "19.99"
        )

        job = sk.import_items(store.id, changed.encode(), atomic=True)
        assert job.result is not None and job.result["applied"] is True
        items = {i.name: i for i in sk.iter_store_items(store.id)}
        assert items["Chair"].price == Decimal("17.50")
        assert [t.name for t in items["Table"].tags] == ["furniture"]

        queued = sk.import_items(store.id, b"name,price\nStool,3\n", wait=False)
        assert queued.status in ("queued", "running", "succeeded")
        assert sk.wait_for_job(queued.id).status == "succeeded"
        with pytest.raises(ValidationFailed):
            sk.import_items(store.id, b"colour\nred\n")
