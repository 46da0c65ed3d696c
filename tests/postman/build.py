"""Build the Postman collection from its readable source (`make postman`).

`clients/postman/collection.toml` lists the folders and their requests: method, path, body,
headers, auth, and a test given as its title, the expected status, a few lines of checks and
the collection variables it saves. This module turns that into
`storekeeper.postman_collection.json` (Postman collection format v2.1), wrapping each test in
its `pm.test(...)` and declaring every variable a script sets. The committed JSON is exactly
what this module writes; tests/postman/test_build.py fails on any difference.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tomllib
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[2]
POSTMAN = ROOT / "clients/postman"
SOURCE = POSTMAN / "collection.toml"
COLLECTION = POSTMAN / "storekeeper.postman_collection.json"
ENVIRONMENT = POSTMAN / "storekeeper.postman_environment.json"
SCHEMA = "https://schema.getpostman.com/json/collection/v2.1.0/collection.json"

COLLECTION_KEYS = {"name", "postman_id", "description", "auth", "variables", "every_response"}
FOLDER_KEYS = {"name", "description", "request"}
REQUEST_REQUIRED = {"name", "send", "test", "status"}
REQUEST_OPTIONAL = {"description", "auth", "headers", "body", "file", "before", "check", "save"}
METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}

SETS = re.compile(r'pm\.collectionVariables\.set\("(\w+)"')
GETS = re.compile(r'pm\.collectionVariables\.get\("(\w+)"\)')
USES = re.compile(r"\{\{(\w+)\}\}")


class SourceError(ValueError):
    """The source of the collection says something the builder cannot turn into a request."""


def load(path: Path = SOURCE) -> dict[str, Any]:
    """The source, as TOML reads it."""
    with path.open("rb") as file:
        return tomllib.load(file)


def render(collection: Mapping[str, Any]) -> str:
    """The collection's JSON text, as committed."""
    return json.dumps(collection, indent=2, ensure_ascii=False) + "\n"


def build(source: Mapping[str, Any]) -> dict[str, Any]:
    """The Postman collection the source describes; SourceError when it is not sound."""
    _keys(source, {"name", "postman_id", "folder"}, COLLECTION_KEYS, "the collection")
    folders = [_folder(folder) for folder in source["folder"]]
    every_response = _event("test", _lines(source.get("every_response", "")))
    auth = _auth(source.get("auth", "none"))
    return {
        "info": {
            "_postman_id": source["postman_id"],
            "name": source["name"],
            "description": source.get("description", ""),
            "schema": SCHEMA,
        },
        "auth": auth,
        "event": [every_response],
        "item": folders,
        "variable": _variables([auth, every_response, *folders], source.get("variables", {})),
    }


def _keys(table: Mapping[str, Any], required: set[str], allowed: set[str], where: str) -> None:
    """Refuse a table with a key missing or a key the builder would silently ignore."""
    if missing := required - table.keys():
        raise SourceError(f"{where}: missing {sorted(missing)}")
    if unknown := table.keys() - required - allowed:
        raise SourceError(f"{where}: unknown {sorted(unknown)}")


def _folder(folder: Mapping[str, Any]) -> dict[str, Any]:
    """A folder and its requests, in the order written."""
    name = folder.get("name", "a folder")
    _keys(folder, {"name", "request"}, FOLDER_KEYS, f"folder {name!r}")
    described = {"description": folder["description"]} if "description" in folder else {}
    return {"name": name, **described, "item": [_item(r) for r in folder["request"]]}


def _item(table: Mapping[str, Any]) -> dict[str, Any]:
    """One request with its pre-request script (when it has one) and its test."""
    where = f"request {table.get('name')!r}"
    _keys(table, REQUEST_REQUIRED, REQUEST_OPTIONAL, where)
    method, _, target = table["send"].partition(" ")
    if method not in METHODS or not target:
        raise SourceError(f"{where}: send {table['send']!r} is not `METHOD /path` or `METHOD url`")
    request: dict[str, Any] = {
        "method": method,
        "header": _headers(method, table),
        # A path goes to the environment's server; anything else is a whole URL, such as a
        # `Link` a previous answer gave.
        "url": _url(target) if target.startswith("/") else target,
    }
    if "description" in table:
        request["description"] = table["description"]
    if "auth" in table:
        request["auth"] = _auth(table["auth"])
    if "body" in table and "file" in table:
        raise SourceError(f"{where}: a request sends a JSON `body` or a `file`, not both")
    if "body" in table:
        highlight = {"raw": {"language": "json"}}  # Postman's editor colours the body as JSON
        request["body"] = {"mode": "raw", "raw": table["body"], "options": highlight}
    if "file" in table:
        # A form with the file as its `file` part; Postman and newman read it from their
        # working directory (newman --working-dir clients/postman).
        part = {"key": "file", "type": "file", "src": table["file"]}
        request["body"] = {"mode": "formdata", "formdata": [part]}
    events = [_event("prerequest", _lines(table["before"]))] if "before" in table else []
    events.append(_event("test", _test(table)))
    return {"name": table["name"], "request": request, "event": events}


