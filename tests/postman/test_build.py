"""The committed collection is what its source builds, and the builder refuses unsound sources."""

from __future__ import annotations

from typing import Any

import pytest

from tests.postman.build import COLLECTION, SourceError, build, load, render


def _source(*requests: dict[str, Any]) -> dict[str, Any]:
    """A collection of one folder holding these requests."""
    return {
        "name": "Trial",
        "postman_id": "00000000-0000-0000-0000-000000000000",
        "auth": "bearer {{accessToken}}",
        "folder": [{"name": "Only", "request": list(requests)}],
    }


LOGIN = {
    "name": "Log in",
    "send": "POST /login",
    "auth": "none",
    "body": '{"username": "a"}',
    "test": "200",
    "status": 200,
    "save": {"accessToken": "pm.response.json().access_token"},
}


def test_the_committed_collection_is_what_the_source_builds() -> None:
    # Run `make postman` after editing clients/postman/collection.toml.
    assert COLLECTION.read_text() == render(build(load()))


def test_a_request_is_built_with_its_headers_url_and_one_test() -> None:
    patch = {
        "name": "Rename",
        "send": "PATCH /store/{{storeId}}?dry=1&x=",
        "headers": {"If-Match": "{{etag}}"},
        "body": '{"name": "B"}',
        "before": 'pm.collectionVariables.set("storeId", 1);\n',
        "test": 'renamed "B"',
        "status": [200, 201],
        "check": "const store = pm.response.json();\nif (store) {\n    pm.expect(store.name);\n}\n",
        "save": {"etag": 'pm.response.headers.get("ETag")'},
    }
    item = build(_source(LOGIN, patch))["item"][0]["item"][1]
    assert item["request"] == {
        "method": "PATCH",
        "header": [
            {"key": "Content-Type", "value": "application/merge-patch+json"},
            {"key": "If-Match", "value": "{{etag}}"},
        ],
        "url": {
            "raw": "{{baseUrl}}/store/{{storeId}}?dry=1&x=",
            "host": ["{{baseUrl}}"],
            "path": ["store", "{{storeId}}"],
            "query": [{"key": "dry", "value": "1"}, {"key": "x", "value": ""}],
        },
        "body": {"mode": "raw", "raw": '{"name": "B"}', "options": {"raw": {"language": "json"}}},
    }
    before, test = (event["script"]["exec"] for event in item["event"])
    assert before == ['pm.collectionVariables.set("storeId", 1);']
    assert test == [
        'pm.test("renamed \\"B\\"", function () {',
        "    pm.expect(pm.response.code).to.be.oneOf([200, 201]);",
        "    const store = pm.response.json();",
        "    if (store) {",
        "        pm.expect(store.name);",
        "    }",
        '    pm.collectionVariables.set("etag", pm.response.headers.get("ETag"));',
        "});",
    ]


def test_every_variable_a_script_sets_is_declared_after_the_constants() -> None:
    source = _source(LOGIN, {**LOGIN, "save": {"userId": "1", "accessToken": "2"}})
    variables = build({**source, "variables": {"password": "secret"}})["variable"]
    assert variables == [
        {"key": "password", "value": "secret"},
        {"key": "accessToken", "value": ""},
        {"key": "userId", "value": ""},
    ]


def test_a_whole_url_and_a_content_type_given_are_kept() -> None:
    follow = {
        "name": "Next",
        "send": "POST {{baseUrl}}",
        "headers": {"Content-Type": "text/csv"},
        "body": "a,b",
        "test": "ok",
        "status": 200,
    }
    request = build(_source(LOGIN, follow))["item"][0]["item"][1]["request"]
    assert request["url"] == "{{baseUrl}}"
    assert request["header"] == [{"key": "Content-Type", "value": "text/csv"}]


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ({"send": "GET /item/{{itemid}}"}, r"never set: \['itemid'\]"),
        ({"check": 'pm.expect(pm.collectionVariables.get("userid"));'}, r"\['userid'\]"),
        ({"stauts": 200}, r"'Log in': unknown \['stauts'\]"),
        ({"send": "FETCH /login"}, "is not `METHOD /path`"),
        ({"send": "/login"}, "is not `METHOD /path`"),
        ({"auth": "{{accessToken}}"}, "write `none` or `bearer"),
    ],
)
def test_an_unsound_request_is_refused(change: dict[str, Any], refusal: str) -> None:
    with pytest.raises(SourceError, match=refusal):
        build(_source({**LOGIN, **change}))


def test_a_collection_token_never_set_is_refused() -> None:
    with pytest.raises(SourceError, match=r"never set: \['acessToken'\]"):
        build({**_source(LOGIN), "auth": "bearer {{acessToken}}"})


def test_a_request_without_its_status_is_refused() -> None:
    request = {key: value for key, value in LOGIN.items() if key != "status"}
    with pytest.raises(SourceError, match=r"'Log in': missing \['status'\]"):
        build(_source(request))
