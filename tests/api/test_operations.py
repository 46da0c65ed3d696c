"""Operations endpoints, request ids, logs, security headers and CORS."""

from __future__ import annotations

import io
import json
import logging
import random
import re
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from storekeeper.app import create_app
from storekeeper.db.session import Database
from storekeeper.metrics import METHODS
from tests.helpers import (
    HOOK_URL,
    PASSWORD,
    ProvisionedDatabase,
    User,
    make_settings,
    new_user,
)


def test_health_and_ready(client: FlaskClient) -> None:
    assert client.get("/health").get_json() == {"status": "ok"}
    assert client.get("/ready").status_code == 200


def test_openapi_document_validates_and_covers_every_route(client: FlaskClient, app: Flask) -> None:
    document = client.get("/openapi.json").get_json()
    validate(document)
    assert document["openapi"].startswith("3.1")
    documented = {
        (path, method.upper()) for path, item in document["paths"].items() for method in item
    }
    for rule in app.url_map.iter_rules():
        # Not the API: the docs, the document itself, and the web console's pages, assets and
        # browser-only cookie session (http/console.py says why).
        if rule.endpoint.startswith(("swagger_ui", "static", "console.")):
            continue
        if rule.rule == "/openapi.json":
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in (rule.methods or set()) - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)


