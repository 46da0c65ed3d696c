"""The OpenAPI document against the handlers: each operation documents what it can answer.

openapi.py documents an operation from its `@operation(...)` declaration. This test derives
the same facts a second way, from what the handler actually calls: the shared mechanisms
(bodies, query parameters and cursors, preconditions, ETags) found in its code and in its
module's helpers, and the request hooks that apply to it (authentication, idempotency). A
handler that starts using a mechanism without declaring it, or a declaration that promises
what the handler does not do, fails here instead of drifting silently.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from pydantic import BaseModel
from werkzeug.routing import Rule

from storekeeper.http.openapi import Operation, operation

SUCCESS = ("200", "201", "204")


@dataclass(frozen=True)
class Uses:
    """What a handler's code calls and names, through its own module's helper functions."""

    module: Any
    calls: tuple[ast.Call, ...]
    strings: frozenset[str]

    @property
    def names(self) -> set[str]:
        """The plain names called (`guard(...)`, `read_body(...)`)."""
        return {c.func.id for c in self.calls if isinstance(c.func, ast.Name)}

    @property
    def attributes(self) -> set[str]:
        """The attributes called (`accounts.check_login_rate(...)`)."""
        return {c.func.attr for c in self.calls if isinstance(c.func, ast.Attribute)}

    def called(self, name: str) -> list[ast.Call]:
        """The calls of one name."""
        return [c for c in self.calls if isinstance(c.func, ast.Name) and c.func.id == name]

    def model(self, call: ast.Call) -> type[BaseModel]:
        """The model class a call is given as its first argument."""
        arg = call.args[0]
        assert isinstance(arg, ast.Name), ast.dump(arg)
        model: type[BaseModel] = getattr(self.module, arg.id)
        return model

    def statuses(self, name: str) -> set[int]:
        """The literal status codes given to `name(...)`, e.g. ApiError(429, ...)."""
        return {
            c.args[0].value
            for c in self.called(name)
            if c.args and isinstance(c.args[0], ast.Constant) and isinstance(c.args[0].value, int)
        }


def uses_of(handler: Callable[..., Any]) -> Uses:
    """Every call in a handler's body, following the module-level helpers it calls."""
    module = sys.modules[handler.__module__]
    tree = ast.parse(inspect.getsource(module))
    defs = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    calls: list[ast.Call] = []
    strings: set[str] = set()
    seen: set[str] = set()

    def visit(name: str) -> None:
        seen.add(name)
        # The body only: the decorators are the declaration this test checks against.
        for node in (n for statement in defs[name].body for n in ast.walk(statement)):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                strings.add(node.value)
            if isinstance(node, ast.Call):
                calls.append(node)
                callee = node.func.id if isinstance(node.func, ast.Name) else None
                if callee in defs and callee not in seen:
                    visit(callee)

    visit(handler.__name__)
    return Uses(module, tuple(calls), frozenset(strings))


@dataclass(frozen=True)
class Documented:
    """One operation of the app: its route, declaration, code and OpenAPI entry."""

    method: str
    rule: Rule
    op: Operation
    uses: Uses
    doc: dict[str, Any]

    @property
    def name(self) -> str:
        """For assertion messages."""
        return f"{self.method} {self.rule.rule}"

    @property
    def statuses(self) -> set[int]:
        """The documented statuses."""
        return {int(s) for s in self.doc["responses"]}

    def headers_in(self) -> set[str]:
        """The documented request headers."""
        return {p["name"] for p in self.doc["parameters"] if p["in"] == "header"}

    def headers_out(self, status: str) -> set[str]:
        """The documented headers of one response."""
        return set(self.doc["responses"][status].get("headers", {}))

    def successes(self) -> Iterator[str]:
        """The documented 2xx statuses."""
        return (s for s in SUCCESS if s in self.doc["responses"])


def documented_operations(app: Flask, document: dict[str, Any]) -> list[Documented]:
    """Every (route, method) with an @operation, paired with its OpenAPI entry."""
    found = []
    for rule in app.url_map.iter_rules():
        handler = app.view_functions[rule.endpoint]
        op: Operation | None = getattr(handler, "__openapi__", None)
        if op is None:
            continue
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            doc = document["paths"][path][method.lower()]
            found.append(Documented(method, rule, op, uses_of(handler), doc))
    return found


@pytest.fixture
def operations(app: Flask, client: FlaskClient) -> list[Documented]:
    """The app's operations with the document it serves."""
    return documented_operations(app, client.get("/openapi.json").get_json())


def idempotent(entry: Documented) -> bool:
    """Whether the idempotency hook (idempotency.begin) takes this request's key."""
    return entry.method == "POST" and entry.op.idempotency_key


# The domain's rate checks: an operation that calls one can answer 429.
RATE_CHECKS = {"check_login_rate", "check_register_rate"}


