"""The composition root: create_app wires every service once, then the HTTP layer and its hooks.

A request's life, in the order the hooks below run it (docs/contributing.md draws it):
1. `_start`: its state (request id, start time, http/state.py), the one pooled connection its
   units of work will share (checked out by the first of them), and the one-URL path checks;
2. `identity.verify_token`: the bearer token's signature and expiry checked;
3. `identity.resolve_caller`: the token's session checked, once: the caller;
4. `idempotency.begin`: a POST's Idempotency-Key claimed, or its first answer replayed (only
   to a caller whose session lives: a revoked token replays nothing);
5. the handler: body and parameters parsed, one unit of work around one use case, the answer
   shaped (with its ETag) and, for a POST, bound to its key in the same transaction;
6. `idempotency.finish`: a claim the handler did not bind is released or completed;
7. `_finish`: security headers, the access log line and the request's metrics; then `_end`
   returns the connection to the pool, before the answer is sent.
Errors raised anywhere become problem+json in http/problems.py, and steps 6 and 7 still run.
"""

from __future__ import annotations

import re
import time
import uuid

from flask import Flask, Response, abort, request
from flask_cors import CORS
from werkzeug.routing import BaseConverter

from storekeeper.db.accounts import AccountRepository
from storekeeper.db.catalog import CatalogRepository
from storekeeper.db.idempotency import IdempotencyRepository
from storekeeper.db.login_attempts import SqlAttemptLimiter
from storekeeper.db.poolers import without_prepared_statements
from storekeeper.db.session import Database
from storekeeper.db.unit_of_work import SqlUnitsOfWork, bind
from storekeeper.domain.accounts import ACCOUNTS
from storekeeper.domain.catalog import CATALOG
from storekeeper.domain.ports import IDEMPOTENCY_KEYS, AttemptLimiter
from storekeeper.domain.values import ID_MAX
from storekeeper.http import (
    console,
    idempotency,
    identity,
    items,
    ops,
    problems,
    state,
    stores,
    tags,
    users,
)
from storekeeper.http.bodies import MAX_BODY
from storekeeper.http.context import SERVICES, services
from storekeeper.logs import configure_logging, log_request
from storekeeper.metrics import UNMATCHED_ROUTE, Metrics
from storekeeper.offload import CPU_THREADS, Admission, off_the_loop
from storekeeper.ratelimit import RedisRateLimiter
from storekeeper.security import Passwords, Tokens
from storekeeper.services import Services
from storekeeper.settings import Settings

# Every repository a unit of work offers, each bound to its slot (domain/ports.py).
REPOSITORIES = (
    bind(CATALOG, CatalogRepository),
    bind(ACCOUNTS, AccountRepository),
    bind(IDEMPOTENCY_KEYS, IdempotencyRepository),
)
# Every resource's endpoints.
BLUEPRINTS = (stores.bp, items.bp, tags.bp, users.bp, ops.bp, console.bp)

# How long a login or registration may wait for its turn before it is a 503 (offload.Admission).
SIGN_IN_WAIT_S = 10.0
_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "If-None-Match",
    "X-Request-ID",
]
CORS_EXPOSED_HEADERS = [
    "ETag",
    "Idempotent-Replayed",
    "Link",
    "Location",
    "Retry-After",
    "WWW-Authenticate",
    "X-Request-ID",
]


class IdConverter(BaseConverter):
    """Canonical positive ids only (ASCII digits, no sign, no leading zero): one URL each."""

    regex = r"[1-9][0-9]{0,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: object) -> str:
        return str(value)


def canonical_path(path: str) -> bool:
    """Whether a path is written the one way a route spells it: no empty or dot segments.

    The router alone would not say: Werkzeug strips the leading slashes of a path before
    matching (so `//store/1` is the store) and redirects `/store//1` to `/store/1`, giving
    one resource several URLs. A trailing slash is left to the router's strict rules.
    """
    segments = path.split("/")[1:]
    return (
        path.startswith("/")
        and "" not in segments[:-1]
        and "." not in segments
        and ".." not in segments
    )


def _start() -> None:
    given = request.headers.get("X-Request-ID")
    state.begin(given if given and _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex)
    services().units.hold()
    # The path as the server handed it over, before any routing clean-up: a second spelling
    # of a URL names nothing.
    if not canonical_path(request.environ.get("PATH_INFO") or "/"):
        abort(404)
    # Past the 64-bit range a path names nothing; checked here rather than in the converter,
    # where a refusal would make the router answer 405 instead of 404.
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and value > ID_MAX:
            abort(404)


# API answers are data, never documents: nothing in them may load, run or be framed.
_API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
# The docs page is Swagger UI from the package's own assets, with one inline start-up script.
_DOCS_CSP = (
    "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _finish(response: Response) -> Response:
    current = state.current()
    request_id = current.request_id if current else uuid.uuid4().hex
    headers = response.headers
    headers["X-Request-ID"] = request_id
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    docs = request.path.startswith("/docs")
    headers["Content-Security-Policy"] = (
        _DOCS_CSP if docs else console.page_csp(request.path) or _API_CSP
    )
    seconds = time.perf_counter() - current.started if current else 0.0
    route = request.url_rule.rule if request.url_rule is not None else None
    services().metrics.observe(request.method, route, response.status_code, seconds)
    caller = current.caller if current else None
    user_id = caller.actor.user_id if caller else None
    log_request(request_id, route or UNMATCHED_ROUTE, response.status_code, seconds, user_id)
    return response


def _end(_error: BaseException | None) -> None:
    # Teardown runs whatever happened, after the answer is made and before it is sent.
    services().units.release()


def _limiter(settings: Settings, database: Database) -> AttemptLimiter:
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url)
    return SqlAttemptLimiter(database)


def build_services(settings: Settings, database: Database | None = None) -> Services:
    """Every service of the app, each made once (a test may hand in its own database)."""
    if database is None:
        database = Database(settings.database_url, settings.db_pool_size)
        if not settings.db_prepared_statements:
            without_prepared_statements(database.engine)
    return Services(
        settings=settings,
        units=SqlUnitsOfWork(database, REPOSITORIES),
        database=database,
        tokens=Tokens(settings.secret_key, settings.access_token_ttl, settings.refresh_token_ttl),
        passwords=Passwords(run=off_the_loop()),
        limiter=_limiter(settings, database),
        sign_ins=Admission(slots=2 * CPU_THREADS, wait_s=SIGN_IN_WAIT_S),
        metrics=Metrics(database.engine),
    )


def create_app(settings: Settings, database: Database | None = None) -> Flask:
    """A configured Flask app; nothing connects until the first request."""
    configure_logging(settings.log_level)
    app = Flask(__name__)
    app.config.update(
        MAX_CONTENT_LENGTH=MAX_BODY + 1,  # see bodies.body_bytes
        SECRET_KEY=settings.secret_key,
    )
    app.extensions[SERVICES] = build_services(settings, database)
    app.url_map.converters["id"] = IdConverter
    app.url_map.strict_slashes = True
    if settings.cors_origins:
        CORS(
            app,
            origins=list(settings.cors_origins),
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=600,
            supports_credentials=False,
        )
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.register_blueprint(ops.docs_blueprint())
    app.before_request(_start)
    app.before_request(identity.verify_token)
    app.before_request(identity.resolve_caller)
    app.before_request(idempotency.begin)
    app.after_request(idempotency.finish)
    app.after_request(_finish)
    app.teardown_request(_end)
    problems.register(app)
    return app
