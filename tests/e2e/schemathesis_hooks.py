"""Schemathesis hooks: real values where only the history of the conversation makes one valid.

A schema-driven generator cannot know these, and the contract rightly refuses its guesses:

- a list `cursor` is opaque, signed with the server's secret and valid only for the list that
  gave it out, so a generated one is a 422. A cursor the document allows is replaced by one taken
  from the `Link: rel="next"` header of that very list;
- an `Idempotency-Key` binds the first request sent with it, so the generator's reuse of a short
  key such as "0" with another body is rightly a 422. Keys the document allows are made fresh
  (visible ASCII, never sent before), and now and then a request is sent again exactly as the
  one just before it, with its key: the `idempotent_replay` check verifies the replayed answer;
- the session: `POST /logout` with the run's token would revoke it, and `DELETE /user/{id}` of
  the run's own user would delete it, after which every write is a 401 and the stateful phase
  tests nothing. Those requests get a session or a user of their own, `POST /refresh` gets a
  real refresh token, and a user registered during the run is read and deleted with its own
  token, so that `POST /register` -> `GET/DELETE /user/{id}` can succeed;
- an ETag: half the conditional writes carry the resource's current one, so some succeed;
- a photo: a schema says "bytes of image/png", not "bytes that decode as a PNG", so a 422 to
  a schema-valid upload is accepted only when the codec itself refuses those very bytes
  (Schemathesis sends real sample images too, which succeed);
- integers in a query go out in plain digits (`?store_id=1`, never `1.0`), as the contract
  writes ids and limits.

Some refusals of a schema-valid request depend on what exists (a stale ETag's 412, a `store_id`
naming no store); `filter_failure` accepts them only once reading the state bears them out. It
also holds the narrow exclusions of known defects being fixed elsewhere, each marked as such.

Whatever a negative case is about stays as generated: that is what the server must refuse.
The test passes the server and the run's user in FUZZ_* variables.
"""

from __future__ import annotations

import copy
import itertools
import os
import random
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema_rs
import requests
import schemathesis
from schemathesis import AuthContext, CheckContext, HookContext, Response
from schemathesis import Case as AnyCase
from schemathesis.core.failures import Failure
from schemathesis.core.parameters import ParameterLocation
from schemathesis.openapi.checks import (
    EnsureResourceAvailability,
    RejectedPositiveData,
    UseAfterFree,
)

from storekeeper.domain.errors import Invalid
from storekeeper.domain.search import parse_search
from storekeeper.domain.values import CLIENT_ID_MAX

Case = AnyCase[Any]

# An import's body is a CSV file: a schema of "a string" makes random text, which the server
# rightly refuses as a whole (422), and a refused positive case is a failure. A positive case
# sends one of these files instead (row errors among them); negative cases stay generated.
# Text, not bytes: schemathesis checks a case against the document again after the hooks, and
# the document's body is a string (csv_file below encodes it).
_CSV_FILES = (
    "name,price\nChair,9.99\n",
    "\ufeffid,name,price,quantity,description,tags\r\n,Lamp,35.50,3,,light;desk\r\n",
    "name,price,quantity\nStool,,-1\n'=Sign,2,1\nsign,3,\n",
)
IMPORT = "POST /store/{id}/import"


def supply_csv_file(case: Case) -> None:
    """A wholly positive case of an import sends a CSV file the import takes (a case negative
    anywhere keeps its generated body, so that what it is about is still refused)."""
    meta = case.meta
    if case.operation.label != IMPORT or not _is_positive(case):
        return
    if meta is not None and any(info.mode.is_negative for info in meta.components.values()):
        return
    chosen = history().rng.choice(_CSV_FILES)
    if isinstance(case.body, dict) and "file" in case.body:  # multipart/form-data
        case.body = {"file": chosen}
    else:
        case.body = chosen


@schemathesis.serializer("text/csv")
def csv_file(ctx: Any, value: Any) -> bytes:
    """The document's example of a CSV body (a string) as the bytes of the file."""
    return value if isinstance(value, bytes) else str(value).encode()


