"""Operations endpoints: health, readiness, the OpenAPI document and the interactive docs."""

from __future__ import annotations

from functools import cache
from typing import Any

import orjson
from flask import Blueprint, Flask, Response, current_app
from flask_swagger_ui import get_swaggerui_blueprint

from storekeeper.domain.errors import Unavailable
from storekeeper.http.context import services
from storekeeper.http.openapi import build_document
from storekeeper.http.operations import operation
from storekeeper.http.problems import problem
from storekeeper.http.schemas import Health
from storekeeper.metrics import CONTENT_TYPE

bp = Blueprint("ops", __name__)


@bp.get("/health")
@operation("Operations", response=Health, etag=False)
def health() -> Response:
    """Liveness: 200 while the process serves."""
    return Response(b'{"status":"ok"}\n', mimetype="application/json")


@bp.get("/ready")
@operation("Operations", response=Health, etag=False)
def ready() -> Response:
    """Readiness: 200 when the database answers, 503 otherwise."""
    try:
        services().database.ping()
    except Unavailable:
        return problem(503, "The database does not answer.", headers={"Retry-After": "5"})
    return Response(b'{"status":"ok"}\n', mimetype="application/json")


@bp.get("/metrics")
@operation("Operations")
def metrics() -> Response:
    """Prometheus text: request counts and latency histograms by route, method and status.

    Labels come from closed sets: a method the API does not route is counted as `other`, a
    path that matches no route as `unmatched`, so no client can add series.
    """
    body = services().metrics.exposition()
    return Response(body, mimetype=None, content_type=CONTENT_TYPE)


@cache
def _document(app: Flask) -> bytes:
    return orjson.dumps(build_document(app))


@bp.get("/openapi.json")
def openapi_document() -> Response:
    """The OpenAPI 3.1 document of this API."""
    return Response(_document(current_app._get_current_object()), mimetype="application/json")  # type: ignore[attr-defined]


def docs_blueprint() -> Any:
    """Swagger UI, served from the package's own assets."""
    return get_swaggerui_blueprint(
        "/docs",
        "/openapi.json",
        config={"app_name": "Storekeeper API", "persistAuthorization": False},
    )