def _operations(document: dict[str, Any]) -> dict[str, tuple[str, str, dict[str, Any]]]:
    return {
        operation["operationId"]: (method.upper(), path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    }


def test_every_create_links_to_the_operations_on_what_it_created(client: FlaskClient) -> None:
    operations = _operations(client.get("/openapi.json").get_json())
    links = {
        (method, path): operation["responses"]["201"].get("links")
        for method, path, operation in operations.values()
        if "201" in operation["responses"]
    }
    for (method, path), found in links.items():
        assert found, f"{method} {path} creates but links to nothing: declare `creates=`"
        for link in found.values():
            _, target_path, target = operations[link["operationId"]]
            in_path = {p["name"] for p in target["parameters"] if p["in"] == "path"}
            assert link["parameters"] and set(link["parameters"]) <= in_path, (path, target_path)
    # At least these: a store's new sub-resources link from it too.
    assert set(links["POST", "/store"]) >= {
        "stores_get_store",
        "stores_update_store",
        "stores_delete_store",
        "items_list_store_items",
        "items_create_store_item",
        "tags_list_store_tags",
        "tags_create_tag",
    }
    assert links["POST", "/store/{id}/tag"]["tags_link_tag"]["parameters"] == {
        "tag_id": "$response.body#/id"
    }
    assert links["PUT", "/item/{id}"]["items_delete_item"]["parameters"] == {
        "id": "$request.path.id"
    }
    assert links["POST", "/item/{id}/tag/{tag_id}"]["tags_unlink_tag"]["parameters"] == {
        "id": "$request.path.id",
        "tag_id": "$request.path.tag_id",
    }
    assert set(links["POST", "/register"]) == {"users_get_user", "users_delete_user"}


def _follow(expression: str, path_args: dict[str, int], body: dict[str, Any]) -> int:
    """The value of a link's runtime expression (the two forms the document uses)."""
    if expression.startswith("$request.path."):
        return path_args[expression.removeprefix("$request.path.")]
    assert expression.startswith("$response.body#/"), expression
    found: int = body[expression.removeprefix("$response.body#/")]
    return found


def test_the_links_of_a_create_lead_to_what_it_created(client: FlaskClient, alice: User) -> None:
    operations = _operations(client.get("/openapi.json").get_json())
    shop = client.post("/store", json={"name": "Linked"}, headers=alice.headers).get_json()
    new_user(client, "grace")
    creates = [
        ("/store", {}, "post", {"name": "Other"}),
        ("/store/{id}/item", {"id": shop["id"]}, "post", {"name": "Chair", "price": 1}),
        ("/store/{id}/tag", {"id": shop["id"]}, "post", {"name": "wood"}),
        ("/item/{id}", {"id": 4242}, "put", {"name": "Put", "price": 1, "store_id": shop["id"]}),
        ("/store/{id}/member", {"id": shop["id"]}, "post", {"username": "grace", "role": "staff"}),
        ("/store/{id}/webhook", {"id": shop["id"]}, "post", {"url": HOOK_URL, "events": ["*"]}),
    ]
    for path, path_args, method, body in creates:
        answer = client.open(
            path.format(**path_args), method=method, json=body, headers=alice.headers
        )
        assert answer.status_code == 201, (path, answer.get_json())
        source = next(op for m, p, op in operations.values() if (m, p) == (method.upper(), path))
        for link in source["responses"]["201"]["links"].values():
            target_method, target_path, _ = operations[link["operationId"]]
            if target_method != "GET":
                continue
            args = {
                name: _follow(expression, path_args, answer.get_json())
                for name, expression in link["parameters"].items()
            }
            url = target_path.format(**args)
            assert client.get(url, headers=alice.headers).status_code == 200, (path, url)


def test_every_documented_write_declares_its_errors(client: FlaskClient) -> None:
    document = client.get("/openapi.json").get_json()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            statuses = set(operation["responses"])
            assert "503" in statuses, (path, method)
            if "requestBody" in operation:
                assert {"400", "413", "415", "422"} <= statuses, (path, method)
            if operation.get("security") == [{"bearerAuth": []}]:
                assert {"401", "403"} <= statuses, (path, method)
            elif operation.get("security"):
                assert "401" in statuses, (path, method)


def test_docs_are_served_from_the_package(client: FlaskClient) -> None:
    page = client.get("/docs/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "/openapi.json" in html
    assert not re.search(r"(src|href)=\"https?://", html), "no asset may come from a CDN"
    for asset in re.findall(r'(?:src|href)="(/docs/[^"]+)"', html):
        with client.get(asset) as answer:
            assert answer.status_code == 200, asset
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]


def test_security_headers_on_every_answer(client: FlaskClient) -> None:
    for response in (client.get("/health"), client.get("/nope"), client.get("/item/1")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Content-Security-Policy"].startswith("default-src 'none'")
        assert response.headers["Referrer-Policy"] == "no-referrer"


def test_request_id_is_echoed_when_well_formed(client: FlaskClient) -> None:
    assert (
        client.get("/health", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"]
        == "abc-123"
    )
    for bad in ("", "x" * 129, "has space", "caf\u00e9"):
        answer = client.get("/health", headers={"X-Request-ID": bad.encode().decode("latin-1")})
        assert answer.headers["X-Request-ID"] not in (bad, "")
    first = client.get("/health").headers["X-Request-ID"]
    assert first != client.get("/health").headers["X-Request-ID"]


def test_metrics_count_requests_by_route(client: FlaskClient) -> None:
    client.get("/health")
    client.get("/item/999999")
    text = client.get("/metrics").get_data(as_text=True)
    assert client.get("/metrics").headers["Content-Type"].startswith("text/plain")
    assert re.search(
        r'storekeeper_http_requests_total\{method="GET",route="/health",status="200"\} [1-9]', text
    )
    assert re.search(r'route="/item/<id:id>",status="404"', text)
    assert "storekeeper_http_request_duration_seconds_bucket" in text


def _series(client: FlaskClient) -> set[str]:
    """The labelled series /metrics exposes (sample lines, without their values)."""
    text = client.get("/metrics").get_data(as_text=True)
    return {line.rsplit(" ", 1)[0] for line in text.splitlines() if line and line[0] != "#"}


def _made_up_requests(client: FlaskClient, rng: random.Random, count: int) -> None:
    """Requests a client chooses freely: made-up methods, made-up paths, and both."""
    for n in range(count):
        method = "".join(rng.choices(string.ascii_uppercase + string.digits, k=rng.randint(3, 12)))
        if method in {"GET", "PUT", "POST", "HEAD"}:
            method += "1"
        path = "/" + "/".join(
            "".join(rng.choices(string.ascii_letters + string.digits, k=rng.randint(1, 10)))
            for _ in range(rng.randint(1, 4))
        )
        kind = n % 4
        if kind == 0:
            client.open("/store", method=method)
        elif kind == 1:
            client.open(path, method=method)
        else:
            client.open(path, method=("GET", "POST")[kind - 2])


def test_metrics_labels_are_a_closed_set(client: FlaskClient, app: Flask) -> None:
    rng = random.Random(8)
    _made_up_requests(client, rng, 8)  # every kind twice: their folded series now exist
    _series(client)  # the scrape's own series
    before = _series(client)
    _made_up_requests(client, rng, 300)
    after = _series(client)
    assert after == before, sorted(after - before)[:10]
    routes = {rule.rule for rule in app.url_map.iter_rules()} | {"unmatched"}
    for series in after:
        labels = dict(re.findall(r'(\w+)="([^"]*)"', series))
        if "method" in labels:
            assert labels["method"] in METHODS | {"other"}
            assert labels["route"] in routes
    assert any('method="other",route="unmatched",status="405"' in s for s in after)
    assert any('method="other",route="unmatched",status="404"' in s for s in after)


@pytest.fixture
def log_lines() -> Iterator[io.StringIO]:
    """Everything the app logs during the test, as JSON lines."""
    logger = logging.getLogger("storekeeper")
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logger.handlers[0].formatter if logger.handlers else None)
    logger.addHandler(handler)
    yield stream
    logger.removeHandler(handler)


def test_one_json_log_line_per_request_without_secrets(
    client: FlaskClient, log_lines: io.StringIO
) -> None:
    client.post("/register", json={"username": "logged", "password": PASSWORD})
    tokens = client.post("/login", json={"username": "logged", "password": PASSWORD}).get_json()
    client.get(
        "/user/me",
        headers={"Authorization": f"Bearer {tokens['access_token']}", "X-Request-ID": "trace-1"},
    )
    text = log_lines.getvalue()
    assert PASSWORD not in text
    assert tokens["access_token"] not in text and tokens["refresh_token"] not in text
    entries = [json.loads(line) for line in text.splitlines()]
    me = [e for e in entries if e.get("route") == "/user/me"]
    assert len(me) == 1
    assert me[0]["request_id"] == "trace-1"
    assert me[0]["method"] == "GET" and me[0]["status"] == 200
    assert isinstance(me[0]["duration_ms"], float) and me[0]["user_id"] is not None
    assert all("time" in e and "level" in e for e in entries)


def test_cors_is_off_by_default(client: FlaskClient) -> None:
    answer = client.get("/health", headers={"Origin": "https://shop.example"})
    assert "Access-Control-Allow-Origin" not in answer.headers


def test_cors_allows_configured_origins_with_preflight(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path
) -> None:
    settings = make_settings(test_database.url, tmp_path, cors_origins=("https://shop.example",))
    client = create_app(settings, database).test_client()
    preflight = client.options(
        "/store",
        headers={
            "Origin": "https://shop.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Content-Type, Idempotency-Key",
        },
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "idempotency-key" in preflight.headers["Access-Control-Allow-Headers"].lower()
    simple = client.get("/health", headers={"Origin": "https://shop.example"})
    assert simple.headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert "ETag" in simple.headers["Access-Control-Expose-Headers"]
    other = client.get("/health", headers={"Origin": "https://evil.example"})
    assert "Access-Control-Allow-Origin" not in other.headers