def expected_statuses(entry: Documented) -> set[int]:
    """What the handler, its mechanisms and the request hooks can answer."""
    uses, op = entry.uses, entry.op
    found = {503}  # every request may meet an unavailable database
    found |= set(op.errors) | set(op.also) | {op.status}  # the use case's own refusals
    if entry.rule.arguments:
        found.add(404)
    if op.auth:
        found |= {401, 403}
    if entry.method == "GET":
        found.add(401)  # a public read that carries a bad token
    if "read_body" in uses.names:
        found |= {400, 408, 413, 415, 422}
    if {"query_params", "page_request"} & uses.names:
        found.add(422)  # a malformed parameter, limit or cursor
    if "guard" in uses.names:
        found.add(412)
    if entry.method == "GET" and "respond" in uses.names:
        found.add(304)
    if idempotent(entry):
        found |= {400, 409, 422}  # malformed key, still in flight, reused with another body
    if RATE_CHECKS & uses.attributes:
        found.add(429)
    return found | uses.statuses("ApiError") | uses.statuses("problem")


def test_every_status_an_operation_can_answer_is_documented(
    operations: list[Documented],
) -> None:
    for entry in operations:
        missing = expected_statuses(entry) - entry.statuses
        assert not missing, (entry.name, sorted(missing))


def test_mechanism_statuses_are_documented_only_where_the_mechanism_is_used(
    operations: list[Documented],
) -> None:
    for entry in operations:
        names = entry.uses.names
        assert (304 in entry.statuses) == (entry.method == "GET" and "respond" in names), entry.name
        assert (412 in entry.statuses) == ("guard" in names), entry.name
        assert ({413, 415} <= entry.statuses) == ("read_body" in names), entry.name
        assert not ({413, 415} & entry.statuses) or "read_body" in names, entry.name
        limited = bool(RATE_CHECKS & entry.uses.attributes)
        assert (429 in entry.statuses) == limited, entry.name


def test_conditional_and_idempotency_headers_match_the_handler(
    operations: list[Documented],
) -> None:
    for entry in operations:
        expected = set()
        if "guard" in entry.uses.names:
            expected |= {"If-Match", "If-None-Match"}
        if entry.method == "GET" and "respond" in entry.uses.names:
            expected.add("If-None-Match")
        if idempotent(entry):
            expected.add("Idempotency-Key")
        assert entry.headers_in() == expected, entry.name
        for status in entry.successes():
            replayed = "Idempotent-Replayed" in entry.headers_out(status)
            assert replayed == idempotent(entry), (entry.name, status)


def test_bodies_and_query_parameters_match_what_the_handler_reads(
    operations: list[Documented],
) -> None:
    for entry in operations:
        reads = entry.uses.called("read_body")
        if not reads:
            assert "requestBody" not in entry.doc and entry.op.body is None, entry.name
        else:
            (call,) = reads
            model = entry.uses.model(call)
            merge = any(k.arg == "merge_patch" and ast.literal_eval(k.value) for k in call.keywords)
            media = {"application/json"} | ({"application/merge-patch+json"} if merge else set())
            content = entry.doc["requestBody"]["content"]
            assert set(content) == media, entry.name
            for schema in content.values():
                assert schema["schema"]["$ref"].endswith(f"/{model.__name__}"), entry.name
            assert (entry.op.body, entry.op.merge_patch) == (model, merge), entry.name
        query = {p["name"] for p in entry.doc["parameters"] if p["in"] == "query"}
        parsed = entry.uses.called("query_params")
        model_fields = set(entry.uses.model(parsed[0]).model_fields) if parsed else set()
        assert query == model_fields, entry.name
        if "page_request" in entry.uses.names:
            assert {"limit", "cursor"} <= query, entry.name


def test_response_headers_match_what_the_handler_sends(operations: list[Documented]) -> None:
    for entry in operations:
        names = entry.uses.names
        for status in entry.successes():
            headers = entry.headers_out(status)
            paged = bool(names & {"respond_page", "respond_rendered_page"})
            assert ("Link" in headers) == paged, (entry.name, status)
            etag = "respond" in names and status != "204"
            assert ("ETag" in headers) == etag, (entry.name, status)
            location = status == "201" and "Location" in entry.uses.strings
            assert ("Location" in headers) == location, (entry.name, status)
        if 401 in entry.statuses:
            assert "WWW-Authenticate" in entry.headers_out("401"), entry.name
        for status in ("429", "503"):
            if status in entry.doc["responses"]:
                assert "Retry-After" in entry.headers_out(status), (entry.name, status)


def test_security_matches_the_authentication_hook(operations: list[Documented]) -> None:
    for entry in operations:
        if entry.op.auth:
            assert entry.doc["security"] == [{"bearerAuth": []}], entry.name
        elif entry.method == "GET":
            assert entry.doc["security"] == [], entry.name  # public, with an optional token
            assert "**Public**" in entry.doc["description"], entry.name
        else:
            assert "security" not in entry.doc, entry.name


def test_412_is_declared_only_as_conditional() -> None:
    with pytest.raises(ValueError, match="conditional=True"):
        operation("Items", errors=(409, 412))
