"""The composition root: create_app wires every service once, then the HTTP layer.

A request's life, step by step, is http/pipeline.py: its module docstring lists the steps in
the order they run, and its code runs them in that order.
"""

from __future__ import annotations

from flask import Flask, Response
from flask_cors import CORS
from werkzeug.routing import BaseConverter

from storekeeper.db.login_attempts import SqlAttemptLimiter
from storekeeper.db.poolers import without_prepared_statements
from storekeeper.db.repositories import REPOSITORIES
from storekeeper.db.request_budgets import SqlBudgetStore
from storekeeper.db.session import Database
from storekeeper.db.unit_of_work import SqlUnitsOfWork
from storekeeper.domain.budgets import Budgets, BudgetStore
from storekeeper.domain.ports import AttemptLimiter
from storekeeper.http import (
    accounts,
    console,
    history,
    items,
    jobs,
    members,
    ops,
    photos,
    pipeline,
    problems,
    stores,
    tags,
    transfer,
    trash,
    users,
    webhooks,
)
from storekeeper.http.bodies import MAX_BODY
from storekeeper.http.context import SERVICES
from storekeeper.logs import configure_logging
from storekeeper.metrics import Metrics
from storekeeper.offload import CPU_THREADS, Admission, off_the_loop
from storekeeper.pictures import PillowPictures
from storekeeper.ratelimit import RedisBudgetStore, RedisRateLimiter
from storekeeper.security import Passwords, Tokens
from storekeeper.services import Services
from storekeeper.settings import Settings
from storekeeper.webhooks.addresses import Destinations

# Every resource's endpoints.
BLUEPRINTS = (
    stores.bp,
    items.bp,
    photos.bp,
    transfer.bp,
    tags.bp,
    trash.bp,
    members.bp,
    users.bp,
    accounts.bp,
    jobs.bp,
    ops.bp,
    history.bp,
    webhooks.bp,
    console.bp,
)

# How long a login or registration may wait for its turn before it is a 503 (offload.Admission).
SIGN_IN_WAIT_S = 10.0
CORS_REQUEST_HEADERS = [
    "Authorization",
    "Content-Type",
    "Idempotency-Key",
    "If-Match",
    "If-None-Match",
    "X-Request-ID",
]
CORS_EXPOSED_HEADERS = [
    "Content-Disposition",
    "ETag",
    "Idempotent-Replayed",
    "Link",
    "Location",
    "RateLimit",
    "RateLimit-Policy",
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


def _finish(response: Response) -> Response:
    return pipeline.finish(response, console.page_csp)


def _limiter(settings: Settings, database: Database) -> AttemptLimiter:
    if settings.redis_url:
        return RedisRateLimiter(settings.redis_url)
    return SqlAttemptLimiter(database)


def _budgets(settings: Settings, database: Database) -> Budgets:
    store: BudgetStore = (
        RedisBudgetStore(settings.redis_url) if settings.redis_url else SqlBudgetStore(database)
    )
    return Budgets(settings.rate_limit, settings.write_rate_limit, store)


def build_services(settings: Settings, database: Database | None = None) -> Services:
    """Every service of the app, each made once (a test may hand in its own database)."""
    if database is None:
        database = Database(settings.database_url, settings.db_pool_size)
        if not settings.db_prepared_statements:
            without_prepared_statements(database.engine)
    units = SqlUnitsOfWork(database, REPOSITORIES)
    # One pool for the CPU-bound work (password hashes, photos): as many threads as cores.
    cpu = off_the_loop()
    return Services(
        settings=settings,
        units=units,
        database=database,
        tokens=Tokens(settings.secret_key, settings.access_token_ttl, settings.refresh_token_ttl),
        passwords=Passwords(run=cpu),
        limiter=_limiter(settings, database),
        budgets=_budgets(settings, database),
        sign_ins=Admission(slots=2 * CPU_THREADS, wait_s=SIGN_IN_WAIT_S),
        pictures=PillowPictures(run=cpu),
        metrics=Metrics(database.engine, units),
        destinations=Destinations(settings.webhook_allow_private),
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
    app.before_request(pipeline.start)
    app.after_request(_finish)
    app.teardown_request(pipeline.end)
    problems.register(app)
    return app
