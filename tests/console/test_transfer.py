"""Import and export in the console: the CSV download, an import checked before it is applied."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect

from deploy.processes import spawn, stop_all
from tests.console.harness import Console, Server
from tests.e2e.background import FAST_JOBS
from tests.e2e.live import BIN

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console-transfer")]
SERVER_SETTINGS = FAST_JOBS


@pytest.fixture(scope="module", autouse=True)
def worker(server: Server) -> Iterator[None]:
    """The background worker beside the module's server: it runs the imports."""
    proc = spawn([BIN / "storekeeper", "worker"], server.env, server.instance / "worker.log")
    yield
    stop_all([proc])


def test_export_downloads_the_stores_items(console: Console, server: Server) -> None:
    console.register("exporter")
    store = console.create_store("Export Shop")
    token = server.token("exporter")
    server.call("POST", f"/store/{store}/item", token, json={"name": "=Sign", "price": 2.5})
    console.open(f"/console/store/{store}")
    with console.page.expect_download() as download:
        console.button("Export CSV").click()
    assert download.value.suggested_filename == f"store-{store}-items.csv"
    text = Path(download.value.path()).read_text()
    assert text.splitlines()[1].endswith(",'=Sign,2.50,0,,")
    expect(console.page.get_by_text(f"Saved store-{store}-items.csv.")).to_be_visible()
    console.accessible()


def test_an_import_is_checked_then_applied(
    console: Console, server: Server, tmp_path: Path
) -> None:
    console.register("importer")
    store = console.create_store("Import Shop")
    token = server.token("importer")
    server.call("POST", f"/store/{store}/item", token, json={"name": "Chair", "price": 10})
    csv_file = tmp_path / "items.csv"
    csv_file.write_text("name,price,tags\nchair,12.50,wood\nTable,99,\nStool,,\n")
    console.open(f"/console/store/{store}")
    console.link("Import CSV").click()
    expect(console.heading()).to_have_text("Import items into Import Shop")
    console.settled()
    console.accessible()

    console.page.get_by_label("CSV file").set_input_files(str(csv_file))
    console.button("Check the file").click()
    expect(console.page.get_by_role("heading", name="What the import would do")).to_be_focused()
    counts = console.page.get_by_role("list", name="Counts")
    expect(counts).to_contain_text("1 row would be created")
    expect(counts).to_contain_text("1 row would be updated")
    expect(counts).to_contain_text("1 row failed")
    rows = console.page.get_by_role("table", name="Rows of the file")
    expect(rows.get_by_role("row").nth(1)).to_contain_text("price: is required for a new item")
    console.accessible()
    # The dry run changed nothing.
    assert server.call("GET", f"/store/{store}")["item_count"] == 1

    console.button("Apply").click()
    expect(console.page.get_by_role("heading", name="Imported")).to_be_focused()
    expect(console.page.get_by_role("list", name="Counts")).to_contain_text("1 row created")
    console.accessible()
    items = {i["name"]: i for i in server.call("GET", f"/store/{store}/item")}
    assert set(items) == {"chair", "Table"}
    assert items["chair"]["price"] == 12.5
    assert [t["name"] for t in items["chair"]["tags"]] == ["wood"]


def test_a_broken_file_is_refused_next_to_the_file_field(
    console: Console, server: Server, tmp_path: Path
) -> None:
    console.register("refused")
    store = console.create_store("Refusing Shop")
    bad = tmp_path / "bad.csv"
    bad.write_text("colour\nred\n")
    console.open(f"/console/store/{store}/import")
    console.expect_statuses(422)
    console.page.get_by_label("CSV file").set_input_files(str(bad))
    console.button("Check the file").click()
    expect(console.page.get_by_role("alert").filter(has_text="header")).to_be_visible()
    console.accessible()
