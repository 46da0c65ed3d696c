"""The floors every scenario is compared with, served by the same server as Storekeeper."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask

BODY = b'{"id":1,"name":"Chair","price":9.99}'


def bare_app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    """A bare WSGI callable answering a fixed JSON body: the server's own ceiling."""
    start_response(
        "200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]
    )
    return [BODY]


def flask_app() -> Flask:
    """A minimal Flask endpoint returning a small dict: what any Flask API pays per request."""
    app = Flask(__name__)

    @app.get("/item/1")
    def item() -> dict[str, object]:
        return {"id": 1, "name": "Chair", "price": 9.99}

    return app
