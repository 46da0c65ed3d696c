"""Structured JSON logs: one line per request, never a password, token or secret."""

from __future__ import annotations

import logging
import sys
from datetime import UTC, datetime

import orjson
from flask import has_request_context, request

from storekeeper.http import state

access = logging.getLogger("storekeeper.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per line, with the request id when there is a request."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if has_request_context() and "request_id" not in entry:
            current = state.current()
            entry["request_id"] = current.request_id if current else None
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def configure_logging(level: str) -> None:
    """Send the app's logs to stderr as JSON lines (idempotent)."""
    root = logging.getLogger("storekeeper")
    root.setLevel(level)
    if not any(getattr(h, "_storekeeper", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._storekeeper = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = False


def log_request(
    request_id: str, route: str, status: int, seconds: float, user_id: int | None
) -> None:
    """The access log line of the current request."""
    if not access.isEnabledFor(logging.INFO):
        return
    access.info(
        "request",
        extra={
            "fields": {
                "request_id": request_id,
                "method": request.method,
                "route": route,
                "status": status,
                "duration_ms": round(seconds * 1000, 3),
                "user_id": user_id,
            }
        },
    )
