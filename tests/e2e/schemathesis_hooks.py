"""Schemathesis hooks: keep generated requests to what a schema-driven generator can make valid.

Two parameters mean something only through history, which a generator cannot know:

- a list `cursor` is opaque and signed with the server's secret, so no generated string is a
  valid one, and the contract makes an invalid cursor a 422;
- an `Idempotency-Key` binds the first request sent with it, so the generator's reuse of a
  short value like "0" with another body is rightly a 422.

Either would be reported as a valid request rejected. The fuzzed copy of the document leaves
those two parameters out; tests/api/test_lists.py and tests/api/test_http_semantics.py cover
them. Nothing else is changed.
"""

from __future__ import annotations

from typing import Any

import schemathesis

HISTORY_BOUND = {"cursor", "Idempotency-Key"}


@schemathesis.hook
def before_load_schema(ctx: Any, raw_schema: dict[str, Any]) -> None:
    """Drop the history-bound parameters from every operation."""
    for path_item in raw_schema.get("paths", {}).values():
        for operation in path_item.values():
            params = operation.get("parameters", [])
            operation["parameters"] = [p for p in params if p.get("name") not in HISTORY_BOUND]