KEY_HEADER = "Idempotency-Key"
PROBLEM = "application/problem+json"
_VISIBLE_ASCII = "".join(chr(code) for code in range(0x21, 0x7F))
_NEXT = re.compile(r'<([^>]*)>\s*;\s*rel="next"')
# One request in four that could be a retry of the request just before it is sent as one.
REPLAY_CHANCE = 0.25
CURRENT_ETAG_CHANCE = 0.5
TIMEOUT_S = 10


@dataclass
class Sent:
    """A keyed POST as it went out, and its answer, to send again as an exact retry."""

    label: str
    caller: str | None
    path_parameters: dict[str, Any]
    headers: dict[str, Any]
    body: Any
    media_type: str | None
    status: int
    content: bytes


@dataclass
class History:
    """What the run has learnt from the server's answers so far."""

    base_url: str
    username: str
    password: str
    token: str
    # Seeded: the run stays reproducible where schemathesis' own seed makes it so.
    rng: random.Random = field(default_factory=lambda: random.Random(20261124))
    counter: itertools.count[int] = field(default_factory=itertools.count)
    http: requests.Session = field(default_factory=requests.Session)
    user_id: int | None = None
    refresh_token: str | None = None
    # Users registered during the run: id -> (username, password), and their tokens once used.
    users: dict[int, tuple[str, str]] = field(default_factory=dict)
    user_tokens: dict[int, str] = field(default_factory=dict)
    last_post: Sent | None = None
    # Per case id: its Authorization before any session swap, and the answer a retry repeats.
    callers: dict[str, str | None] = field(default_factory=dict)
    replays: dict[str, Sent] = field(default_factory=dict)
    # Items brought back from the trash: a read of one after its DELETE is no use-after-free.
    restored: set[int] = field(default_factory=set)
    # Per item id, its store and ETag read just before a DELETE of it: a restore's
    # preconditions compare with the ETag the item had when it was deleted.
    deleted: dict[int, tuple[int, str]] = field(default_factory=dict)

    @property
    def bearer(self) -> str:
        return f"Bearer {self.token}"

    def get(self, path: str, authorization: str | None = None) -> requests.Response:
        headers = {"Authorization": authorization} if authorization else {}
        return self.http.get(self.base_url + path, headers=headers, timeout=TIMEOUT_S)

    def post(self, path: str, body: dict[str, str]) -> dict[str, Any]:
        answer = self.http.post(self.base_url + path, json=body, timeout=TIMEOUT_S)
        answer.raise_for_status()
        found: dict[str, Any] = answer.json()
        return found

    def login(self, username: str, password: str) -> dict[str, Any]:
        return self.post("/login", {"username": username, "password": password})

    def own_id(self) -> int:
        if self.user_id is None:
            answer = self.get("/user/me", self.bearer)
            answer.raise_for_status()
            self.user_id = int(answer.json()["id"])
        return self.user_id

    def fresh_key(self) -> str:
        """A key no request has carried: a counter, then random visible ASCII."""
        tail = "".join(self.rng.choices(_VISIBLE_ASCII, k=self.rng.randint(0, 48)))
        return f"{next(self.counter)}.{tail}"

    def disposable_user(self) -> tuple[int, str]:
        """A new user who owns nothing, and its access token."""
        credentials = {"username": f"disposable-{next(self.counter)}", "password": "p" * 12}
        user_id = int(self.post("/register", credentials)["id"])
        return user_id, self.login(**credentials)["access_token"]


_HISTORY: History | None = None


def history() -> History:
    """The run's history, made on first use from the FUZZ_* variables the test sets."""
    global _HISTORY
    if _HISTORY is None:
        _HISTORY = History(
            base_url=os.environ["FUZZ_BASE_URL"].rstrip("/"),
            username=os.environ["FUZZ_USERNAME"],
            password=os.environ["FUZZ_PASSWORD"],
            token=os.environ["FUZZ_TOKEN"],
        )
    return _HISTORY


@schemathesis.auth(refresh_interval=None)
class RunUser:
    """Requests are made by the run's user, in case.headers (where before_call can change it)."""

    def get(self, case: Case, context: AuthContext) -> str:
        return history().token

    def set(self, case: Case, data: str, context: AuthContext) -> None:
        case.headers["Authorization"] = f"Bearer {data}"


