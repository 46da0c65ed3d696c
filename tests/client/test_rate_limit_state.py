"""The client reads the RateLimit header fields (draft-11) and ignores what is malformed."""

from __future__ import annotations

from storekeeper_client.ratelimit import parse_rate_limit


def test_both_budgets_are_read_with_their_policies() -> None:
    state = parse_rate_limit(
        {
            "RateLimit-Policy": '"default";q=600;w=60, "writes";q=120;w=60',
            "RateLimit": '"default";r=598;t=42, "writes";r=119;t=42',
        }
    )
    assert state is not None
    assert (state.limit, state.remaining, state.reset) == (600, 598, 42)
    writes = state.quotas["writes"]
    assert (writes.limit, writes.window, writes.remaining, writes.reset) == (120, 60, 119, 42)


def test_malformed_items_are_ignored_and_no_fields_are_no_state() -> None:
    assert parse_rate_limit({}) is None
    assert parse_rate_limit({"RateLimit": "default;r=1"}) is None
    state = parse_rate_limit({"RateLimit": 'garbage, "default";r=3;t=1;x=2'})
    assert state is not None
    assert (state.limit, state.remaining, state.reset) == (None, 3, 1)
