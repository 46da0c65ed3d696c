"""The application factory: extensions, blueprints, error handlers and request hooks."""

from __future__ import annotations

import re
import time
import uuid

from flask import Flask, Response, abort, g, request
from werkzeug.routing import BaseConverter

from storekeeper.db.session import Database
from storekeeper.domain.values import ID_MAX
from storekeeper.http import idempotency, items, ops, problems, stores, tags, users
from storekeeper.http.context import authenticate_request
from storekeeper.logs import configure_logging, log_request
from storekeeper.ratelimit import RedisRateLimiter
from storekeeper.security import Passwords, Tokens
from storekeeper.settings import Settings

_REQUEST_ID = re.compile(r"[\x21-\x7e]{1,128}")


class IdConverter(BaseConverter):
    """Canonical positive ids only (ASCII digits, no sign, no leading zero): one URL each."""

    regex = r"[1-9][0-9]{0,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: object) -> str:
        return str(value)


def _start() -> None:
    g.started = time.perf_counter()
    given = request.headers.get("X-Request-ID")
    g.request_id = given if given and _REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    # Past the 64-bit range a path names nothing; checked here rather than in the converter,
    # where a refusal would make the router answer 405 instead of 404.
    for value in (request.view_args or {}).values():
        if isinstance(value, int) and value > ID_MAX:
            abort(404)


def _finish(response: Response) -> Response:
    response.headers["X-Request-ID"] = g.get("request_id") or uuid.uuid4().hex
    response.headers["X-Content-Type-Options"] = "nosniff"
    log_request(response.status_code)
    return response


def create_app(settings: Settings, database: Database | None = None) -> Flask:
    """A configured Flask app; nothing connects until the first request."""
    configure_logging(settings.log_level)
    app = Flask(__name__)
    app.config.update(
        STOREKEEPER_SETTINGS=settings,
        MAX_CONTENT_LENGTH=1024 * 1024,
        SECRET_KEY=settings.secret_key,
    )
    app.url_map.converters["id"] = IdConverter
    app.url_map.strict_slashes = True
    app.extensions["storekeeper.db"] = database or Database(
        settings.database_url, settings.db_pool_size
    )
    app.extensions["storekeeper.tokens"] = Tokens(
        settings.secret_key, settings.access_token_ttl, settings.refresh_token_ttl
    )
    app.extensions["storekeeper.passwords"] = Passwords()
    if settings.redis_url:
        app.extensions["storekeeper.redis_limiter"] = RedisRateLimiter(
            settings.redis_url, settings.login_rate_limit
        )
    for blueprint in (stores.bp, items.bp, tags.bp, users.bp, ops.bp):
        app.register_blueprint(blueprint)
    app.register_blueprint(ops.docs_blueprint())
    app.before_request(_start)
    app.before_request(authenticate_request)
    app.before_request(idempotency.begin)
    app.after_request(idempotency.finish)
    app.after_request(_finish)
    problems.register(app)
    return app
