"""The history's `changes`: only what changed, as the API writes each value."""

from __future__ import annotations

import re
from pathlib import Path

import storekeeper
from storekeeper.domain import events
from storekeeper.domain.events import EventType
from storekeeper.domain.values import Money

CONSOLE = Path(storekeeper.__file__).parent / "console" / "static" / "assets"


def test_diff_lists_only_the_changed_fields_as_old_and_new() -> None:
    before = {"name": "Chair", "price": Money(1999), "quantity": 4}
    after = {"name": "Chair", "price": Money(1750), "quantity": 3}
    assert events.diff(before, after) == {"price": [19.99, 17.5], "quantity": [4, 3]}
    assert events.diff(before, dict(before)) == {}


def test_creations_and_deletions_have_null_on_the_side_that_is_not() -> None:
    state = {"name": "Lamp", "price": Money(500)}
    assert events.created(state) == {"name": [None, "Lamp"], "price": [None, 5.0]}
    assert events.deleted(state) == {"name": ["Lamp", None], "price": [5.0, None]}


def test_the_types_are_the_contracts_words() -> None:
    assert [t.value for t in EventType] == [
        "store.updated",
        "item.created",
        "item.updated",
        "item.deleted",
        "item.restored",
        "item.image.updated",
        "item.image.deleted",
        "item.tagged",
        "item.untagged",
        "tag.created",
        "tag.deleted",
        "member.added",
        "member.updated",
        "member.removed",
        "import.finished",
        "webhook.created",
        "webhook.updated",
        "webhook.deleted",
    ]


def test_the_console_names_every_type_and_no_other() -> None:
    # The console words each type for a person (history rows, webhook checkboxes); a type
    # added to the API must be worded there too.
    source = (CONSOLE / "views" / "common.js").read_text()
    start = source.index("export const EVENT_NAMES = {")
    block = source[start : source.index("};", start)]
    named = re.findall(r'^\s*"([a-z.]+)": "[^"]+",$', block, re.M)
    assert named == [t.value for t in EventType]
