"""The application factory: extensions, blueprints, error handlers and request hooks."""

from __future__ import annotations

import re
import time
import uuid

from flask import Flask, Response, abort, current_app, g, request
from flask_cors import CORS
from werkzeug.routing import BaseConverter

from storekeeper.db.poolers import without_prepared_statements
from storekeeper.db.session import Database
from storekeeper.domain.values import ID_MAX
from storekeeper.http import console, idempotency, items, ops, problems, stores, tags, users
from storekeeper.http.bodies import MAX_BODY
from storekeeper.http.context import authenticate_request
from storekeeper.logs import configure_logging, log_request
from storekeeper.metrics import UNMATCHED_ROUTE, Metrics
from storekeeper.ratelimit import RedisRateLimiter
from storekeeper.security import Passwords, Tokens
from storekeeper.settings import Settings

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
    g.started = time.perf_counter()
    given = request.headers.get("X-Request-ID")
    g.request_id = given if given and _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
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
    headers = response.headers
    headers["X-Request-ID"] = g.get("request_id") or uuid.uuid4().hex
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "no-referrer"
    docs = request.path.startswith("/docs")
    headers["Content-Security-Policy"] = (
        _DOCS_CSP if docs else console.page_csp(request.path) or _API_CSP
    )
    started = g.get("started")
    seconds = time.perf_counter() - started if started is not None else 0.0
    route = request.url_rule.rule if request.url_rule is not None else None
    current_app.extensions["storekeeper.metrics"].observe(
        request.method, route, response.status_code, seconds
    )
    log_request(route or UNMATCHED_ROUTE, response.status_code, seconds)
    return response


def create_app(settings: Settings, database: Database | None = None) -> Flask:
    """A configured Flask app; nothing connects until the first request."""
    configure_logging(settings.log_level)
    app = Flask(__name__)
    app.config.update(
        STOREKEEPER_SETTINGS=settings,
        MAX_CONTENT_LENGTH=MAX_BODY + 1,  # see bodies.body_bytes
        SECRET_KEY=settings.secret_key,
    )
    app.url_map.converters["id"] = IdConverter
    app.url_map.strict_slashes = True
    if database is None:
        database = Database(settings.database_url, settings.db_pool_size)
        if not settings.db_prepared_statements:
            without_prepared_statements(database.engine)
    app.extensions["storekeeper.db"] = database
    app.extensions["storekeeper.tokens"] = Tokens(
        settings.secret_key, settings.access_token_ttl, settings.refresh_token_ttl
    )
    app.extensions["storekeeper.passwords"] = Passwords()
    app.extensions["storekeeper.metrics"] = Metrics(app.extensions["storekeeper.db"].engine)
    if settings.cors_origins:
        CORS(
            app,
            origins=list(settings.cors_origins),
            allow_headers=CORS_REQUEST_HEADERS,
            expose_headers=CORS_EXPOSED_HEADERS,
            max_age=600,
            supports_credentials=False,
        )
    if settings.redis_url:
        app.extensions["storekeeper.redis_limiter"] = RedisRateLimiter(
            settings.redis_url, settings.login_rate_limit
        )
    for blueprint in (stores.bp, items.bp, tags.bp, users.bp, ops.bp, console.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(ops.docs_blueprint())
    app.before_request(_start)
    app.before_request(authenticate_request)
    app.before_request(idempotency.begin)
    app.after_request(idempotency.finish)
    app.after_request(_finish)
    problems.register(app)
    return app
