"""A store's webhooks and their delivery log (contract "Webhooks"), for its managers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from flask import Blueprint, Response
from pydantic import Field, StrictBool, StrictStr

from storekeeper.domain import webhooks
from storekeeper.domain.catalog import CATALOG, Guard
from storekeeper.domain.model import Actor, PageRequest
from storekeeper.domain.ports import Work
from storekeeper.domain.webhooks import (
    MAX_DESCRIPTION_CHARS,
    MAX_URL_CHARS,
    WEBHOOKS,
    DeliveryQuery,
    Prechecked,
    Webhook,
    WebhookChange,
)
from storekeeper.http.bodies import JSON, guard, render, respond
from storekeeper.http.conditional import Preconditions, etag_of
from storekeeper.http.context import services
from storekeeper.http.operations import operation
from storekeeper.http.paging import decode_cursor, page_request, respond_page
from storekeeper.http.schemas import (
    CREATED_AT,
    NO_NUL,
    UPDATED_AT,
    InModel,
    ListParams,
    OutModel,
    QueryId,
    example,
)

bp = Blueprint("webhooks", __name__)

# A webhook's settings and its secret are for its store's managers alone: no cache keeps them.
NO_STORE = {"Cache-Control": "private, no-store", "Pragma": "no-cache"}


@bp.after_request
def private(response: Response) -> Response:
    """Webhooks (and the one answer with a secret) are kept by no shared cache nor browser."""
    response.headers.update(NO_STORE)
    return response


Url = Annotated[
    StrictStr,
    Field(
        min_length=1,
        max_length=MAX_URL_CHARS,
        json_schema_extra=NO_NUL,
        description="Where deliveries are POSTed: an `https` URL (`http` too when the operator "
        "allows private addresses) with no user name or password, whose host is a public "
        "address (checked now, and again at each delivery).",
    ),
]
EventTypes = Annotated[
    list[Annotated[StrictStr, Field(min_length=1, max_length=64, json_schema_extra=NO_NUL)]],
    Field(
        min_length=1,
        max_length=64,
        description="The event types to deliver, as the history names them (`item.created`, "
        '...), or `["*"]` for every type. Stored sorted, each once.',
    ),
]
WebhookDescription = Annotated[
    StrictStr,
    Field(max_length=MAX_DESCRIPTION_CHARS, json_schema_extra=NO_NUL),
]

_WEBHOOK: dict[str, Any] = {
    "id": 2,
    "store_id": 1,
    "url": "https://hooks.example.com/storekeeper",
    "description": "Stock sync",
    "events": ["item.created", "item.deleted", "item.updated"],
    "enabled": True,
    "disabled_reason": None,
    "created_at": CREATED_AT,
    "updated_at": UPDATED_AT,
}
# An example only: no webhook has it.
_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw6Tqh8Jz0Zwc="  # noqa: S105
_DELIVERY: dict[str, Any] = {
    "id": 41,
    "webhook_id": 2,
    "event_id": 31,
    "type": "item.updated",
    "attempt": 2,
    "status": "failed",
    "response_status": 503,
    "duration_ms": 212,
    "error": "receiver answered 503",
    "next_attempt_at": UPDATED_AT,
    "created_at": CREATED_AT,
    "attempted_at": CREATED_AT,
}


# Request and response models


class WebhookCreate(InModel):
    """A URL to POST a store's events to, and which events."""

    model_config = example(
        {
            "url": "https://hooks.example.com/storekeeper",
            "events": ["item.created", "item.updated", "item.deleted"],
            "description": "Stock sync",
        }
    )

    url: Url
    events: EventTypes
    description: WebhookDescription = ""


class WebhookUpdate(InModel):
    """Changes to a webhook (JSON merge patch: absent fields stay; none may be null)."""

    model_config = example(
        {"events": ["*"], "enabled": True, "rotate_secret": True}, merge_patch=True
    )

    url: Url = None  # type: ignore[assignment]
    events: EventTypes = None  # type: ignore[assignment]
    description: WebhookDescription = None  # type: ignore[assignment]
    enabled: Annotated[
        StrictBool,
        Field(description="false stops deliveries (pending ones are not sent); true resumes."),
    ] = None  # type: ignore[assignment]
    rotate_secret: Annotated[
        StrictBool,
        Field(
            description="true makes a new secret, returned once in this answer; the previous "
            "one keeps signing (a second signature) for 24 hours."
        ),
    ] = False

    def change(self) -> WebhookChange:
        """The fields the patch sets (the others stay as they are)."""
        given = self.model_fields_set
        return WebhookChange(
            url=self.url if "url" in given else None,
            events=tuple(self.events) if "events" in given else None,
            description=self.description if "description" in given else None,
            enabled=self.enabled if "enabled" in given else None,
            rotate_secret=self.rotate_secret,
        )


