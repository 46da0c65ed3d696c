"""The Storekeeper client: one method per operation of /openapi.json, on httpx."""

from __future__ import annotations

import enum
import mimetypes
import os
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import BinaryIO, Final, Literal, TypeVar, Unpack

import httpx
from pydantic import BaseModel

from storekeeper_client.auth import Session, TokenAuth
from storekeeper_client.errors import StorekeeperError, problem_from
from storekeeper_client.models import (
    AcceptedOut,
    AccessTokenOut,
    DeliveryOut,
    EventOut,
    Health,
    ItemOut,
    JobOut,
    MemberOut,
    PermissionsOut,
    StoreOut,
    StoreSummaryOut,
    TagDetailOut,
    TagOut,
    TokensOut,
    TrashedItemOut,
    UserCreatedOut,
    UserOut,
    WebhookOut,
    WebhookSecretOut,
)
from storekeeper_client.operations import operation
from storekeeper_client.paging import Page, Versioned, next_url
from storekeeper_client.queries import (
    Amount,
    EventQuery,
    ItemQuery,
    MemberQuery,
    SearchFilters,
    StoreItemQuery,
    StoreQuery,
    TagQuery,
    TrashQuery,
    WebhookQuery,
    keyword_query,
)
from storekeeper_client.queries import DeliveryQuery as DeliveryQuery

# The sorts were declared in this module first: importers of them from here keep working.
from storekeeper_client.queries import ItemSort as ItemSort
from storekeeper_client.queries import StoreSort as StoreSort
from storekeeper_client.queries import TagSort as TagSort
from storekeeper_client.ratelimit import RateLimitState, parse_rate_limit
from storekeeper_client.retry import RetryPolicy, RetryTransport
from storekeeper_client.wire import JsonBody, decode, encode, query_value

M = TypeVar("M", bound=BaseModel)


class _Unset(enum.Enum):
    UNSET = "unset"


# "Not given", where None means something (`update_me(email=None)` removes the address).
UNSET: Final = _Unset.UNSET

DEFAULT_URL = "http://127.0.0.1:8000"
JSON = "application/json"
MERGE_PATCH = "application/merge-patch+json"
CSV = "text/csv"
# A job is polled this often while `import_items` waits for it.
JOB_POLL_S = 0.5
FINISHED = ("succeeded", "failed")


