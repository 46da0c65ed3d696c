"""Schemathesis hooks: keep generated requests to what a generator can make valid.

A list cursor is opaque and signed with the server's secret, so no generated string can be a
valid one, and the contract says an invalid cursor is a 422; the generator would take every
such 422 for a rejected valid request. The fuzzed copy of the document therefore leaves the
`cursor` parameter out; cursors are covered by tests/api/test_lists.py. Nothing else changes.
"""

from __future__ import annotations

from typing import Any

import schemathesis


@schemathesis.hook
def before_load_schema(ctx: Any, raw_schema: dict[str, Any]) -> None:
    """Drop the cursor parameter from every list operation."""
    for path_item in raw_schema.get("paths", {}).values():
        for operation in path_item.values():
            params = operation.get("parameters", [])
            operation["parameters"] = [p for p in params if p.get("name") != "cursor"]