def _is_positive(case: Case) -> bool:
    meta = case.meta
    return meta is None or meta.generation.mode.is_positive


def _path_id(case: Case, name: str = "id") -> int | None:
    """A path id as a number; links read from a `Location` header give it as text."""
    value = case.path_parameters.get(name)
    if isinstance(value, str) and value.isascii() and value.isdigit():
        return int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _allowed(case: Case, name: str, value: object) -> bool:
    """Whether the operation's document allows this value for its parameter `name`."""
    for parameter in case.operation.iter_parameters():
        if parameter.name.lower() == name.lower():
            return bool(jsonschema_rs.is_valid(parameter.raw_schema, value))
    return False


def _next_query(answer: requests.Response) -> dict[str, Any] | None:
    """The query of the `rel="next"` link of a list answer, if it has one."""
    found = _NEXT.search(answer.headers.get("Link", ""))
    if answer.status_code != 200 or found is None:
        return None
    query: dict[str, Any] = {}
    for name, value in parse_qsl(urlsplit(found.group(1)).query, keep_blank_values=True):
        query[name] = [*query[name], value] if name in query else value
    return query


def plain_integers(case: Case) -> None:
    """Integer query values go out in plain digits, as the contract writes ids and limits.

    JSON Schema counts 1.0 as an integer, so the generator sends `?store_id=1.0`; a query string
    is not JSON, and the contract's integers are canonical digits (anything else is a 422).
    """
    for parameter in case.operation.iter_parameters():
        value = case.query.get(parameter.name)
        is_integer = parameter.raw_schema.get("type") == "integer"
        in_query = parameter.location is ParameterLocation.QUERY
        if in_query and is_integer and isinstance(value, float) and value.is_integer():
            case.query[parameter.name] = int(value)


def supply_cursor(case: Case) -> None:
    """A cursor the document allows becomes one its list gave out, or goes when there is none.

    The list is read with the request's own parameters, so cursors of every sort and filter get
    used, and the request takes the cursor of its `rel="next"` link. When that list has a single
    page, a page of one is read, and a schema-valid request becomes that page's next one. Only
    the cursor changes otherwise: the rest of a negative case is what it is about.
    """
    if not _allowed(case, "cursor", case.query.get("cursor")):
        return  # absent, or the malformed cursor a negative case is about
    runs = history()
    request = case.as_transport_kwargs()
    params = {k: v for k, v in (request.get("params") or {}).items() if k != "cursor"}
    found = _next_query(runs.http.get(request["url"], params=params, timeout=TIMEOUT_S))
    if found is None:
        one = {**params, "limit": "1"}
        found = _next_query(runs.http.get(request["url"], params=one, timeout=TIMEOUT_S))
        if found is not None and _is_positive(case):
            case.query["limit"] = 1
    if found is None:
        del case.query["cursor"]
    else:
        case.query["cursor"] = found["cursor"]


def supply_idempotency_key(case: Case) -> None:
    """A key the document allows is made fresh, or, sometimes, is sent as an exact retry.

    Only the request just before can be retried (the same operation, caller and answer 2xx):
    nothing has happened in between that could make its stored answer describe a deleted thing.
    """
    if not _allowed(case, KEY_HEADER, case.headers.get(KEY_HEADER)):
        return  # absent, or the malformed key a negative case is about (400)
    runs = history()
    before = runs.last_post
    if (
        before is not None
        and _is_positive(case)
        and before.label == case.operation.label
        and before.caller == case.headers.get("Authorization")
        and runs.rng.random() < REPLAY_CHANCE
    ):
        case.path_parameters = copy.deepcopy(before.path_parameters)
        case.headers.clear()
        case.headers.update(copy.deepcopy(before.headers))
        if before.caller is not None:
            case.headers["Authorization"] = before.caller
        case.body = copy.deepcopy(before.body)
        case.media_type = before.media_type
        runs.replays[case.id] = before
        return
    case.headers[KEY_HEADER] = runs.fresh_key()