class Storekeeper:
    """A client for one Storekeeper server; `login` makes it act as that user.

    Every create sends an Idempotency-Key (a fresh one unless given), so the retries of a
    503 or 429 never create twice. Single reads return `Versioned` values whose ETag makes
    conditional updates (`if_match`) and cheap re-reads (`cached`). Errors are
    `ProblemError` subclasses. Amounts are `Decimal`, exactly as the server stores them.
    """

    def __init__(
        self,
        base_url: str = DEFAULT_URL,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        inner = transport if transport is not None else httpx.HTTPTransport()
        self._http = httpx.Client(
            base_url=base_url,
            timeout=timeout,
            transport=RetryTransport(inner, retry or RetryPolicy()),
            headers={"Accept": f"{JSON}, application/problem+json"},
            event_hooks={"response": [self._note_rate_limit]},
        )
        self._rate_limit: RateLimitState | None = None
        self._auth: TokenAuth | None = None
        # httpx ends base_url with "/": a relative join keeps a path prefix (https://host/api/).
        self._refresh_url = str(self._http.base_url.join("refresh"))

    def __enter__(self) -> Storekeeper:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the connections."""
        self._http.close()

    @property
    def rate_limit(self) -> RateLimitState | None:
        """The request budgets as the last answer that stated them did (`limit`,
        `remaining` and `reset` of the general budget; `quotas` has each by name)."""
        return self._rate_limit

    def _note_rate_limit(self, response: httpx.Response) -> None:
        state = parse_rate_limit(response.headers)
        if state is not None:
            self._rate_limit = state

    @property
    def session(self) -> Session | None:
        """The tokens of the current login, None when logged out."""
        return self._auth.session if self._auth is not None else None

    # Users and tokens

    @operation("POST", "/register")
    def register(
        self,
        username: str,
        password: str,
        *,
        email: str | None = None,
        idempotency_key: str | None = None,
    ) -> UserCreatedOut:
        """Create an account (it is not logged in: call `login`)."""
        body = {"username": username, "password": password, "email": email}
        answer = self._create("/register", body, idempotency_key, authorized=False)
        return UserCreatedOut.model_validate(decode(answer.content))

    @operation("POST", "/login")
    def login(self, username: str, password: str) -> TokensOut:
        """Log in: from now on every request carries this user's access token."""
        body = encode({"username": username, "password": password})
        answer = self._send("POST", "/login", content=body, content_type=JSON, authorized=False)
        tokens = TokensOut.model_validate(decode(answer.content))
        self.resume(Session.from_login(tokens))
        return tokens

    def resume(self, session: Session) -> None:
        """Act with the tokens of an earlier login (kept from `session`), without logging in."""
        self._auth = TokenAuth(session, self._refresh_url)

    @operation("POST", "/refresh")
    def refresh(self) -> AccessTokenOut:
        """Get a new access token now (requests also do it by themselves when it expires)."""
        session = self._require_session()
        answer = self._send(
            "POST",
            "/refresh",
            headers={"Authorization": f"Bearer {session.refresh_token}"},
            authorized=False,
        )
        token = AccessTokenOut.model_validate(decode(answer.content))
        session.access_token = token.access_token
        session.expires_at = time.monotonic() + token.expires_in
        return token

    @operation("POST", "/logout")
    def logout(self) -> None:
        """End the session: its access and refresh tokens stop working everywhere."""
        self._require_session()
        self._send("POST", "/logout")
        self._auth = None

    @operation("GET", "/user/me")
    def get_me(self, *, cached: Versioned[UserOut] | None = None) -> Versioned[UserOut]:
        """The logged-in user."""
        return self._read("/user/me", UserOut, cached)

    @operation("GET", "/user/{id}", id="user_id")
    def get_user(
        self, user_id: int, *, cached: Versioned[UserOut] | None = None
    ) -> Versioned[UserOut]:
        """A user: yourself, or anyone if you are an admin."""
        return self._read(f"/user/{user_id}", UserOut, cached)

    @operation("DELETE", "/user/{id}", id="user_id")
    def delete_user(self, user_id: int, *, if_match: str | None = None) -> None:
        """Delete an account (yourself, or anyone as an admin); refused while it owns stores."""
        self._send("DELETE", f"/user/{user_id}", if_match=if_match)

    # The account's own care: its email address and password

    @operation("PATCH", "/user/me")
    def update_me(
        self, *, email: str | Literal[_Unset.UNSET] | None = UNSET, if_match: str | None = None
    ) -> UserOut:
        """Change your email address (None removes it); the new one is unverified until the
        link emailed to it is used. The current, unverified address again sends a new link."""
        body = {} if email is UNSET else {"email": email}
        answer = self._send(
            "PATCH", "/user/me", content=encode(body), content_type=MERGE_PATCH, if_match=if_match
        )
        return UserOut.model_validate(decode(answer.content))

    @operation("POST", "/user/me/email/verify")
    def verify_email(self, token: str, *, idempotency_key: str | None = None) -> None:
        """Verify your address with the token of the link emailed to it (single use, 48 h)."""
        self._create("/user/me/email/verify", {"token": token}, idempotency_key)

    @operation("PUT", "/user/me/password")
    def change_password(self, current_password: str, new_password: str) -> None:
        """Change your password: every other session of yours ends, this one goes on."""
        body = encode({"current_password": current_password, "new_password": new_password})
        self._send("PUT", "/user/me/password", content=body, content_type=JSON)

    @operation("POST", "/password-reset")
    def request_password_reset(
        self, email: str, *, idempotency_key: str | None = None
    ) -> AcceptedOut:
        """Ask for a reset link by email; the answer is the same whether or not an account
        has this verified address (TooManyRequests past 5 an hour for one address)."""
        answer = self._create(
            "/password-reset", {"email": email}, idempotency_key, authorized=False
        )
        return AcceptedOut.model_validate(decode(answer.content))

    @operation("POST", "/password-reset/confirm")
    def confirm_password_reset(
        self, token: str, new_password: str, *, idempotency_key: str | None = None
    ) -> None:
        """Set a new password with the token of a reset email; every session of that account
        ends, and nobody is logged in by it (call `login`)."""
        body = {"token": token, "new_password": new_password}
        self._create("/password-reset/confirm", body, idempotency_key, authorized=False)

    # Background jobs

    @operation("GET", "/job/{id}", id="job_id")
    def get_job(self, job_id: int, *, cached: Versioned[JobOut] | None = None) -> Versioned[JobOut]:
        """A job you started (any job, as an admin): its status and, once done, its result."""
        return self._read(f"/job/{job_id}", JobOut, cached)

    # Stores

    @operation("GET", "/store")
    @keyword_query
    def list_stores(
        self, *, cursor: str | None = None, **query: Unpack[StoreQuery]
    ) -> Page[StoreSummaryOut]:
        """One page of stores; `name` matches exactly, `q` a part (both ignore case)."""
        return self._list("/store", cursor, query, StoreSummaryOut)

    @keyword_query
    def iter_stores(self, **query: Unpack[StoreQuery]) -> Iterator[StoreSummaryOut]:
        """Every store, page after page (`member="me"`: yours, owned or on the team)."""
        return self.follow(self.list_stores(**query), StoreSummaryOut)

    @operation("POST", "/store")
    def create_store(self, name: str, *, idempotency_key: str | None = None) -> StoreOut:
        """Create a store; you own it."""
        answer = self._create("/store", {"name": name}, idempotency_key)
        return StoreOut.model_validate(decode(answer.content))

    @operation("GET", "/store/{id}", id="store_id")
    def get_store(
        self, store_id: int, *, cached: Versioned[StoreOut] | None = None
    ) -> Versioned[StoreOut]:
        """A store with its first 50 items and tags."""
        return self._read(f"/store/{store_id}", StoreOut, cached)

    @operation("PATCH", "/store/{id}", id="store_id")
    def update_store(
        self, store_id: int, *, name: str | None = None, if_match: str | None = None
    ) -> StoreOut:
        """Rename a store."""
        return self._patch(f"/store/{store_id}", {"name": name}, if_match, StoreOut)

    @operation("DELETE", "/store/{id}", id="store_id")
    def delete_store(self, store_id: int, *, if_match: str | None = None) -> None:
        """Delete a store with its items and tags."""
        self._send("DELETE", f"/store/{store_id}", if_match=if_match)

    # Items

    @operation("GET", "/item")
    @keyword_query
    def list_items(self, *, cursor: str | None = None, **query: Unpack[ItemQuery]) -> Page[ItemOut]:
        """One page of items of every store, filtered."""
        return self._list("/item", cursor, query, ItemOut)

    @keyword_query
    def iter_items(self, **query: Unpack[ItemQuery]) -> Iterator[ItemOut]:
        """Every item of every store that the filters select, page after page."""
        return self.follow(self.list_items(**query), ItemOut)

    @keyword_query
    def search_items(
        self, text: str, store_id: int | None = None, **filters: Unpack[SearchFilters]
    ) -> Iterator[ItemOut]:
        """Items whose name or description has words starting with every word of `text`,
        most relevant first (name above description), page after page; in one store, or in
        every store when `store_id` is None. The other filters narrow it further."""
        if store_id is None:
            return self.iter_items(search=text, **filters)
        return self.iter_store_items(store_id, search=text, **filters)

    @operation("POST", "/item")
    def create_item(
        self,
        store_id: int,
        name: str,
        price: Amount,
        *,
        quantity: int | None = None,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> ItemOut:
        """Create an item in a store you own (quantity 0 and no description unless given)."""
        body: JsonBody = {
            "store_id": store_id,
            "name": name,
            "price": price,
            "quantity": quantity,
            "description": description,
        }
        answer = self._create("/item", body, idempotency_key)
        return ItemOut.model_validate(decode(answer.content))

    @operation("GET", "/store/{id}/item", id="store_id")
    @keyword_query
    def list_store_items(
        self, store_id: int, *, cursor: str | None = None, **query: Unpack[StoreItemQuery]
    ) -> Page[ItemOut]:
        """One page of a store's items, filtered."""
        return self._list(f"/store/{store_id}/item", cursor, query, ItemOut)

    @keyword_query
    def iter_store_items(self, store_id: int, **query: Unpack[StoreItemQuery]) -> Iterator[ItemOut]:
        """Every item of a store that the filters select, page after page."""
        return self.follow(self.list_store_items(store_id, **query), ItemOut)

    def export_items(self, store_id: int, into: str | os.PathLike[str] | BinaryIO) -> int:
        """Write every item of a store as CSV into a file (a path or an open binary file),
        as the server streams it; the number of bytes written."""
        if isinstance(into, str | os.PathLike):
            with Path(into).open("wb") as file:
                return self.export_items(store_id, file)
        auth = self._auth if self._auth is not None else None
        with self._http.stream(
            "GET", f"/store/{store_id}/item", headers={"Accept": CSV}, auth=auth
        ) as answer:
            if answer.status_code >= 400:
                answer.read()
                raise problem_from(answer)
            written = 0
            for chunk in answer.iter_bytes():
                into.write(chunk)
                written += len(chunk)
        return written

    @operation("POST", "/store/{id}/import", id="store_id")
    def import_items(
        self,
        store_id: int,
        file: str | os.PathLike[str] | bytes,
        *,
        dry_run: bool | None = None,
        atomic: bool | None = None,
        wait: bool = True,
        timeout: float = 600.0,
        idempotency_key: str | None = None,
    ) -> JobOut:
        """Import items from CSV (a path or the file's bytes): a job the server runs later.

        With `wait` (the default), polls the job until it has finished (TimeoutError after
        `timeout` seconds) and returns it with its `result`: the counts and each row's outcome.
        `dry_run` changes nothing; `atomic` changes nothing when any row fails.
        """
        data = file if isinstance(file, bytes) else Path(file).read_bytes()
        params = {
            name: query_value(value)
            for name, value in (("dry_run", dry_run), ("atomic", atomic))
            if value is not None
        }
        key = idempotency_key if idempotency_key is not None else str(uuid.uuid4())
        answer = self._send(
            "POST",
            f"/store/{store_id}/import",
            content=data,
            content_type=CSV,
            params=params,
            headers={"Idempotency-Key": key},
        )
        job = JobOut.model_validate(decode(answer.content))
        return self.wait_for_job(job.id, timeout) if wait else job

    def wait_for_job(self, job_id: int, timeout: float = 600.0) -> JobOut:
        """Poll a job until it has succeeded or failed; TimeoutError after `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.get_job(job_id).value
            if job.status in FINISHED:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is still {job.status} after {timeout} s")
            time.sleep(JOB_POLL_S)

    @operation("POST", "/store/{id}/item", id="store_id")
    def create_store_item(
        self,
        store_id: int,
        name: str,
        price: Amount,
        *,
        quantity: int | None = None,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> ItemOut:
        """Create an item in a store you own, the store named by the path."""
        body: JsonBody = {
            "name": name,
            "price": price,
            "quantity": quantity,
            "description": description,
        }
        answer = self._create(f"/store/{store_id}/item", body, idempotency_key)
        return ItemOut.model_validate(decode(answer.content))

    @operation("GET", "/item/{id}", id="item_id")
    def get_item(
        self, item_id: int, *, cached: Versioned[ItemOut] | None = None
    ) -> Versioned[ItemOut]:
        """An item."""
        return self._read(f"/item/{item_id}", ItemOut, cached)

    @operation("PUT", "/item/{id}", id="item_id")
    def replace_item(
        self,
        item_id: int,
        name: str,
        price: Amount,
        *,
        store_id: int | None = None,
        quantity: int | None = None,
        description: str | None = None,
        if_match: str | None = None,
    ) -> ItemOut:
        """Make the item exactly this (defaults for what is left out), creating it if needed.

        `store_id` may be left out only when the item exists: it then stays in its store.
        """
        body: JsonBody = {
            "name": name,
            "price": price,
            "store_id": store_id,
            "quantity": quantity,
            "description": description,
        }
        answer = self._send(
            "PUT", f"/item/{item_id}", content=_body(body), content_type=JSON, if_match=if_match
        )
        return ItemOut.model_validate(decode(answer.content))

    @operation("PATCH", "/item/{id}", id="item_id")
    def update_item(
        self,
        item_id: int,
        *,
        name: str | None = None,
        price: Amount | None = None,
        quantity: int | None = None,
        description: str | None = None,
        store_id: int | None = None,
        if_match: str | None = None,
    ) -> ItemOut:
        """Change the fields given, leave the others; `store_id` moves it to another store."""
        body: JsonBody = {
            "name": name,
            "price": price,
            "quantity": quantity,
            "description": description,
            "store_id": store_id,
        }
        return self._patch(f"/item/{item_id}", body, if_match, ItemOut)

    @operation("DELETE", "/item/{id}", id="item_id")
    def delete_item(self, item_id: int, *, if_match: str | None = None) -> None:
        """Delete an item: it goes to its store's trash for 30 days (`restore_item`)."""
        self._send("DELETE", f"/item/{item_id}", if_match=if_match)

    # Item photos

    @operation("PUT", "/item/{id}/image", id="item_id")
    def set_item_image(
        self,
        item_id: int,
        path_or_bytes: str | os.PathLike[str] | bytes,
        content_type: str | None = None,
        *,
        multipart: bool = False,
        if_match: str | None = None,
    ) -> ItemOut:
        """Set an item's photo: a JPEG, PNG or WebP file (a path) or its bytes, at most 10 MiB.

        The media type is `content_type` when given, else read from the image's first bytes
        (else from the file's name). `multipart=True` sends it as an HTML form does (a
        multipart/form-data `file` part) rather than as the raw body. `if_match`: the photo's
        `image.etag`, to replace it only if it is still that one.
        """
        name, data = _file(path_or_bytes)
        kind = content_type or image_type(data, name)
        if multipart:
            answer = self._send("PUT", f"/item/{item_id}/image", files={"file": (name, data, kind)})
        else:
            answer = self._send("PUT", f"/item/{item_id}/image", content=data, content_type=kind)
        return ItemOut.model_validate(decode(answer.content))

    @operation("GET", "/item/{id}/image", id="item_id")
    def get_item_image(
        self,
        item_id: int,
        size: Literal["thumb", "medium"] | None = None,
        *,
        v: str | None = None,
    ) -> bytes:
        """An item's photo, or its `thumb` (256 px) or `medium` (1024 px) size once made (until
        then the full photo). `v`: the version its URLs carry (the item's `image.etag`)."""
        params = {k: val for k, val in (("size", size), ("v", v)) if val is not None}
        return self._send("GET", f"/item/{item_id}/image", params=params).content

    @operation("DELETE", "/item/{id}/image", id="item_id")
    def delete_item_image(self, item_id: int, *, if_match: str | None = None) -> None:
        """Remove an item's photo (NotFound when it has none; `if_match`: its `image.etag`)."""
        self._send("DELETE", f"/item/{item_id}/image", if_match=if_match)

    # Tags

    @operation("GET", "/store/{id}/tag", id="store_id")
    @keyword_query
    def list_store_tags(
        self, store_id: int, *, cursor: str | None = None, **query: Unpack[TagQuery]
    ) -> Page[TagOut]:
        """One page of a store's tags."""
        return self._list(f"/store/{store_id}/tag", cursor, query, TagOut)

    @keyword_query
    def iter_store_tags(self, store_id: int, **query: Unpack[TagQuery]) -> Iterator[TagOut]:
        """Every tag of a store, page after page."""
        return self.follow(self.list_store_tags(store_id, **query), TagOut)

    # Trash

    @operation("GET", "/store/{id}/trash", id="store_id")
    @keyword_query
    def list_trash(
        self, store_id: int, *, cursor: str | None = None, **query: Unpack[TrashQuery]
    ) -> Page[TrashedItemOut]:
        """One page of the items deleted from a store in the last 30 days, latest first
        (the store's owner or an admin)."""
        return self._list(f"/store/{store_id}/trash", cursor, query, TrashedItemOut)

    @keyword_query
    def iter_trash(self, store_id: int, **query: Unpack[TrashQuery]) -> Iterator[TrashedItemOut]:
        """Every item in a store's trash, page after page."""
        return self.follow(self.list_trash(store_id, **query), TrashedItemOut)

    @operation("POST", "/item/{id}/restore", id="item_id")
    def restore_item(
        self,
        item_id: int,
        name: str | None = None,
        *,
        if_match: str | None = None,
        idempotency_key: str | None = None,
    ) -> ItemOut:
        """Bring an item back from its store's trash, as it was (its tags that still exist,
        its photo). When another item has its name now: Conflict (409), unless a new `name`
        is given. An item that is live: Conflict; purged or never there: NotFound."""
        key = idempotency_key if idempotency_key is not None else str(uuid.uuid4())
        body = None if name is None else _body({"name": name})
        answer = self._send(
            "POST",
            f"/item/{item_id}/restore",
            content=body,
            content_type=None if body is None else JSON,
            headers={"Idempotency-Key": key},
            if_match=if_match,
        )
        return ItemOut.model_validate(decode(answer.content))

    @operation("POST", "/store/{id}/tag", id="store_id")
    def create_tag(self, store_id: int, name: str, *, idempotency_key: str | None = None) -> TagOut:
        """Create a tag in a store (its owner, managers or an admin)."""
        answer = self._create(f"/store/{store_id}/tag", {"name": name}, idempotency_key)
        return TagOut.model_validate(decode(answer.content))

    @operation("GET", "/tag/{id}", id="tag_id")
    def get_tag(
        self, tag_id: int, *, cached: Versioned[TagDetailOut] | None = None
    ) -> Versioned[TagDetailOut]:
        """A tag with the first 50 items it labels."""
        return self._read(f"/tag/{tag_id}", TagDetailOut, cached)

    @operation("DELETE", "/tag/{id}", id="tag_id")
    def delete_tag(self, tag_id: int, *, if_match: str | None = None) -> None:
        """Delete a tag; refused (Conflict) while it still labels items."""
        self._send("DELETE", f"/tag/{tag_id}", if_match=if_match)

    @operation("POST", "/item/{id}/tag/{tag_id}", id="item_id", tag_id="tag_id")
    def link_tag(self, item_id: int, tag_id: int, *, idempotency_key: str | None = None) -> TagOut:
        """Label an item with a tag of its store (no error when it already is)."""
        answer = self._create(f"/item/{item_id}/tag/{tag_id}", None, idempotency_key)
        return TagOut.model_validate(decode(answer.content))

    @operation("DELETE", "/item/{id}/tag/{tag_id}", id="item_id", tag_id="tag_id")
    def unlink_tag(self, item_id: int, tag_id: int) -> None:
        """Take a tag off an item."""
        self._send("DELETE", f"/item/{item_id}/tag/{tag_id}")

    # A store's team

    @operation("GET", "/store/{id}/member", id="store_id")
    @keyword_query
    def list_members(
        self, store_id: int, *, cursor: str | None = None, **query: Unpack[MemberQuery]
    ) -> Page[MemberOut]:
        """One page of a store's team: its owner (role `owner`), managers and staff."""
        return self._list(f"/store/{store_id}/member", cursor, query, MemberOut)

    @keyword_query
    def iter_members(self, store_id: int, **query: Unpack[MemberQuery]) -> Iterator[MemberOut]:
        """Everyone on a store's team, page after page."""
        return self.follow(self.list_members(store_id, **query), MemberOut)

    @operation("POST", "/store/{id}/member", id="store_id")
    def add_member(
        self,
        store_id: int,
        username: str,
        role: Literal["manager", "staff"],
        *,
        idempotency_key: str | None = None,
    ) -> MemberOut:
        """Put a user on a store's team (the owner adds anyone, a manager adds staff)."""
        body: JsonBody = {"username": username, "role": role}
        answer = self._create(f"/store/{store_id}/member", body, idempotency_key)
        return MemberOut.model_validate(decode(answer.content))

    @operation("GET", "/store/{id}/member/{user_id}", id="store_id", user_id="user_id")
    def get_member(
        self, store_id: int, user_id: int, *, cached: Versioned[MemberOut] | None = None
    ) -> Versioned[MemberOut]:
        """One of a store's team (your own entry: your role there)."""
        return self._read(f"/store/{store_id}/member/{user_id}", MemberOut, cached)

    @operation("PATCH", "/store/{id}/member/{user_id}", id="store_id", user_id="user_id")
    def change_member_role(
        self,
        store_id: int,
        user_id: int,
        role: Literal["manager", "staff"],
        *,
        if_match: str | None = None,
    ) -> MemberOut:
        """Give a member another role (the store's owner or an admin)."""
        path = f"/store/{store_id}/member/{user_id}"
        return self._patch(path, {"role": role}, if_match, MemberOut)

    @operation("DELETE", "/store/{id}/member/{user_id}", id="store_id", user_id="user_id")
    def remove_member(self, store_id: int, user_id: int, *, if_match: str | None = None) -> None:
        """Take someone off a store's team (yourself: leave_store)."""
        self._send("DELETE", f"/store/{store_id}/member/{user_id}", if_match=if_match)

    def leave_store(self, store_id: int) -> None:
        """Leave a store's team (removing yourself)."""
        self.remove_member(store_id, self.get_me().value.id)

    @operation("GET", "/store/{id}/permission", id="store_id")
    def get_permissions(
        self, store_id: int, *, cached: Versioned[PermissionsOut] | None = None
    ) -> Versioned[PermissionsOut]:
        """Your role in a store and the actions it allows (none when logged out)."""
        return self._read(f"/store/{store_id}/permission", PermissionsOut, cached)

    # History

    @operation("GET", "/store/{id}/event", id="store_id")
    @keyword_query
    def list_events(
        self, store_id: int, *, cursor: str | None = None, **query: Unpack[EventQuery]
    ) -> Page[EventOut]:
        """One page of a store's history, newest first (its owner, managers and admins)."""
        return self._list(f"/store/{store_id}/event", cursor, query, EventOut)

    @keyword_query
    def iter_events(self, store_id: int, **query: Unpack[EventQuery]) -> Iterator[EventOut]:
        """Every event of a store's history, newest first, page after page; `type` (e.g.
        "item.updated") and `resource` (e.g. "item:42") narrow it."""
        return self.follow(self.list_events(store_id, **query), EventOut)

    # Webhooks

    @operation("POST", "/store/{id}/webhook", id="store_id")
    def create_webhook(
        self,
        store_id: int,
        url: str,
        events: Sequence[str],
        *,
        description: str | None = None,
        idempotency_key: str | None = None,
    ) -> WebhookSecretOut:
        """Have a store's events POSTed to `url` (its managers): `events` are history types
        ("item.updated", ...) or ["*"] for all. The answer's `secret` is shown this once: keep
        it, `verify_webhook` needs it to check each delivery."""
        body: JsonBody = {"url": url, "events": list(events), "description": description}
        answer = self._create(f"/store/{store_id}/webhook", body, idempotency_key)
        return WebhookSecretOut.model_validate(decode(answer.content))

    @operation("GET", "/store/{id}/webhook", id="store_id")
    @keyword_query
    def list_webhooks(
        self, store_id: int, *, cursor: str | None = None, **query: Unpack[WebhookQuery]
    ) -> Page[WebhookOut]:
        """One page of a store's webhooks (never their secrets)."""
        return self._list(f"/store/{store_id}/webhook", cursor, query, WebhookOut)

    @keyword_query
    def iter_webhooks(self, store_id: int, **query: Unpack[WebhookQuery]) -> Iterator[WebhookOut]:
        """Every webhook of a store, page after page."""
        return self.follow(self.list_webhooks(store_id, **query), WebhookOut)

    @operation("GET", "/webhook/{id}", id="webhook_id")
    def get_webhook(
        self, webhook_id: int, *, cached: Versioned[WebhookOut] | None = None
    ) -> Versioned[WebhookOut]:
        """A webhook: where it sends, which events, whether it is on (and if not, why)."""
        return self._read(f"/webhook/{webhook_id}", WebhookOut, cached)

    @operation("PATCH", "/webhook/{id}", id="webhook_id")
    def update_webhook(
        self,
        webhook_id: int,
        *,
        url: str | None = None,
        events: Sequence[str] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
        rotate_secret: bool | None = None,
        if_match: str | None = None,
    ) -> WebhookOut | WebhookSecretOut:
        """Change what is given; `enabled=True` turns on one that delivery turned off.
        `rotate_secret=True` makes a new secret: the answer is then a WebhookSecretOut, its
        `secret` shown this once (the old one still signs for 24 hours)."""
        body: JsonBody = {
            "url": url,
            "events": None if events is None else list(events),
            "description": description,
            "enabled": enabled,
            "rotate_secret": rotate_secret,
        }
        answer = self._send(
            "PATCH",
            f"/webhook/{webhook_id}",
            content=_body(body),
            content_type=MERGE_PATCH,
            if_match=if_match,
        )
        found = decode(answer.content)
        # The same operation answers with the secret only when it made a new one.
        if "secret" in found:
            return WebhookSecretOut.model_validate(found)
        return WebhookOut.model_validate(found)

    def rotate_webhook_secret(self, webhook_id: int, *, if_match: str | None = None) -> str:
        """Make a webhook's secret anew: the new one (the old one also signs for 24 hours)."""
        changed = self.update_webhook(webhook_id, rotate_secret=True, if_match=if_match)
        if not isinstance(changed, WebhookSecretOut):
            raise StorekeeperError("the server answered a rotation without the new secret")
        return changed.secret

    @operation("DELETE", "/webhook/{id}", id="webhook_id")
    def delete_webhook(self, webhook_id: int, *, if_match: str | None = None) -> None:
        """Delete a webhook with its delivery log: nothing more is sent."""
        self._send("DELETE", f"/webhook/{webhook_id}", if_match=if_match)

    @operation("POST", "/webhook/{id}/ping", id="webhook_id")
    def ping_webhook(
        self,
        webhook_id: int,
        *,
        wait: bool = False,
        timeout: float = 60.0,
        idempotency_key: str | None = None,
    ) -> DeliveryOut:
        """Send a `webhook.ping` delivery: its first attempt, pending; with `wait`, that attempt
        once made (succeeded or failed: see `wait_for_delivery`)."""
        answer = self._create(f"/webhook/{webhook_id}/ping", None, idempotency_key)
        delivery = DeliveryOut.model_validate(decode(answer.content))
        return self.wait_for_delivery(webhook_id, delivery.id, timeout) if wait else delivery

    @operation("GET", "/webhook/{id}/delivery", id="webhook_id")
    @keyword_query
    def list_webhook_deliveries(
        self, webhook_id: int, *, cursor: str | None = None, **query: Unpack[DeliveryQuery]
    ) -> Page[DeliveryOut]:
        """One page of a webhook's delivery attempts, newest first (one row per attempt)."""
        return self._list(f"/webhook/{webhook_id}/delivery", cursor, query, DeliveryOut)

    @keyword_query
    def iter_webhook_deliveries(
        self, webhook_id: int, **query: Unpack[DeliveryQuery]
    ) -> Iterator[DeliveryOut]:
        """Every delivery attempt of a webhook, newest first, page after page."""
        return self.follow(self.list_webhook_deliveries(webhook_id, **query), DeliveryOut)

    @operation(
        "GET", "/webhook/{id}/delivery/{delivery_id}", id="webhook_id", delivery_id="delivery_id"
    )
    def get_webhook_delivery(
        self,
        webhook_id: int,
        delivery_id: int,
        *,
        cached: Versioned[DeliveryOut] | None = None,
    ) -> Versioned[DeliveryOut]:
        """One delivery attempt."""
        path = f"/webhook/{webhook_id}/delivery/{delivery_id}"
        return self._read(path, DeliveryOut, cached)

    @operation(
        "POST",
        "/webhook/{id}/delivery/{delivery_id}/redeliver",
        id="webhook_id",
        delivery_id="delivery_id",
    )
    def redeliver(
        self,
        webhook_id: int,
        delivery_id: int,
        *,
        wait: bool = False,
        timeout: float = 60.0,
        idempotency_key: str | None = None,
    ) -> DeliveryOut:
        """Send a delivery's event again, as a new chain of attempts: its first, pending; with
        `wait`, that attempt once made."""
        path = f"/webhook/{webhook_id}/delivery/{delivery_id}/redeliver"
        answer = self._create(path, None, idempotency_key)
        delivery = DeliveryOut.model_validate(decode(answer.content))
        return self.wait_for_delivery(webhook_id, delivery.id, timeout) if wait else delivery

    def wait_for_delivery(
        self, webhook_id: int, delivery_id: int, timeout: float = 60.0
    ) -> DeliveryOut:
        """Poll a delivery attempt until it was made (`succeeded` or `failed`; a failed one's
        `next_attempt_at` says when the next try is due); TimeoutError after `timeout` s."""
        deadline = time.monotonic() + timeout
        while True:
            delivery = self.get_webhook_delivery(webhook_id, delivery_id).value
            if delivery.status != "pending":
                return delivery
            if time.monotonic() > deadline:
                raise TimeoutError(f"delivery {delivery_id} is still pending after {timeout} s")
            time.sleep(JOB_POLL_S)

    # Operations

    @operation("GET", "/health")
    def health(self) -> Health:
        """Whether the server process serves."""
        return Health.model_validate(decode(self._send("GET", "/health").content))

    @operation("GET", "/ready")
    def ready(self) -> Health:
        """Whether the server can reach its database (ServiceUnavailable when it cannot)."""
        return Health.model_validate(decode(self._send("GET", "/ready").content))

    @operation("GET", "/metrics")
    def metrics(self) -> str:
        """The Prometheus metrics of every worker, as text."""
        return self._send("GET", "/metrics").text

    # Pages

    def follow(self, page: Page[M], model: type[M]) -> Iterator[M]:
        """The rows of `page` and of every page after it, fetched as they are needed."""
        while True:
            yield from page.items
            if page.next_url is None:
                return
            page = self._page(self._send("GET", page.next_url), model)

    # Plumbing: every request goes through `_send`.

    def _send(
        self,
        method: str,
        url: str,
        *,
        content: bytes | None = None,
        content_type: str | None = None,
        files: Mapping[str, tuple[str, bytes, str]] | None = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        if_match: str | None = None,
        authorized: bool = True,
    ) -> httpx.Response:
        sent = dict(headers or {})
        if content_type is not None:
            sent["Content-Type"] = content_type
        if if_match is not None:
            sent["If-Match"] = if_match
        answer = self._http.request(
            method,
            url,
            content=content,
            files=files,
            params=params,
            headers=sent,
            auth=self._auth if authorized and self._auth is not None else None,
        )
        if answer.status_code >= 400:
            raise problem_from(answer)
        return answer

    def _create(
        self,
        path: str,
        body: JsonBody | None,
        idempotency_key: str | None,
        *,
        authorized: bool = True,
    ) -> httpx.Response:
        key = idempotency_key if idempotency_key is not None else str(uuid.uuid4())
        return self._send(
            "POST",
            path,
            content=None if body is None else _body(body),
            content_type=None if body is None else JSON,
            headers={"Idempotency-Key": key},
            authorized=authorized,
        )

    def _read(self, path: str, model: type[M], cached: Versioned[M] | None) -> Versioned[M]:
        headers = {"If-None-Match": cached.etag} if cached is not None else None
        answer = self._send("GET", path, headers=headers)
        if answer.status_code == 304 and cached is not None:
            return cached
        return Versioned(model.model_validate(decode(answer.content)), answer.headers["ETag"])

    def _patch(self, path: str, body: JsonBody, if_match: str | None, model: type[M]) -> M:
        answer = self._send(
            "PATCH", path, content=_body(body), content_type=MERGE_PATCH, if_match=if_match
        )
        return model.model_validate(decode(answer.content))

    def _list(
        self, path: str, cursor: str | None, query: Mapping[str, object], model: type[M]
    ) -> Page[M]:
        given = {"cursor": cursor, **query}
        params = {k: query_value(v) for k, v in given.items() if v is not None}
        return self._page(self._send("GET", path, params=params), model)

    @staticmethod
    def _page(answer: httpx.Response, model: type[M]) -> Page[M]:
        rows = decode(answer.content)
        return Page([model.model_validate(row) for row in rows], next_url(answer))

    def _require_session(self) -> Session:
        if self._auth is None:
            raise NotLoggedIn("log in first")
        return self._auth.session


class NotLoggedIn(StorekeeperError):
    """A call that needs a session was made before `login` (or after `logout`)."""


def _body(fields: JsonBody) -> bytes:
    # None means "not given": the server's default applies (or, in a PATCH, the value stays).
    return encode({k: v for k, v in fields.items() if v is not None})


# The image formats the server takes, by their first bytes.
_SIGNATURES = ((b"\xff\xd8\xff", "image/jpeg"), (b"\x89PNG\r\n\x1a\n", "image/png"))


def image_type(data: bytes, name: str = "") -> str:
    """The media type of an image from its first bytes, else its file name's suffix; the
    server answers 415 to application/octet-stream, the last resort."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return kind
    guessed, _ = mimetypes.guess_type(name)
    return guessed or "application/octet-stream"


def _file(path_or_bytes: str | os.PathLike[str] | bytes) -> tuple[str, bytes]:
    """A file's name (for a multipart part) and its bytes."""
    if isinstance(path_or_bytes, bytes):
        return "image", path_or_bytes
    path = Path(path_or_bytes)
    return path.name, path.read_bytes()