class WebhookOut(OutModel):
    """A store's webhook; its secret is shown only when made (create, rotate)."""

    model_config = example(_WEBHOOK)

    id: int
    store_id: int
    url: str
    description: str
    events: list[str]
    enabled: bool
    disabled_reason: str | None = Field(
        description="Why delivery turned it off: `gone` (the receiver answered 410) or "
        "`failing` (failures for 3 days); null when enabled or turned off by a user."
    )
    created_at: datetime
    updated_at: datetime


class WebhookSecretOut(WebhookOut):
    """A webhook with its new secret: this answer is the only one that shows it."""

    model_config = example({**_WEBHOOK, "secret": _SECRET})

    secret: str = Field(
        description="`whsec_` and the base64 of 32 random bytes (Standard Webhooks): the "
        "HMAC-SHA256 key of `webhook-signature` is the base64-decoded part after `whsec_`."
    )


class WebhookChangedOut(WebhookOut):
    """A changed webhook; it carries `secret` only when the change rotated it."""

    model_config = example({**_WEBHOOK, "secret": _SECRET})

    secret: str | None = Field(
        default=None,
        description="Present only when the PATCH had `rotate_secret: true`: the new secret, "
        "shown this once (the previous one keeps signing for 24 hours).",
    )


class DeliveryOut(OutModel):
    """One attempt to deliver an event (or a ping) to a webhook."""

    model_config = example(_DELIVERY)

    id: int
    webhook_id: int
    event_id: int | None = Field(description="The event delivered; null for a ping.")
    type: str = Field(description="The event's type, or `webhook.ping`.")
    attempt: int = Field(description="1 for the first attempt, then 2, 3, ... for retries.")
    status: Literal["pending", "succeeded", "failed"]
    response_status: int | None = Field(description="The receiver's HTTP status, if it answered.")
    duration_ms: int | None
    error: str | None = Field(description="Why the attempt failed, in one line.")
    next_attempt_at: datetime | None = Field(
        description="Pending: when it is due. Failed: when the retry is due (null: none follows)."
    )
    created_at: datetime
    attempted_at: datetime | None


class WebhookListParams(ListParams):
    """Paging of a store's webhooks (by id)."""


class DeliveryListParams(ListParams):
    """Paging and filters of a webhook's delivery attempts, newest first."""

    event_id: Annotated[QueryId | None, Field(description="Only attempts for this event.")] = None
    status: Annotated[
        Literal["pending", "succeeded", "failed"] | None,
        Field(description="Only attempts in this status."),
    ] = None


# Handlers


def _with_secret(webhook: Webhook, status: int, headers: dict[str, str]) -> Response:
    """The one answer showing the secret. Its ETag is the webhook's without it (the one GET
    answers), so an If-Match taken from here fits the next PATCH; and no 304 can hide it."""
    response = Response(
        render(WebhookSecretOut, webhook), status=status, headers=headers, mimetype=JSON
    )
    response.headers["ETag"] = etag_of(render(WebhookOut, webhook))
    return response


def _guard(work: Work, webhook_id: int, conditions: Preconditions | None) -> Guard:
    hooks = work[WEBHOOKS]
    return guard(
        conditions,
        WebhookOut,
        lambda: hooks.get_webhook(webhook_id),
        lambda: hooks.lock_webhook(webhook_id),
    )


@bp.get("/store/<id:id>/webhook")
@operation("Webhooks", response=WebhookOut, many=True, query=WebhookListParams, auth=True)
def list_webhooks(id: int, query: WebhookListParams, actor: Actor, work: Work) -> Response:
    """List a store's webhooks, by id (owner, managers and admins); never their secrets."""
    page = webhooks.list_webhooks(work[CATALOG], work[WEBHOOKS], actor, id, page_request(query))
    return respond_page(WebhookOut, page, query)


@bp.post("/store/<id:id>/webhook")
@operation(
    "Webhooks",
    status=201,
    response=WebhookSecretOut,
    body=WebhookCreate,
    auth=True,
    errors=(409,),
    creates="/webhook/{id}",
    error_text={409: "The store has 20 webhooks already, the most it may have."},
)
def create_webhook(id: int, body: WebhookCreate, actor: Actor) -> Response:
    """Subscribe a URL to a store's events (owner, managers and admins).

    The answer carries the webhook's `secret`, which signs every delivery: it is shown here
    and never again (a PATCH with `rotate_secret: true` makes a new one). A refused URL is a
    422 on `url`, an unknown event type a 422 on `events`; a store has at most 20 webhooks
    (409 beyond).
    """
    # Its own unit of work: the URL's host is looked up first, in no transaction (so its
    # answer is stored under an Idempotency-Key in one more, as a registration's is).
    found = services()
    destinations = Prechecked.of(found.destinations, body.url)
    with found.units(write=True) as work:
        made = webhooks.create_webhook(
            work[CATALOG],
            work[WEBHOOKS],
            destinations,
            actor,
            id,
            body.url,
            body.events,
            body.description,
        )
    return _with_secret(made, 201, {"Location": f"/webhook/{made.id}"})