def keep_the_session(case: Case) -> None:
    """Requests that would end the run's session or user get a session or user of their own."""
    runs = history()
    if case.headers.get("Authorization") != runs.bearer:
        return  # no token, or another one (ignored_auth's probes): as they are
    label, target = case.operation.label, _path_id(case)
    if label == "POST /logout":
        token = runs.login(runs.username, runs.password)["access_token"]
    elif label == "POST /refresh":
        if runs.refresh_token is None:
            runs.refresh_token = runs.login(runs.username, runs.password)["refresh_token"]
        token = runs.refresh_token
    elif label in ("GET /user/{id}", "DELETE /user/{id}") and target in runs.users:
        if target not in runs.user_tokens:
            runs.user_tokens[target] = runs.login(*runs.users[target])["access_token"]
        token = runs.user_tokens[target]
    elif label == "DELETE /user/{id}" and target == runs.own_id():
        user_id, token = runs.disposable_user()
        case.path_parameters["id"] = user_id
    else:
        return
    case.headers["Authorization"] = f"Bearer {token}"


def current_etag(case: Case) -> str | None:
    """The ETag of the resource a write targets, None if it has none: read at the same path, or,
    for a restore, the ETag the item had when deleted while it is in its store's trash."""
    authorization = case.headers.get("Authorization")
    if case.operation.label == RESTORE:
        return _trashed_etag(_path_id(case), authorization)
    answer = history().get(case.formatted_path, authorization)
    return answer.headers.get("ETag") if answer.status_code == 200 else None


def _trashed_etag(item_id: int | None, authorization: str | None) -> str | None:
    """The ETag an item had when deleted, if its store's trash (read now) holds it."""
    runs = history()
    if item_id is None or item_id not in runs.deleted:
        return None
    store_id, etag = runs.deleted[item_id]
    query: dict[str, Any] | None = {"limit": "100"}
    headers = {"Authorization": authorization} if authorization else {}
    while query is not None:
        answer = runs.http.get(
            f"{runs.base_url}/store/{store_id}/trash",
            params=query,
            headers=headers,
            timeout=TIMEOUT_S,
        )
        if answer.status_code != 200:
            return None
        if any(entry["id"] == item_id for entry in answer.json()):
            return etag
        query = _next_query(answer)
    return None


def remember_deleted(case: Case) -> None:
    """Before an item's DELETE, its store and ETag, which a restore's preconditions use."""
    item_id = _path_id(case)
    if case.operation.label != "DELETE /item/{id}" or item_id is None:
        return
    answer = history().get(f"/item/{item_id}", case.headers.get("Authorization"))
    if answer.status_code == 200 and "ETag" in answer.headers:
        history().deleted[item_id] = (int(answer.json()["store_id"]), answer.headers["ETag"])


def supply_etag(case: Case) -> None:
    """Half the schema-valid conditional writes carry the current ETag, so some succeed."""
    if "If-Match" not in case.headers or not _is_positive(case):
        return
    if history().rng.random() < CURRENT_ETAG_CHANCE:
        etag = current_etag(case)
        if etag is not None:
            case.headers["If-Match"] = etag


PHOTO_UPLOAD = "PUT /item/{id}/image"


def _image_refused(case: Case) -> bool:
    """Whether the photo codec refuses the uploaded bytes (a raw body; a multipart's part)."""
    from storekeeper.domain.errors import Invalid
    from storekeeper.pictures import prepare

    body = case.body
    if isinstance(body, dict):
        body = body.get("file")
    if isinstance(body, str):
        body = body.encode()
    if not isinstance(body, bytes):
        return True  # no bytes at all: nothing an image could be
    try:
        prepare(body)
    except Invalid:
        return True
    return False


@schemathesis.hook
def before_call(context: HookContext, case: Case, kwargs: dict[str, Any]) -> None:
    """Supply the real values; the key first, as a retry is matched on the original caller."""
    history().callers[case.id] = case.headers.get("Authorization")
    plain_integers(case)
    supply_cursor(case)
    supply_csv_file(case)  # before the key: a retry sends the body of the request it repeats
    supply_idempotency_key(case)
    keep_the_session(case)
    supply_etag(case)
    remember_deleted(case)


