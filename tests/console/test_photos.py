"""Item photos in the console: choose or drop a file, see it before sending, upload, replace
and remove it; the store's item table shows the thumbnail."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import FilePayload, expect

from tests.console.harness import Console, Server
from tests.images import picture

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("console-photos")]


def item_page(console: Console, server: Server, username: str) -> tuple[int, int]:
    """Register, create a store and an item in it; the item's page is open. (store, item)."""
    console.register(username)
    store = console.create_store(f"Photo Shop of {username}")
    token = server.token(username)
    made = server.call("POST", f"/store/{store}/item", token, json={"name": "Lamp", "price": 5})
    console.open(f"/console/item/{made['id']}")
    return store, int(made["id"])


def payload(name: str, kind: str, data: bytes) -> FilePayload:
    """A file to hand the file input, as if chosen from the disk."""
    return {"name": name, "mimeType": kind, "buffer": data}


def loaded(console: Console, name: str) -> None:
    """The image of this accessible name is shown and decoded."""
    image = console.page.get_by_role("img", name=name, exact=True)
    expect(image).to_be_visible()
    expect(image).to_have_js_property("complete", True)
    assert image.evaluate("img => img.naturalWidth") > 0


def test_a_photo_is_previewed_uploaded_shown_replaced_and_removed(
    console: Console, server: Server
) -> None:
    store, item = item_page(console, server, "photographer")
    expect(console.page.get_by_text("No photo yet.")).to_be_visible()
    chooser = console.page.get_by_label("Choose a photo, or drop one here")
    chooser.set_input_files(files=[payload("lamp.jpg", "image/jpeg", picture(320, 200))])
    loaded(console, "Preview of lamp.jpg")
    console.accessible()
    console.button("Upload photo").click()
    expect(console.page.get_by_role("status").filter(has_text="Photo added.")).to_be_visible()
    loaded(console, "Photo of Lamp")
    shown = server.call("GET", f"/item/{item}")["image"]
    assert (shown["width"], shown["height"]) == (320, 200)
    console.accessible()

    chooser.set_input_files(files=[payload("lamp.png", "image/png", picture(100, 50, "PNG"))])
    console.button("Replace photo").click()
    expect(console.page.get_by_role("status").filter(has_text="Photo replaced.")).to_be_visible()
    assert server.call("GET", f"/item/{item}")["image"]["content_type"] == "image/png"

    console.open(f"/console/store/{store}")
    table = console.page.get_by_role("table", name="Items of this store")
    expect(table.get_by_role("columnheader", name="Photo")).to_be_visible()
    loaded(console, "Photo of Lamp")
    console.accessible()

    console.open(f"/console/item/{item}")
    console.button("Remove photo").click()
    dialog = console.page.get_by_role("dialog", name="Remove the photo?")
    dialog.get_by_role("button", name="Remove photo").click()
    expect(console.page.get_by_role("status").filter(has_text="Photo removed.")).to_be_visible()
    expect(console.page.get_by_text("No photo yet.")).to_be_visible()
    assert server.call("GET", f"/item/{item}")["image"] is None


def test_a_dropped_photo_is_previewed_and_a_wrong_file_is_explained(
    console: Console, server: Server
) -> None:
    _, item = item_page(console, server, "dropper")
    zone = console.page.locator("label.drop")
    data = list(picture(64, 64, "WEBP"))
    transfer = console.page.evaluate_handle(
        """bytes => {
            const transfer = new DataTransfer();
            const file = new File([new Uint8Array(bytes)], "drop.webp", { type: "image/webp" });
            transfer.items.add(file);
            return transfer;
        }""",
        data,
    )
    zone.dispatch_event("drop", {"dataTransfer": transfer})
    loaded(console, "Preview of drop.webp")
    expect(console.button("Upload photo")).to_be_focused()
    console.page.keyboard.press("Enter")
    expect(console.page.get_by_role("status").filter(has_text="Photo added.")).to_be_visible()
    assert server.call("GET", f"/item/{item}")["image"]["content_type"] == "image/webp"

    chooser = console.page.get_by_label("Choose a photo, or drop one here")
    chooser.set_input_files(files=[payload("a.gif", "image/gif", b"GIF89a")])
    expect(console.page.get_by_role("alert").filter(has_text="JPEG, PNG or WebP")).to_be_visible()
    console.expect_statuses(422)
    broken = picture(64, 64)[:100]
    chooser.set_input_files(files=[payload("broken.jpg", "image/jpeg", broken)])
    console.button("Replace photo").click()
    expect(console.page.get_by_role("alert").filter(has_text=re.compile("refused"))).to_be_visible()
