"""Response models of the Storekeeper API, generated from its /openapi.json.

Do not edit: `make client-models` writes this file (tests/client/codegen.py)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, Field


class AcceptedOut(BaseModel):
    """
    A request taken: what it leads to happens in the background.
    """

    detail: Annotated[str, Field(title="Detail")]


class AccessTokenOut(BaseModel):
    """
    A fresh access token.
    """

    access_token: Annotated[str, Field(title="Access Token")]
    token_type: Annotated[Literal["Bearer"], Field(title="Token Type")] = "Bearer"
    expires_in: Annotated[int, Field(title="Expires In")]


class ActorOut(BaseModel):
    """
    Who made a change.
    """

    id: Annotated[int, Field(title="Id")]
    username: Annotated[str, Field(title="Username")]


class DeliveryOut(BaseModel):
    """
    One attempt to deliver an event (or a ping) to a webhook.
    """

    id: Annotated[int, Field(title="Id")]
    webhook_id: Annotated[int, Field(title="Webhook Id")]
    event_id: Annotated[
        int | None,
        Field(description="The event delivered; null for a ping.", title="Event Id"),
    ]
    type: Annotated[str, Field(description="The event's type, or `webhook.ping`.", title="Type")]
    attempt: Annotated[
        int,
        Field(
            description="1 for the first attempt, then 2, 3, ... for retries.",
            title="Attempt",
        ),
    ]
    status: Annotated[Literal["pending", "succeeded", "failed"], Field(title="Status")]
    response_status: Annotated[
        int | None,
        Field(
            description="The receiver's HTTP status, if it answered.",
            title="Response Status",
        ),
    ]
    duration_ms: Annotated[int | None, Field(title="Duration Ms")]
    error: Annotated[
        str | None,
        Field(description="Why the attempt failed, in one line.", title="Error"),
    ]
    next_attempt_at: Annotated[
        AwareDatetime | None,
        Field(
            description="Pending: when it is due. Failed: when the retry is due (null: none follows).",
            title="Next Attempt At",
        ),
    ]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    attempted_at: Annotated[AwareDatetime | None, Field(title="Attempted At")]


class Health(BaseModel):
    """
    Process and database state.
    """

    status: Annotated[Literal["ok", "unavailable"], Field(title="Status")]


class ImageOut(BaseModel):
    """
    An item's photo: its URLs (with its version: cacheable for good) and what it is.
    """

    url: Annotated[str, Field(title="Url")]
    thumbnail_url: Annotated[str, Field(title="Thumbnail Url")]
    width: Annotated[int, Field(title="Width")]
    height: Annotated[int, Field(title="Height")]
    content_type: Annotated[str, Field(title="Content Type")]
    bytes: Annotated[int, Field(title="Bytes")]
    etag: Annotated[str, Field(title="Etag")]


class ItemBriefOut(BaseModel):
    """
    An item as embedded in a store.
    """

    id: Annotated[int, Field(title="Id")]
    name: Annotated[str, Field(title="Name")]
    price: Annotated[Decimal, Field(ge=0, le=999999999.99, title="Price")]
    quantity: Annotated[int, Field(title="Quantity")]


class JobOut(BaseModel):
    """
    A job: queued, running, succeeded or failed (after its retries), with its result.
    """

    id: Annotated[int, Field(title="Id")]
    kind: Annotated[str, Field(title="Kind")]
    status: Annotated[Literal["queued", "running", "succeeded", "failed"], Field(title="Status")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    started_at: Annotated[AwareDatetime | None, Field(title="Started At")]
    finished_at: Annotated[AwareDatetime | None, Field(title="Finished At")]
    result: Annotated[dict[str, Any] | None, Field(title="Result")]


class MemberOut(BaseModel):
    """
    Someone on a store's team: its owner (role `owner`), a manager or staff.
    """

    user_id: Annotated[int, Field(title="User Id")]
    username: Annotated[str, Field(title="Username")]
    role: Annotated[Literal["owner", "manager", "staff"], Field(title="Role")]
    added_at: Annotated[AwareDatetime, Field(title="Added At")]


class PermissionsOut(BaseModel):
    """
    What the caller may do in a store.
    """

    role: Annotated[
        str | None,
        Field(
            description="Your role here: `owner`, `manager` or `staff`; null without one.",
            title="Role",
        ),
    ]
    is_admin: Annotated[
        bool,
        Field(
            description="Whether the caller is an admin, who may do everything.",
            title="Is Admin",
        ),
    ]
    actions: Annotated[
        list[str],
        Field(
            description="The actions the caller may take here, e.g. `item.write` (docs/api.md).",
            title="Actions",
        ),
    ]


class Problem(BaseModel):
    """
    An RFC 9457 problem detail.
    """

    type: Annotated[str | None, Field(title="Type")] = "about:blank"
    title: Annotated[str, Field(title="Title")]
    status: Annotated[int, Field(title="Status")]
    detail: Annotated[str, Field(title="Detail")]


class RefOut(BaseModel):
    """
    A short reference: id and name.
    """

    id: Annotated[int, Field(title="Id")]
    name: Annotated[str, Field(title="Name")]


class ResourceOut(BaseModel):
    """
    What an event is about.
    """

    type: Annotated[str, Field(title="Type")]
    id: Annotated[int, Field(title="Id")]


class StoreOut(BaseModel):
    """
    A store with its first 50 items and first 50 tags (by id).
    """

    id: Annotated[int, Field(title="Id")]
    name: Annotated[str, Field(title="Name")]
    owner_id: Annotated[int | None, Field(title="Owner Id")]
    item_count: Annotated[int, Field(title="Item Count")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    updated_at: Annotated[AwareDatetime, Field(title="Updated At")]
    items: Annotated[list[ItemBriefOut], Field(title="Items")]
    tags: Annotated[list[RefOut], Field(title="Tags")]


class StoreSummaryOut(BaseModel):
    """
    A store in a list.
    """

    id: Annotated[int, Field(title="Id")]
    name: Annotated[str, Field(title="Name")]
    owner_id: Annotated[int | None, Field(title="Owner Id")]
    item_count: Annotated[int, Field(title="Item Count")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    updated_at: Annotated[AwareDatetime, Field(title="Updated At")]


class TagItemOut(BaseModel):
    """
    An item as embedded in a tag.
    """

    id: Annotated[int, Field(title="Id")]
    name: Annotated[str, Field(title="Name")]
    price: Annotated[Decimal, Field(ge=0, le=999999999.99, title="Price")]


class TagOut(BaseModel):
    """
    A tag.
    """

    id: Annotated[int, Field(title="Id")]
    name: Annotated[str, Field(title="Name")]
    store_id: Annotated[int, Field(title="Store Id")]


class TokensOut(BaseModel):
    """
    The tokens of a new session.
    """

    access_token: Annotated[str, Field(title="Access Token")]
    refresh_token: Annotated[str, Field(title="Refresh Token")]
    token_type: Annotated[Literal["Bearer"], Field(title="Token Type")] = "Bearer"
    expires_in: Annotated[int, Field(title="Expires In")]


class TrashedItemOut(BaseModel):
    """
    An item in its store's trash: as it was, with when and by whom it was deleted.
    """

    id: Annotated[int, Field(title="Id")]
    name: Annotated[str, Field(title="Name")]
    price: Annotated[Decimal, Field(ge=0, le=999999999.99, title="Price")]
    quantity: Annotated[int, Field(title="Quantity")]
    description: Annotated[str, Field(title="Description")]
    store_id: Annotated[int, Field(title="Store Id")]
    store: RefOut
    tags: Annotated[list[RefOut], Field(title="Tags")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    updated_at: Annotated[AwareDatetime, Field(title="Updated At")]
    image: ImageOut | None
    deleted_at: Annotated[AwareDatetime, Field(title="Deleted At")]
    deleted_by: Annotated[
        int | None,
        Field(
            description="The user who deleted it; null once that user is deleted.",
            title="Deleted By",
        ),
    ]


class UserCreatedOut(BaseModel):
    """
    A registered user.
    """

    id: Annotated[int, Field(title="Id")]
    username: Annotated[str, Field(title="Username")]


class UserOut(BaseModel):
    """
    A user, as seen by themself or an admin.
    """

    id: Annotated[int, Field(title="Id")]
    username: Annotated[str, Field(title="Username")]
    email: Annotated[str | None, Field(title="Email")]
    email_verified: Annotated[bool, Field(title="Email Verified")]
    is_admin: Annotated[bool, Field(title="Is Admin")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]


class ValidationProblem(BaseModel):
    """
    A 422 problem naming each offending field.
    """

    type: Annotated[str | None, Field(title="Type")] = "about:blank"
    title: Annotated[str, Field(title="Title")]
    status: Annotated[int, Field(title="Status")]
    detail: Annotated[str, Field(title="Detail")]
    errors: Annotated[dict[str, list[str]], Field(title="Errors")]


class WebhookOut(BaseModel):
    """
    A store's webhook; its secret is shown only when made (create, rotate).
    """

    id: Annotated[int, Field(title="Id")]
    store_id: Annotated[int, Field(title="Store Id")]
    url: Annotated[str, Field(title="Url")]
    description: Annotated[str, Field(title="Description")]
    events: Annotated[list[str], Field(title="Events")]
    enabled: Annotated[bool, Field(title="Enabled")]
    disabled_reason: Annotated[
        str | None,
        Field(
            description="Why delivery turned it off: `gone` (the receiver answered 410) or `failing` (failures for 3 days); null when enabled or turned off by a user.",
            title="Disabled Reason",
        ),
    ]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    updated_at: Annotated[AwareDatetime, Field(title="Updated At")]


class WebhookSecretOut(BaseModel):
    """
    A webhook with its new secret: this answer is the only one that shows it.
    """

    id: Annotated[int, Field(title="Id")]
    store_id: Annotated[int, Field(title="Store Id")]
    url: Annotated[str, Field(title="Url")]
    description: Annotated[str, Field(title="Description")]
    events: Annotated[list[str], Field(title="Events")]
    enabled: Annotated[bool, Field(title="Enabled")]
    disabled_reason: Annotated[
        str | None,
        Field(
            description="Why delivery turned it off: `gone` (the receiver answered 410) or `failing` (failures for 3 days); null when enabled or turned off by a user.",
            title="Disabled Reason",
        ),
    ]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    updated_at: Annotated[AwareDatetime, Field(title="Updated At")]
    secret: Annotated[
        str,
        Field(
            description="`whsec_` and the base64 of 32 random bytes (Standard Webhooks): the HMAC-SHA256 key of `webhook-signature` is the base64-decoded part after `whsec_`.",
            title="Secret",
        ),
    ]


class EventOut(BaseModel):
    """
    One change of the store's data: what, by whom, in which request, and its fields'
    values before and after.
    """

    id: Annotated[int, Field(title="Id")]
    type: Annotated[str, Field(title="Type")]
    actor_id: Annotated[int | None, Field(title="Actor Id")]
    actor: ActorOut | None
    resource: ResourceOut
    changes: Annotated[dict[str, Any], Field(title="Changes")]
    request_id: Annotated[str | None, Field(title="Request Id")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]


class ItemOut(BaseModel):
    """
    An item.
    """

    id: Annotated[int, Field(title="Id")]
    name: Annotated[str, Field(title="Name")]
    price: Annotated[Decimal, Field(ge=0, le=999999999.99, title="Price")]
    quantity: Annotated[int, Field(title="Quantity")]
    description: Annotated[str, Field(title="Description")]
    store_id: Annotated[int, Field(title="Store Id")]
    store: RefOut
    tags: Annotated[list[RefOut], Field(title="Tags")]
    created_at: Annotated[AwareDatetime, Field(title="Created At")]
    updated_at: Annotated[AwareDatetime, Field(title="Updated At")]
    image: ImageOut | None


class TagDetailOut(BaseModel):
    """
    A tag with the first 50 items it labels (by id); all of them at /item?tag={id}.
    """

    id: Annotated[int, Field(title="Id")]
    name: Annotated[str, Field(title="Name")]
    store_id: Annotated[int, Field(title="Store Id")]
    items: Annotated[list[TagItemOut], Field(title="Items")]