@schemathesis.hook
def after_call(context: HookContext, case: Case, response: Response) -> None:
    """Learn from the answer: users registered and deleted, the POST a retry may repeat."""
    runs = history()
    label, status, target = case.operation.label, response.status_code, _path_id(case)
    body = case.body if isinstance(case.body, dict) else {}
    if label == "POST /register" and status == 201:
        username, password = body.get("username"), body.get("password")
        if isinstance(username, str) and isinstance(password, str):
            runs.users[int(response.json()["id"])] = (username, password)
    if label == "DELETE /user/{id}" and status == 204 and target is not None:
        runs.users.pop(target, None)
        runs.user_tokens.pop(target, None)
    if label == RESTORE and status == 200 and target is not None:
        runs.restored.add(target)
    if case.id in runs.replays:
        return  # a retry leaves the request it repeated the one to retry
    runs.last_post = None
    if case.method.upper() == "POST" and KEY_HEADER in case.headers and 200 <= status < 300:
        headers = {k: v for k, v in case.headers.items() if k.lower() != "authorization"}
        runs.last_post = Sent(
            label=label,
            caller=runs.callers.get(case.id),
            path_parameters=copy.deepcopy(case.path_parameters),
            headers=copy.deepcopy(headers),
            body=copy.deepcopy(case.body),
            media_type=case.media_type,
            status=status,
            content=response.content,
        )


@schemathesis.check
def idempotent_replay(ctx: CheckContext, response: Response, case: Case) -> bool | None:
    """A retry with the same key and body answers the first status and body, marked replayed."""
    first = history().replays.get(case.id)
    replayed = response.headers.get("idempotent-replayed")  # lower-cased names, lists of values
    if first is None:
        if replayed is not None and KEY_HEADER not in case.headers:
            raise AssertionError("Idempotent-Replayed on a request without an Idempotency-Key")
        return None
    if replayed != ["true"]:
        raise AssertionError(f"A retry with the same {KEY_HEADER} and body was not replayed")
    if (response.status_code, response.content) != (first.status, first.content):
        raise AssertionError(
            f"A retry with the same {KEY_HEADER} answered {response.status_code} and another "
            f"body, where the first request was answered {first.status}"
        )
    return True


def _tags(header: object) -> list[str]:
    text = header if isinstance(header, str) else ""
    return [part.strip() for part in text.split(",") if part.strip()]


def _precondition_failed(case: Case) -> bool:
    """Whether the resource, read now, fails the write's If-Match or If-None-Match."""
    etag = current_etag(case)
    if "If-Match" in case.headers:
        tags = _tags(case.headers["If-Match"])
        if etag is None or ("*" not in tags and etag not in tags):
            return True
    weak = [tag.removeprefix("W/") for tag in _tags(case.headers.get("If-None-Match"))]
    return etag is not None and ("*" in weak or etag in weak)


def _exists(path: str) -> dict[str, Any] | None:
    answer = history().get(path)
    if answer.status_code == 404:
        return None
    answer.raise_for_status()
    found: dict[str, Any] = answer.json()
    return found