def _headers(method: str, table: Mapping[str, Any]) -> list[dict[str, str]]:
    """The declared headers, after the Content-Type that a body implies."""
    # The API reads a PATCH body as a JSON merge patch (RFC 7396), any other body as JSON; a
    # declared Content-Type overrides that and keeps its place first.
    implied = "application/merge-patch+json" if method == "PATCH" else "application/json"
    headers = {"Content-Type": implied} if "body" in table else {}
    headers |= table.get("headers", {})
    return [{"key": key, "value": value} for key, value in headers.items()]


def _url(path: str) -> dict[str, Any]:
    """A URL under {{baseUrl}}, split the way Postman stores it."""
    route, _, query = path.partition("?")
    url: dict[str, Any] = {
        "raw": "{{baseUrl}}" + path,
        "host": ["{{baseUrl}}"],
        "path": route.strip("/").split("/"),
    }
    if query:
        pairs = (pair.partition("=") for pair in query.split("&"))
        url["query"] = [{"key": key, "value": value} for key, _, value in pairs]
    return url


def _auth(auth: str) -> dict[str, Any]:
    """`none`, or `bearer {{variable}}`: the token the request sends."""
    if auth == "none":
        return {"type": "noauth"}
    scheme, _, token = auth.partition(" ")
    if scheme != "bearer" or not token:
        raise SourceError(f"auth {auth!r}: write `none` or `bearer {{{{variable}}}}`")
    return {"type": "bearer", "bearer": [{"key": "token", "value": token, "type": "string"}]}


def _test(table: Mapping[str, Any]) -> list[str]:
    """One pm.test: the status first, then the checks, then the variables saved."""
    status = table["status"]
    expected = (
        f"pm.expect(pm.response.code).to.be.oneOf({json.dumps(status)});"
        if isinstance(status, list)
        else f"pm.response.to.have.status({status});"
    )
    saves = [
        f"pm.collectionVariables.set({json.dumps(name)}, {value});"
        for name, value in table.get("save", {}).items()
    ]
    body = [expected, *_lines(table.get("check", "")), *saves]
    title = json.dumps(table["test"], ensure_ascii=False)
    return [f"pm.test({title}, function () {{", *(f"    {line}" for line in body), "});"]


def _lines(script: str) -> list[str]:
    """A script's lines, without the blank ends a TOML multi-line string leaves."""
    return script.strip("\n").splitlines()


def _event(listen: str, lines: list[str]) -> dict[str, Any]:
    """A script Postman runs before a request (prerequest) or after its answer (test)."""
    return {"listen": listen, "script": {"type": "text/javascript", "exec": lines}}


def _variables(parts: list[dict[str, Any]], constants: Mapping[str, str]) -> list[dict[str, str]]:
    """The constants, then every variable a script sets; SourceError for one only ever read."""
    scripts = "\n".join(_scripts(parts))
    values = dict(constants) | {name: "" for name in SETS.findall(scripts) if name not in constants}
    environment = {v["key"] for v in json.loads(ENVIRONMENT.read_text())["values"]}
    # A typo in a variable's name would send an empty value and fail far from the cause.
    read = set(GETS.findall(scripts)) | set(USES.findall(json.dumps(parts)))
    if unknown := read - values.keys() - environment:
        raise SourceError(f"variables read but never set: {sorted(unknown)}")
    return [{"key": name, "value": value} for name, value in values.items()]


def _scripts(node: Any) -> Iterator[str]:
    """Every line of every script in a piece of the collection."""
    if isinstance(node, Mapping) and "exec" in node:
        yield from node["exec"]
    elif isinstance(node, Mapping):
        for value in node.values():
            yield from _scripts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _scripts(value)


def main() -> None:
    """Write the collection from its source, or check that the committed one is current."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help=f"rewrite {COLLECTION.name}")
    written = render(build(load()))
    if parser.parse_args().write:
        COLLECTION.write_text(written)
    elif COLLECTION.read_text() != written:
        sys.exit(f"{COLLECTION.relative_to(ROOT)} is stale: run `make postman`")


if __name__ == "__main__":
    main()
