"""The server's request budgets as its last answer stated them (RateLimit header fields).

The fields are those of draft-ietf-httpapi-ratelimit-headers-11, structured-field lists:
`RateLimit-Policy: "default";q=600;w=60, "writes";q=120;w=60` and
`RateLimit: "default";r=598;t=42, "writes";r=120;t=42`. A malformed item is ignored, as the
draft asks.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

# One list member: a quoted policy name, then `;key=integer` parameters.
_ITEM = re.compile(r'^"([^"\\]*)"((?:;[a-z][a-z0-9_.*-]*=[0-9]+)*)$')


@dataclass(frozen=True)
class Quota:
    """One budget: `limit` requests per `window` seconds; `remaining` left for `reset` s."""

    policy: str
    remaining: int
    reset: int | None
    limit: int | None
    window: int | None


@dataclass(frozen=True)
class RateLimitState:
    """Every budget the last answer reported, and the general one's figures at the top."""

    quotas: Mapping[str, Quota]

    @property
    def general(self) -> Quota:
        """The budget every request counts in (the first the server lists: `default`)."""
        return self.quotas.get("default") or next(iter(self.quotas.values()))

    @property
    def limit(self) -> int | None:
        """Requests allowed per window, in the general budget."""
        return self.general.limit

    @property
    def remaining(self) -> int:
        """Requests left in the general budget's window."""
        return self.general.remaining

    @property
    def reset(self) -> int | None:
        """Seconds until the general budget's window ends."""
        return self.general.reset


def _items(value: str) -> dict[str, dict[str, int]]:
    found: dict[str, dict[str, int]] = {}
    for member in value.split(","):
        match = _ITEM.fullmatch(member.strip())
        if match is None:
            continue
        params = dict(p.split("=", 1) for p in match.group(2).split(";")[1:])
        found[match.group(1)] = {key: int(number) for key, number in params.items()}
    return found


def parse_rate_limit(headers: Mapping[str, str]) -> RateLimitState | None:
    """The state the RateLimit and RateLimit-Policy fields state; None without them."""
    standing = _items(headers.get("RateLimit", ""))
    policies = _items(headers.get("RateLimit-Policy", ""))
    quotas = {
        name: Quota(
            name,
            params["r"],
            params.get("t"),
            policies.get(name, {}).get("q"),
            policies.get(name, {}).get("w"),
        )
        for name, params in standing.items()
        if "r" in params
    }
    return RateLimitState(quotas) if quotas else None