def _reference_fails(case: Case, name: str, message: str) -> bool:
    """Whether the state, read now, bears out one of the contract's reference 422s."""
    body = case.body if isinstance(case.body, dict) else {}
    store_id = body.get("store_id")
    if (name, message) == ("store_id", "no store has this id"):
        # An integral JSON number, 7 or 7.0, is an id.
        return isinstance(store_id, int | float) and _exists(f"/store/{int(store_id)}") is None
    if (name, message) == ("store_id", "is required when the item does not exist yet"):
        return store_id is None and _exists(case.formatted_path) is None
    if name == "id" and message.startswith("an item created by PUT must have an id of at most"):
        # An id from a link (a POST after a PUT near the top of the client range gets one
        # above it): PUT may no longer create the item there once it is gone.
        item_id = _path_id(case)
        return (
            item_id is not None and item_id > CLIENT_ID_MAX and _exists(case.formatted_path) is None
        )
    if (name, message) == ("username", "no user has this username"):
        # Adding a member names a user; the run knows every user it registered (disposable
        # users are made with names the generator does not draw).
        known = {history().username, *(name for name, _ in history().users.values())}
        wanted = str(body.get("username", "")).casefold()
        return wanted not in {k.casefold() for k in known}
    if (name, message) == ("token", "is invalid, used or expired"):
        # An emailed token is 256 random bits that only the email holds: a generated one is
        # never a live one.
        return True
    if (name, message) == ("current_password", "is wrong"):
        return body.get("current_password") != history().password
    if name == "search":
        # Rules the document says in words only: a letter or digit at least, at most 32
        # different words. The generator's text is checked by the rule itself.
        try:
            parse_search(str(case.query.get("search", "")))
        except Invalid:
            return True
        return False
    if (name, message) == ("sort", "relevance needs a search"):
        # A dependency between two parameters, which a document of parameters cannot state.
        return case.query.get("sort") == "relevance" and case.query.get("search") is None
    if (name, message) == ("tag_id", "the tag belongs to another store than the item"):
        tag = _exists(f"/tag/{_path_id(case, 'tag_id')}")
        item = _exists(f"/item/{_path_id(case)}")
        return tag is not None and item is not None and tag["store_id"] != item["store_id"]
    return False


PHOTO_PARTS = ("GET /item/{id}/image", "DELETE /item/{id}/image")
# A DELETEd item goes to its store's trash, and this brings it back (a POST below the item's
# path, which Schemathesis does not count as re-creating the item).
RESTORE = "POST /item/{id}/restore"


def _restored(case: Case) -> bool:
    """Whether the item a read targets was restored from the trash during the run, and is
    live now."""
    item_id = _path_id(case)
    return (
        item_id is not None
        and item_id in history().restored
        and _exists(f"/item/{item_id}") is not None
    )


def _photo_absent(case: Case, response: Response) -> bool:
    """A 404 of a photo operation the state bears out, read now: its item is gone (deleted
    with its store in the same scenario, which Schemathesis does not count as a delete of the
    item), or, to read or remove the photo, the item has none yet."""
    label = case.operation.label
    if response.status_code != 404 or label not in (PHOTO_UPLOAD, *PHOTO_PARTS):
        return False
    found = _exists(f"/item/{_path_id(case)}")
    return found is None or (label in PHOTO_PARTS and found.get("image") is None)


@schemathesis.hook
def filter_failure(context: HookContext, failure: Failure, case: Case, response: Response) -> bool:
    """Keep every failure but a valid request refused for a reason the state bears out.

    The document describes one request; some refusals depend on what exists: a 412 for an ETag
    that is not (or, with If-None-Match, is) the current one (a restore's: the one the item had
    when deleted), and the contract's 422s for a
    `store_id` that names no store (or is missing when PUT would create), and for a tag of
    another store than the item, and for a PUT creating at an id above the client range that a
    link carried; a new member's username that names no user the run registered; an emailed
    token the generator made up, a current password that is not the user's; a photo the codec
    cannot decode; a new item's photo, read or removed before one is set (Schemathesis infers
    such links from the paths), or the photo of an item deleted since with its store; an item
    read after its DELETE that a restore from the trash brought back. Each is dropped only once
    the state, read now (or the codec), confirms it.
    """
    if isinstance(failure, EnsureResourceAvailability):
        return not _photo_absent(case, response)
    if isinstance(failure, UseAfterFree):
        return not _restored(case)
    if not isinstance(failure, RejectedPositiveData):
        return True
    if response.status_code == 412:
        return not _precondition_failed(case)
    if case.operation.label == PHOTO_UPLOAD and response.status_code == 422:
        return not _image_refused(case)
    media_type = (response.headers.get("content-type") or [""])[0]
    if response.status_code == 422 and media_type.startswith(PROBLEM):
        errors = response.json().get("errors", {})
        confirmed = [
            _reference_fails(case, name, message)
            for name, messages in errors.items()
            for message in messages
        ]
        return not (confirmed and all(confirmed))
    return True