@bp.get("/webhook/<id:id>")
@operation("Webhooks", response=WebhookOut, auth=True)
def get_webhook(id: int, actor: Actor, work: Work) -> Response:
    """Read a webhook (its store's owner, managers and admins); never its secret."""
    return respond(WebhookOut, webhooks.get_webhook(work[CATALOG], work[WEBHOOKS], actor, id))


@bp.patch("/webhook/<id:id>")
@operation(
    "Webhooks",
    response=WebhookChangedOut,
    body=WebhookUpdate,
    auth=True,
    merge_patch=True,
    conditional=True,
)
def update_webhook(
    id: int, body: WebhookUpdate, actor: Actor, conditions: Preconditions | None
) -> Response:
    """Change a webhook: its URL, events, description; turn it off or on; rotate its secret.

    `enabled: true` also clears why delivery turned it off. With `rotate_secret: true` the
    answer carries the new `secret` (once); the previous one keeps signing for 24 hours, as a
    second `v1,` signature, so receivers can switch without losing a delivery. Without it,
    the answer has no `secret`.
    """
    # A new URL's host is looked up before the transaction opens, as on create.
    found = services()
    change = body.change()
    destinations = Prechecked.of(found.destinations, change.url)
    with found.units(write=True) as work:
        changed = webhooks.change_webhook(
            work[CATALOG],
            work[WEBHOOKS],
            destinations,
            actor,
            id,
            change,
            datetime.now(UTC),
            _guard(work, id, conditions),
        )
    if body.rotate_secret:
        return _with_secret(changed, 200, {})
    return respond(WebhookOut, changed)


@bp.delete("/webhook/<id:id>")
@operation("Webhooks", status=204, auth=True, conditional=True)
def delete_webhook(id: int, actor: Actor, work: Work, conditions: Preconditions | None) -> Response:
    """Delete a webhook with its delivery log; its pending deliveries are not sent."""
    check = _guard(work, id, conditions)
    webhooks.delete_webhook(work[CATALOG], work[WEBHOOKS], actor, id, check)
    return Response(status=204)


@bp.get("/webhook/<id:id>/delivery")
@operation("Webhooks", response=DeliveryOut, many=True, query=DeliveryListParams, auth=True)
def list_deliveries(id: int, query: DeliveryListParams, actor: Actor, work: Work) -> Response:
    """List a webhook's delivery attempts, newest first; one row per attempt.

    Kept for 30 days. `?event_id=` keeps one event's attempts, `?status=` one status's.
    """
    wanted = DeliveryQuery(
        id,
        PageRequest("id", descending=True, limit=query.limit, after=decode_cursor(query)),
        query.event_id,
        query.status,
    )
    page = webhooks.list_deliveries(work[CATALOG], work[WEBHOOKS], actor, wanted)
    return respond_page(DeliveryOut, page, query)


@bp.get("/webhook/<id:id>/delivery/<id:delivery_id>")
# linked=False on one delivery's operations: a new webhook has none yet.
@operation("Webhooks", response=DeliveryOut, auth=True, linked=False)
def get_delivery(id: int, delivery_id: int, actor: Actor, work: Work) -> Response:
    """Read one delivery attempt of a webhook."""
    found = webhooks.get_delivery(work[CATALOG], work[WEBHOOKS], actor, id, delivery_id)
    return respond(DeliveryOut, found)


@bp.post("/webhook/<id:id>/delivery/<id:delivery_id>/redeliver")
@operation(
    "Webhooks",
    status=202,
    response=DeliveryOut,
    auth=True,
    errors=(409,),
    creates="/webhook/{webhook_id}/delivery/{id}",
    error_text={409: "The webhook is disabled: enable it first."},
    linked=False,
)
def redeliver(id: int, delivery_id: int, actor: Actor, work: Work) -> Response:
    """Send a delivery's event (or ping) again: a new chain of attempts, due now.

    The answer is its first attempt, `pending`; follow it at `Location`. The event is sent as
    it was first (the same `webhook-id`, so a receiver that has it already can skip it).
    """
    made = webhooks.redeliver(work[CATALOG], work[WEBHOOKS], actor, id, delivery_id)
    return respond(DeliveryOut, made, 202, {"Location": f"/webhook/{id}/delivery/{made.id}"})


@bp.post("/webhook/<id:id>/ping")
@operation(
    "Webhooks",
    status=202,
    response=DeliveryOut,
    auth=True,
    errors=(409,),
    creates="/webhook/{webhook_id}/delivery/{id}",
    error_text={409: "The webhook is disabled: enable it first."},
)
def ping(id: int, actor: Actor, work: Work) -> Response:
    """Send the webhook a `webhook.ping`, to check its receiver and signature checks.

    Its `webhook-id` is `ping_<delivery id>`. The answer is its first attempt, `pending`;
    follow it at `Location`.
    """
    made = webhooks.ping(work[CATALOG], work[WEBHOOKS], actor, id)
    return respond(DeliveryOut, made, 202, {"Location": f"/webhook/{id}/delivery/{made.id}"})
