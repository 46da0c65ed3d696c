"""One webhook delivery attempt over HTTP(S) (STAND-IN until helper wh-sender's module is
merged: same interface, fewer guarantees: it does not pin the vetted address, and its
timeout bounds each socket operation rather than the whole exchange)."""

from __future__ import annotations

import http.client
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from storekeeper.webhooks.addresses import Destinations

DEFAULT_TIMEOUT_S = 15.0
DEFAULT_MAX_BODY_BYTES = 64 * 1024
MAX_RETRY_AFTER_S = 24 * 3600.0
MAX_ERROR_CHARS = 300


@dataclass(frozen=True)
class Outcome:
    """One attempt's result: the receiver's status, or none and why (`error`)."""

    status: int | None
    retry_after_s: float | None = None
    duration_ms: int = 0
    error: str | None = None


class Sender:
    """Posts webhook deliveries; safe to share between threads."""

    def __init__(
        self,
        destinations: Destinations,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        ca_file: str | None = None,
    ) -> None:
        self.destinations = destinations
        self.timeout_s = timeout_s
        self.max_body_bytes = max_body_bytes
        self.ca_file = ca_file

    def post(self, url: str, headers: Mapping[str, str], body: bytes) -> Outcome:
        """POST the body; never raises for network trouble, follows no redirect."""
        started = time.monotonic()
        refused = self.destinations.check(url)
        if refused is not None:
            return Outcome(None, None, 0, f"destination refused: {refused}"[:MAX_ERROR_CHARS])
        parts = urlsplit(url)
        host = parts.hostname or ""
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            context = ssl.create_default_context(cafile=self.ca_file)
            conn = http.client.HTTPSConnection(
                host, parts.port, timeout=self.timeout_s, context=context
            )
        else:
            conn = http.client.HTTPConnection(host, parts.port, timeout=self.timeout_s)
        try:
            conn.request("POST", path, body=body, headers=dict(headers))
            answer = conn.getresponse()
            answer.read(self.max_body_bytes)
            status = answer.status
            retry_after = _retry_after(answer.getheader("retry-after"))
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}".splitlines()[0][:MAX_ERROR_CHARS]
            return Outcome(None, None, _ms(started), error)
        finally:
            conn.close()
        return Outcome(status, retry_after, _ms(started), None)


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the delay form only, in this stand-in), bounded."""
    if value is None or not value.strip().isdigit():
        return None
    return min(float(value.strip()), MAX_RETRY_AFTER_S)
