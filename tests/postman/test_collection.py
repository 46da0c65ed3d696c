"""The Postman collection covers every operation, and newman runs it green, twice, on one server."""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.live import database_url, live_server
from tests.postman.build import COLLECTION, ENVIRONMENT, POSTMAN

NEWMAN = POSTMAN / "node_modules/.bin/newman"
METHODS = {"get", "put", "post", "patch", "delete"}
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("postman")]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def base_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A live server on each database."""
    with database_url(request.param) as url:
        settings = {"STOREKEEPER_DATABASE_URL": url} if url else {}
        # The environment's webhookUrl is a loopback address (nothing listens, and no worker
        # runs here to send to it): allowed, as `make run` allows it.
        settings["STOREKEEPER_WEBHOOK_ALLOW_PRIVATE"] = "true"
        with live_server(workers=2, **settings) as base:
            yield base


def _requests(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for child in node.get("item", []):
        if "request" in child:
            yield child["request"]
        yield from _requests(child)


def _template(request: dict[str, Any]) -> tuple[str, str] | None:
    """(METHOD, path with each {{variable}} or number segment as {}) of a request to {{baseUrl}}."""
    url = request["url"]
    raw: str = url if isinstance(url, str) else url["raw"]
    if not raw.startswith("{{baseUrl}}/"):
        return None  # e.g. a `Link` URL the run was given
    path = raw.removeprefix("{{baseUrl}}").split("?")[0]
    return request["method"], re.sub(r"/(\{\{[^}]+\}\}|\d+)(?=/|$)", "/{}", path)


def test_every_operation_of_the_live_document_has_a_request(base_url: str) -> None:
    document = httpx.get(f"{base_url}/openapi.json", timeout=10).json()
    wanted = {
        (method.upper(), re.sub(r"\{[^}]+\}", "{}", path))
        for path, item in document["paths"].items()
        for method in item
        if method in METHODS
    }
    collection = json.loads(COLLECTION.read_text())
    covered = {t for t in map(_template, _requests(collection)) if t is not None}
    assert wanted - covered == set(), "operations without a request in the collection"
    assert covered - wanted == set(), "requests to paths the API does not have"


def test_the_collection_and_environment_are_what_postman_and_insomnia_import() -> None:
    collection = json.loads(COLLECTION.read_text())
    assert collection["info"]["schema"].endswith("/collection/v2.1.0/collection.json")
    environment = json.loads(ENVIRONMENT.read_text())
    assert {v["key"]: v["value"] for v in environment["values"]} == {
        "baseUrl": "http://127.0.0.1:8000",
        "webhookUrl": "http://127.0.0.1:9/storekeeper-webhook",
    }
    names = [folder["name"] for folder in collection["item"]]
    assert names[0].startswith("Users") and names[-1] == "Operations"
    for request in _requests(collection):
        assert "127.0.0.1" not in json.dumps(request), "requests go to {{baseUrl}}"


def test_newman_runs_the_collection_green_twice_against_one_server(
    base_url: str, tmp_path: Path
) -> None:
    assert NEWMAN.exists(), "newman is missing: run `make newman`"
    for run in range(2):
        report = tmp_path / f"run{run}.json"
        done = subprocess.run(
            [
                str(NEWMAN),
                "run",
                str(COLLECTION),
                "--environment",
                str(ENVIRONMENT),
                "--env-var",
                f"baseUrl={base_url}",
                "--reporters",
                "cli,json",
                "--reporter-json-export",
                str(report),
                "--color",
                "off",
                "--timeout-request",
                "10000",
                # Where the files a request sends (the Photos folder's form) are read from.
                "--working-dir",
                str(POSTMAN),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-2000:]
        stats = json.loads(report.read_text())["run"]["stats"]
        assert stats["assertions"]["failed"] == 0 and stats["requests"]["failed"] == 0
        # Every request ran its tests: none was skipped by a broken variable or script.
        requests = len(list(_requests(json.loads(COLLECTION.read_text()))))
        assert stats["requests"]["total"] == requests
        assert stats["assertions"]["total"] >= 2 * requests
