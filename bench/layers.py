"""Where a request's time goes: every profiler sample put in one layer and one phase.

Both profilers (pyinstrument in process, py-spy under load) hand over stacks of (function,
file) frames, outermost first; the same two rules read them, so the in-process breakdown and
the one under load are comparable line by line.

- The **layer** is the kind of work: the innermost frame that belongs to a known library or
  to one of Storekeeper's cross-cutting modules decides (the standard library's helpers are
  skipped, so `contextlib` inside the unit of work counts as the unit of work).
- The **phase** is the step of the request's life (http/pipeline.py lists them): the
  outermost step or handler on the stack.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

Frame = tuple[str, str]  # (function, file path)

# Checked in order against a frame's file path (and, for a few, its function); first match.
_LAYERS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ETag (digest)", ("storekeeper/http/conditional.py",)),
    ("logging", ("storekeeper/logs.py", "/logging/")),
    ("metrics", ("storekeeper/metrics.py", "prometheus_client/")),
    ("tokens and cursors (JWT, HMAC)", ("storekeeper/security.py", "/jwt/", "/hmac.py")),
    ("pool checkout and return", ("sqlalchemy/pool/",)),
    ("driver and database", ("/psycopg/", "/sqlite3/")),
    ("SQLAlchemy execution", ("sqlalchemy/",)),
    ("unit of work", ("storekeeper/db/unit_of_work.py", "storekeeper/db/session.py")),
    ("row shaping", ("storekeeper/db/",)),
    ("pydantic", ("pydantic/", "pydantic_core/")),
    ("JSON", ("/json/", "orjson")),
    ("Storekeeper HTTP layer", ("storekeeper/http/", "storekeeper/app.py")),
    ("domain", ("storekeeper/domain/",)),
    ("Flask and Werkzeug", ("flask/", "werkzeug/", "flask_cors/")),
    ("server (gunicorn, gevent)", ("gunicorn/", "gevent/", "greenlet")),
)
# Functions whose own time is the driver and the database: where SQLAlchemy calls the DBAPI,
# the prepared reads' own call (db/prepared.py), and the DBAPI's methods when a profiler
# records C calls as frames of their own (pyinstrument does, py-spy does not).
_DRIVER_CALLS = {"do_execute", "do_execute_no_params", "do_executemany", "fetchall", "fetchone"}
_PREPARED = ("storekeeper/db/prepared.py", "fetch_one")
_DBAPI_METHODS = {"Cursor.execute", "Cursor.fetchone", "Cursor.fetchall", "Connection.execute"}
# The steps of http/pipeline.py, by the function that does each. The first (outermost) frame
# that matches names the phase: the pipeline's own `run` and `_use_case` match none, so a
# frame below them decides.
_PHASES: tuple[tuple[str, str, str], ...] = (
    ("storekeeper/http/pipeline.py", "start", "1 request start"),
    ("storekeeper/http/identity.py", "verify_token", "2 token verification"),
    ("storekeeper/http/bodies.py", "body_bytes", "3 body read"),
    ("storekeeper/http/identity.py", "authenticate", "4 session check"),
    ("storekeeper/http/idempotency.py", "", "4 idempotency claim, 6 its answer stored"),
    ("storekeeper/http/paging.py", "query_params", "5 parse"),
    ("storekeeper/http/bodies.py", "parse_body", "5 parse"),
    ("storekeeper/http/pipeline.py", "finish", "8 headers, metrics, access log"),
    ("storekeeper/http/problems.py", "", "errors"),
)
_HANDLERS = (
    "storekeeper/http/items.py",
    "storekeeper/http/stores.py",
    "storekeeper/http/tags.py",
    "storekeeper/http/users.py",
    "storekeeper/http/ops.py",
    "bench/floors.py",
)


def layer(stack: Sequence[Frame]) -> str:
    """The kind of work the innermost recognised frame of `stack` does."""
    for function, path in reversed(stack):
        path = path.replace("\\", "/")
        if function in _DBAPI_METHODS or (path.endswith(_PREPARED[0]) and function == _PREPARED[1]):
            return "driver and database"
        for name, needles in _LAYERS:
            if any(needle in path for needle in needles):
                if name == "SQLAlchemy execution" and function in _DRIVER_CALLS:
                    return "driver and database"
                return name
    return "other (standard library, interpreter)"


def phase(stack: Sequence[Frame]) -> str:
    """The step of the request's life that `stack` is in."""
    for function, path in stack:
        path = path.replace("\\", "/")
        for file, hook, name in _PHASES:
            if path.endswith(file) and (not hook or function == hook):
                return name
        if path.endswith(_HANDLERS):
            return "6 use case and shaping"
    if any(("flask/" in p or "werkzeug/" in p) for _, p in stack):
        return "Flask dispatch"
    return "server and outside the app"


def breakdown(samples: Iterable[tuple[Sequence[Frame], float]]) -> dict[str, dict[str, float]]:
    """Shares (0..1) of the total sampled time by layer and by phase."""
    layers: dict[str, float] = {}
    phases: dict[str, float] = {}
    for stack, weight in samples:
        kind, step = layer(stack), phase(stack)
        layers[kind] = layers.get(kind, 0.0) + weight
        phases[step] = phases.get(step, 0.0) + weight
    total = sum(layers.values()) or 1.0
    return {
        "layers": {k: v / total for k, v in sorted(layers.items(), key=lambda kv: -kv[1])},
        "phases": {k: v / total for k, v in sorted(phases.items())},
    }
