"""Every client's request budgets at the HTTP edge: who is counted, the 429, the header fields.

The header fields are those of draft-ietf-httpapi-ratelimit-headers-11 (structured fields):
`RateLimit-Policy: "default";q=600;w=60, "writes";q=120;w=60` says the budgets, and
`RateLimit: "default";r=598;t=42, "writes";r=120;t=42` what is left of each and the seconds
until its window ends.
"""

from __future__ import annotations

from functools import cache

from flask import Response, request

from storekeeper.domain.budgets import Policy, Verdict
from storekeeper.domain.errors import TooManyAttempts
from storekeeper.http.clients import client_address
from storekeeper.http.context import services
from storekeeper.http.state import current

DRAFT = "draft-ietf-httpapi-ratelimit-headers-11"
# Probes and the scrape: an orchestrator or Prometheus must always get through, uncounted.
EXEMPT = frozenset(("/health", "/ready", "/metrics"))
# The console's own files (scripts, styles, its icon): read from memory, no database, and
# what a browser needs to show a spent budget's wait at all; a browser also fetches them on
# its own (an icon again after a navigation), which a person could not help.
STATIC = "/console/assets/"
# Safe methods (RFC 9110): everything else is a write, and counts in both budgets.
_SAFE = frozenset(("GET", "HEAD", "OPTIONS", "TRACE"))


def check() -> None:
    """Count the request against its client's budgets; TooManyAttempts (429) over either."""
    found = services()
    state = current()
    path = request.path
    if state is None or not found.budgets.policies or path in EXEMPT or path.startswith(STATIC):
        return
    verdict = found.budgets.spend(client(), request.method not in _SAFE)
    state.budget = verdict
    if verdict.retry_after is not None:
        raise TooManyAttempts(
            "Too many requests from this client; retry after the time in Retry-After.",
            verdict.retry_after,
        )


def client() -> str:
    """Whom a request counts against: the user its bearer token names (its signature and
    expiry checked, its session not: no database read), else the client's address, the
    proxy's client when the proxy is trusted (as the login limit counts it)."""
    found = services()
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        user_id = found.tokens.subject(token.strip())
        if user_id is not None:
            return f"user:{user_id}"
    trusted = found.settings.trusted_proxies
    forwarded = request.headers.get("X-Forwarded-For")
    return "addr:" + client_address(request.remote_addr, forwarded, trusted)


def add_headers(response: Response) -> None:
    """The RateLimit-Policy and RateLimit header fields of the request's verdict, if any."""
    state = current()
    verdict: Verdict | None = state.budget if state else None
    if verdict is None:
        return
    response.headers["RateLimit-Policy"] = _policy_field(tuple(s.policy for s in verdict.standings))
    response.headers["RateLimit"] = ", ".join(
        f'"{s.policy.name}";r={s.remaining};t={s.reset}' for s in verdict.standings
    )


@cache
def _policy_field(policies: tuple[Policy, ...]) -> str:
    """The RateLimit-Policy field of the budgets: the same on every answer, made once."""
    return ", ".join(f'"{p.name}";q={p.limit.count};w={p.limit.period}' for p in policies)
