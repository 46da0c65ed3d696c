"""The OpenAPI 3.1 document, built from the operations' declarations and their models."""

from __future__ import annotations

import re
from dataclasses import replace
from http import HTTPStatus
from typing import Any

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from storekeeper import __version__
from storekeeper.domain.values import ID_MAX
from storekeeper.http.budgets import DRAFT, EXEMPT
from storekeeper.http.operations import TAGS, Operation, operation_of
from storekeeper.http.schemas import Problem, ValidationProblem
from storekeeper.http.uploads import MULTIPART, Upload, size_text

REF = "#/components/schemas/{model}"
_PATH_ARG = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")


_PUBLIC = (
    "**Public**: no token needed. A request that carries a bearer token is made as its user, "
    "and a bad, expired or revoked one is a 401 rather than being ignored."
)
_ERROR_TEXT = {
    400: "The body is not valid JSON, or a header is malformed.",
    401: "Missing, invalid, expired or revoked access token.",
    403: "Authenticated, but not the owner of the store nor an admin.",
    404: "No such resource. Each has one URL: ids are canonical positive integers, and a path "
    "with an empty (`//`) or dot (`.`, `..`) segment names nothing.",
    409: "Conflicts with the current state (e.g. a duplicate name), or the request with this "
    "Idempotency-Key is still in flight.",
    412: "A precondition (If-Match / If-None-Match) failed; nothing was changed.",
    408: "The body did not arrive within 30 seconds (or a read paused for 10).",
    413: "The body is larger than 1 MiB.",
    415: "The body is not sent as application/json.",
    422: "Invalid fields or query parameters; `errors` names each one.",
    429: "Too many requests (the client's request budget is spent) or attempts; retry after "
    "the number of seconds in `Retry-After`.",
    503: (
        "The database is unavailable, or busy with other requests (the detail says which); "
        "retry after `Retry-After` seconds."
    ),
}
_STRING = {"type": "string"}
_ERROR_HEADERS: dict[int, dict[str, Any]] = {
    401: {"WWW-Authenticate": {"schema": _STRING, "description": "Bearer challenge."}},
    429: {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
    503: {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds to wait."}},
}
# The request budgets' header fields, described once (components.headers) and referred to
# from every answer of every operation but the exempt ones (http/budgets.py).
_BUDGET_HEADERS: dict[str, Any] = {
    "RateLimit-Policy": {
        "schema": _STRING,
        "description": f"The client's request budgets ({DRAFT}): "
        '`"default";q=600;w=60, "writes";q=120;w=60` -- `q` requests per window of `w` '
        "seconds; every request counts in `default`, a write (POST, PUT, PATCH, DELETE) in "
        "`writes` too. Absent when the operator turned the budgets off.",
        "example": '"default";q=600;w=60, "writes";q=120;w=60',
    },
    "RateLimit": {
        "schema": _STRING,
        "description": f"Where the client stands ({DRAFT}): "
        '`"default";r=598;t=42, "writes";r=120;t=42` -- `r` requests left, `t` seconds until '
        "the window ends and the budget is whole again. Counted per user when the request "
        "carries a valid bearer token, else per client address.",
        "example": '"default";r=598;t=42, "writes";r=120;t=42',
    },
}
_COMMON_HEADERS = {
    "X-Request-ID": {"schema": _STRING, "description": "The request's id (echoed or generated)."},
    **{name: {"$ref": f"#/components/headers/{name}"} for name in _BUDGET_HEADERS},
}


def _statuses(op: Operation, has_path_args: bool) -> list[int]:
    found = set(op.errors) | {503}
    if op.idempotent:
        found |= {400, 409, 422}
    if has_path_args:
        found.add(404)
    if op.body is not None:
        found |= {400, 408, 413, 415, 422}
    if op.upload is not None:
        found |= {408, 413, 415}
        if op.upload.multipart_field:
            found |= {400, 422}  # a malformed multipart body; one without the file's part
    if op.query is not None:
        found.add(422)
    if op.auth:
        found |= {401, 403}
    if op.conditional:
        found.add(412)
    if op.reads:
        found.add(401)  # a read that carries a bad token
    return sorted(found)


def example_of(model: type[BaseModel]) -> Any:
    """The example a model declares (schemas.example), or None."""
    examples = model.model_json_schema().get("examples")
    return examples[0] if examples else None


def _error_response(status: int, said: str | None = None) -> dict[str, Any]:
    model = ValidationProblem if status == 422 else Problem
    sample = example_of(model) if status == 422 else None
    text = said or _ERROR_TEXT.get(status, HTTPStatus(status).phrase)
    if sample is None:
        title = HTTPStatus(status).phrase
        sample = {"type": "about:blank", "title": title, "status": status, "detail": text}
    return {
        "description": text,
        "headers": {**_COMMON_HEADERS, **_ERROR_HEADERS.get(status, {})},
        "content": {
            "application/problem+json": {
                "schema": {"$ref": REF.format(model=model.__name__)},
                "example": sample,
            }
        },
    }


def _success(op: Operation, status: int, text: str | None = None) -> dict[str, Any]:
    headers: dict[str, Any] = dict(_COMMON_HEADERS)
    if status == 201:
        headers["Location"] = {"schema": _STRING, "description": "URL of the created resource."}
    elif status == 202 and op.creates is not None:
        headers["Location"] = {"schema": _STRING, "description": "URL of the job to poll."}
    if op.many:
        headers["Link"] = {
            "schema": _STRING,
            "description": 'The next page, as rel="next", when there is one: an absolute URL on '
            "the API's configured public origin (never the request's Host), with the request's "
            "parameters and a new `cursor`.",
        }
    answer: dict[str, Any] = {"description": text or HTTPStatus(status).phrase, "headers": headers}
    if op.response is not None and status != 204:
        schema: dict[str, Any] = {"$ref": REF.format(model=op.response.__name__)}
        sample = example_of(op.response)
        if op.many:
            schema = {"type": "array", "items": schema}
            sample = None if sample is None else [sample]
        media: dict[str, Any] = {"schema": schema}
        if sample is not None:
            media["example"] = sample
        answer["content"] = {"application/json": media}
        if status == op.status and op.alternatives:
            answer["headers"]["Vary"] = {"schema": _STRING, "description": "`Accept`."}
            for kind, other in op.alternatives.items():
                answer["content"][kind] = {
                    "schema": {"type": "string", "description": other.description},
                    "example": other.example,
                }
                answer["description"] += f". As `{kind}` when `Accept` prefers it: " + (
                    other.description
                )
    elif op.produces and status == op.status:
        answer["content"] = {
            kind: {"schema": {"type": "string", "contentMediaType": kind}} for kind in op.produces
        }
        answer["headers"]["ETag"] = {
            "schema": _STRING,
            "description": "Strong validator: the content hash of these bytes.",
        }
        answer["headers"]["Cache-Control"] = {
            "schema": _STRING,
            "description": "How long caches may keep the answer without asking again.",
        }
    return answer


def _query_parameters(model: type[BaseModel], defs: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template=REF)
    defs.update(schema.get("$defs", {}))
    params = []
    for name, prop in schema.get("properties", {}).items():
        prop.pop("title", None)
        if prop.get("default", "") is None:
            del prop["default"]
        # A query parameter is absent or a string, never null: keep the non-null branch.
        branches = [b for b in prop.pop("anyOf", []) if b.get("type") != "null"]
        if branches:
            prop.update(branches[0])
        params.append(
            {
                "name": name,
                "in": "query",
                "required": False,
                "schema": prop,
                "description": prop.pop("description", ""),
            }
        )
    return params


def _header(name: str, schema: dict[str, Any], text: str) -> dict[str, Any]:
    return {"name": name, "in": "header", "required": False, "schema": schema, "description": text}


_IF_MATCH = _header("If-Match", _STRING, "Change only if the ETag still matches (else 412).")
_IF_NONE_MATCH_WRITE = _header(
    "If-None-Match", _STRING, "`*`: only if the resource does not exist (else 412)."
)
_IF_NONE_MATCH_READ = _header("If-None-Match", _STRING, "304 when the ETag still matches.")
_IDEMPOTENCY_KEY = _header(
    "Idempotency-Key",
    {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[\\x21-\\x7e]+$"},
    "Retry safely: the same key and body within 24 hours replays the first answer "
    "(with `Idempotent-Replayed: true`); a different body is a 422, a retry while the first "
    "is in flight a 409.",
)


def _conditional(op: Operation, method: str, doc: dict[str, Any]) -> None:
    """Document ETags, conditional headers and idempotency keys where the handler honours them."""
    single = op.response is not None and not op.many and op.etag
    for status, answer in doc["responses"].items():
        if single and status in ("200", "201"):
            answer["headers"]["ETag"] = {"schema": _STRING, "description": "Strong validator."}
        if op.idempotent and status.startswith("2"):
            answer["headers"]["Idempotent-Replayed"] = {
                "schema": {"type": "string", "enum": ["true"]},
                "description": "Present when this is the stored answer of an earlier request.",
            }
    if single and method == "GET":
        doc["parameters"].append(_IF_NONE_MATCH_READ)
        doc["responses"]["304"] = {
            "description": "Not modified: the If-None-Match ETag is current.",
            "headers": {**_COMMON_HEADERS, "ETag": {"schema": _STRING}},
        }
    if op.conditional:
        doc["parameters"] += [_IF_MATCH, _IF_NONE_MATCH_WRITE]
    if op.idempotent:
        doc["parameters"].append(_IDEMPOTENCY_KEY)


def _exempt(doc: dict[str, Any]) -> None:
    """An operation outside the request budgets: no 429 of theirs, no RateLimit fields."""
    doc["responses"].pop("429", None)
    for answer in doc["responses"].values():
        for name in _BUDGET_HEADERS:
            answer.get("headers", {}).pop(name, None)


def _operation(
    op: Operation, method: str, path_args: list[str], defs: dict[str, Any], name: str
) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": name,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": [
            {
                "name": arg,
                "in": "path",
                "required": True,
                "schema": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": op.id_max if arg == "id" else ID_MAX,
                },
            }
            for arg in path_args
        ],
        "responses": {str(op.status): _success(op, op.status)},
    }
    if op.description:
        doc["description"] = op.description
    for status, text in op.also.items():
        doc["responses"][str(status)] = _success(op, status, text)
    for status in _statuses(op, bool(path_args)):
        doc["responses"][str(status)] = _error_response(status, op.error_text.get(status))
    if "429" not in doc["responses"]:
        doc["responses"]["429"] = _error_response(429)
    if op.upload is not None:
        _upload(op.upload, doc)
    if op.query is not None:
        doc["parameters"].extend(_query_parameters(op.query, defs))
    if op.body is not None:
        media = ["application/json"] + (["application/merge-patch+json"] if op.merge_patch else [])
        body = {"schema": {"$ref": REF.format(model=op.body.__name__)}}
        if (sample := example_of(op.body)) is not None:
            body["example"] = sample
        content = dict.fromkeys(media, body)
        doc["requestBody"] = {"required": not op.body_optional, "content": content}
    if op.auth:
        doc["security"] = [{"bearerAuth": []}]
    elif op.reads:
        # Public: no padlock in /docs. A token is still accepted, and checked (the 401).
        doc["security"] = []
        doc["description"] = (doc.get("description", "") + "\n\n" + _PUBLIC).strip()
    _conditional(op, method, doc)
    return doc


def _upload(upload: Upload, doc: dict[str, Any]) -> None:
    """The request body and the refusals of an operation that takes a file (http/uploads.py)."""
    limit = size_text(upload.max_bytes)
    # OpenAPI 3.1 describes a raw body by its media type; the schema only says "these bytes"
    # (format: binary too, which tools such as Schemathesis read as "send a file").
    content: dict[str, Any] = {
        kind: {"schema": {"type": "string", "format": "binary", "contentMediaType": kind}}
        for kind in upload.media_types
    }
    if upload.multipart_field:
        field = upload.multipart_field
        content[MULTIPART] = {
            "schema": {
                "type": "object",
                "required": [field],
                "properties": {field: {"type": "string", "format": "binary"}},
            },
            "encoding": {field: {"contentType": ", ".join(upload.media_types)}},
        }
    if upload.example is not None:
        for kind in upload.media_types:
            content[kind]["example"] = upload.example
        if upload.multipart_field:
            content[MULTIPART]["example"] = {upload.multipart_field: upload.example}
    text = upload.description or f"The file, at most {limit}: as {', '.join(upload.accepted)}."
    doc["requestBody"] = {"required": True, "description": text, "content": content}
    responses = doc["responses"]
    responses["413"]["description"] = f"The file is larger than {limit}."
    responses["415"]["description"] = f"The body is not sent as {' or '.join(upload.accepted)}."
    if "422" in responses and upload.multipart_field:
        responses["422"]["description"] = (
            f"The multipart body has no `{upload.multipart_field}` part, or the file is refused "
            "(`errors` says why)."
        )


def _segments(path: str) -> list[str]:
    return path.strip("/").split("/")


def _is_parameter(segment: str) -> bool:
    return segment.startswith("{") and segment.endswith("}")


def _placed(created: list[str], target: list[str]) -> dict[str, str] | None:
    """Where the created path sits in a target path: target parameter -> created parameter.

    "/tag/{id}" sits in "/tag/{id}" and in "/item/{id}/tag/{tag_id}" ({tag_id} is the tag);
    "/store/{id}" in "/store/{id}/item"; "/item/{id}" not in "/store/{id}/item".
    """
    for start in range(len(target) - len(created) + 1):
        window = target[start : start + len(created)]
        if all(
            (_is_parameter(c) and _is_parameter(t)) or c == t
            for c, t in zip(created, window, strict=True)
        ):
            return {
                t.strip("{}"): c.strip("{}")
                for c, t in zip(created, window, strict=True)
                if _is_parameter(c)
            }
    return None


def _created_value(name: str, own_path: bool, created: list[str], source: list[str]) -> str:
    """Where a created path's parameter comes from: the request's own path when the create
    names it there (its own path; the store of a new member, "/store/{id}/member/{user_id}"
    from "/store/{id}/member"), else the answer's field of that name (`id` for most).
    """
    upto = created.index("{" + name + "}") + 1
    if own_path or created[:upto] == source[:upto]:
        return f"$request.path.{name}"
    return f"$response.body#/{name}"


def _add_links(
    paths: dict[str, dict[str, Any]], operations: list[tuple[Operation, str, dict[str, Any]]]
) -> None:
    """Link each success of a create to every operation on what it created, and below it.

    Derived from `creates` and the routes, so a new route under a resource gets its links
    without a list to keep. Clients (and schemathesis' stateful phase) follow them: the
    created `id` feeds the target's parameter in the same place of the path.
    """
    # Operations on a part a new resource does not have yet (an item's photo): linked only
    # from what creates that part.
    unlinked = {doc["operationId"] for op, _, doc in operations if not op.linked}
    for op, source, doc in operations:
        if op.creates is None:
            continue
        own_path = op.creates == source
        created = _segments(op.creates)
        links = {}
        for path, item in paths.items():
            placed = _placed(created, _segments(path))
            if placed is None:
                continue
            parameters = {
                target: _created_value(created_name, own_path, created, _segments(source))
                for target, created_name in placed.items()
            }
            for target_doc in item.values():
                name = target_doc["operationId"]
                if name in unlinked and path != op.creates:
                    continue
                links[name] = {"operationId": name, "parameters": parameters}
        for status, answer in doc["responses"].items():
            if status.startswith("2"):
                answer["links"] = dict(links)


def build_document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every described route of the app."""
    paths: dict[str, dict[str, Any]] = {}
    models: set[type[BaseModel]] = {Problem, ValidationProblem}
    defs: dict[str, Any] = {}
    operations: list[tuple[Operation, str, dict[str, Any]]] = []
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        op = operation_of(app.view_functions.get(rule.endpoint))
        if op is None:
            continue
        path = _PATH_ARG.sub(r"{\1}", rule.rule)
        path_args = _PATH_ARG.findall(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            name = rule.endpoint.replace(".", "_")
            op = replace(
                op,
                idempotent=method == "POST" and op.idempotency_key,
                reads=method == "GET" and not op.auth,
            )
            doc = _operation(op, method, path_args, defs, name)
            if path in EXEMPT:
                _exempt(doc)
            paths.setdefault(path, {})[method.lower()] = doc
            operations.append((op, path, doc))
        models |= {m for m in (op.body, op.response) if m is not None}
    _add_links(paths, operations)
    _, schemas = models_json_schema(
        [(m, "serialization" if m.__name__.endswith("Out") else "validation") for m in models],
        ref_template=REF,
    )
    defs.update(schemas.get("$defs", {}))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Storekeeper API",
            "version": __version__,
            "description": "Stores, their items and tags, and the users who own them.",
        },
        "tags": [{"name": name, "description": text} for name, text in TAGS],
        "paths": paths,
        "components": {
            "schemas": defs,
            "headers": _BUDGET_HEADERS,
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
        },
    }
