"""A store's webhooks: subscriptions to its events, POSTed to a URL the store's managers give.

A webhook names the event types it wants (the history's vocabulary, domain/events.py) or
`*` for all. Each event of a subscribed type gets a chain of delivery attempts, started in the
transaction that writes the event (db/events.py), so a committed change is delivered at least
once and a rolled-back one never. Attempts are recorded one row each (`Delivery`); a job drives
each chain (background/webhook_delivery.py). Changes of webhooks are store events themselves
(`webhook.created`, ...), whose changes never hold a secret.

The secret signs deliveries (Standard Webhooks): shown once, when made (create or rotate), and
never again, never logged, never in an event. A rotated-out secret keeps signing for 24 hours.
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from storekeeper.domain import events
from storekeeper.domain.catalog import (
    CatalogRepository,
    Guard,
    check_guard,
    record,
    require_actor,
    store_access,
)
from storekeeper.domain.errors import Conflict, Invalid, NotFound
from storekeeper.domain.events import EventType
from storekeeper.domain.model import Actor, Page, PageRequest
from storekeeper.domain.policy import Action, authorize
from storekeeper.domain.ports import Slot

MAX_URL_CHARS = 2048
MAX_DESCRIPTION_CHARS = 200
# Each webhook costs a delivery chain per event: a store's writes stay bounded in work.
MAX_WEBHOOKS_PER_STORE = 20
SECRET_PREFIX = "whsec_"  # noqa: S105 (a prefix, no secret)
# Standard Webhooks asks for 24 to 64 random bytes; 32 is HMAC-SHA256's own key size.
SECRET_BYTES = 32
# How long a rotated-out secret keeps signing, so receivers can switch without losing events.
PREVIOUS_SECRET_TTL = timedelta(hours=24)
ALL_EVENTS = "*"
PING = "webhook.ping"
# The job that drives a chain of delivery attempts; its payload is {"delivery_id": id}.
DELIVER_JOB = "webhook.deliver"

DeliveryStatus = Literal["pending", "succeeded", "failed"]
DELIVERY_STATUSES: tuple[DeliveryStatus, ...] = ("pending", "succeeded", "failed")
# Why delivery turned a webhook off: a 410 from the receiver, or failures for days.
DisabledReason = Literal["gone", "failing"]


@dataclass(frozen=True, slots=True)
class Webhook:
    """A webhook as stored; its secrets never show in a repr (nor so in a log)."""

    id: int
    store_id: int
    url: str
    description: str
    events: tuple[str, ...]
    enabled: bool
    disabled_reason: str | None
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    secret: str = field(repr=False)
    previous_secret: str | None = field(default=None, repr=False)
    previous_secret_expires_at: datetime | None = None
    failing_since: datetime | None = None
    sending_until: datetime | None = None

    def signing_secrets(self, now: datetime) -> list[str]:
        """The secrets that sign a delivery now: the current one, and the previous one for
        its last 24 hours."""
        previous, expires = self.previous_secret, self.previous_secret_expires_at
        if previous is not None and expires is not None and expires > now:
            return [self.secret, previous]
        return [self.secret]


@dataclass(frozen=True, slots=True)
class Delivery:
    """One attempt to deliver an event (or a ping, event_id None) to a webhook."""

    id: int
    webhook_id: int
    event_id: int | None
    type: str
    job_id: int | None
    attempt: int
    status: DeliveryStatus
    response_status: int | None
    duration_ms: int | None
    error: str | None
    next_attempt_at: datetime | None
    created_at: datetime
    attempted_at: datetime | None


@dataclass(frozen=True, slots=True)
class NewWebhook:
    """A webhook as a client asks for it (already checked: see `new_webhook`)."""

    url: str
    events: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True, slots=True)
class WebhookChange:
    """A PATCH of a webhook: the fields given, and whether to make a new secret."""

    url: str | None = None
    events: tuple[str, ...] | None = None
    description: str | None = None
    enabled: bool | None = None
    rotate_secret: bool = False


@dataclass(frozen=True, slots=True)
class DeliveryQuery:
    """A page of one webhook's deliveries, newest first, with its filters."""

    webhook_id: int
    page: PageRequest[Any]
    event_id: int | None = None
    status: DeliveryStatus | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    """What one attempt came to, as delivery records it on its row."""

    status: Literal["succeeded", "failed"]
    response_status: int | None
    duration_ms: int | None
    error: str | None
    attempted_at: datetime
    # When the next attempt is due (a failure that will be retried); None otherwise.
    next_attempt_at: datetime | None = None


class WebhookRepository(Protocol):
    """A store's webhooks and their deliveries inside one unit of work."""

    # Webhooks

    def count_webhooks(self, store_id: int) -> int: ...
    def list_webhooks(self, store_id: int, page: PageRequest[Any]) -> Page[Webhook]:
        """A page of the store's webhooks by id."""
        ...

    def get_webhook(self, webhook_id: int) -> Webhook | None: ...
    def lock_webhook(self, webhook_id: int) -> None:
        """Hold the webhook's row until the transaction ends (a read-modify-write)."""
        ...

    def lock_store_webhooks(self, store_id: int) -> None:
        """Serialise additions of webhooks to one store, so its limit holds under races."""
        ...

    def add_webhook(
        self, store_id: int, new: NewWebhook, secret: str, created_by: int | None
    ) -> int: ...
    def save_webhook(self, webhook: Webhook) -> None:
        """Write a webhook's url, description, events, enabled state and secrets as given
        (not its lease: delivery alone moves that), with updated_at now."""
        ...

    def delete_webhook(self, webhook_id: int) -> None: ...

    # Deliveries, read

    def page_deliveries(self, query: DeliveryQuery) -> Page[Delivery]:
        """A page of the webhook's deliveries, newest (highest id) first."""
        ...

    def get_delivery(self, webhook_id: int, delivery_id: int) -> Delivery | None: ...

    # Deliveries, written

    def start_chain(self, webhook_id: int, event_id: int | None, type_: str) -> Delivery:
        """A first, pending attempt due now, and the job that drives it (same transaction)."""
        ...

    def pending_of_job(self, job_id: int) -> Delivery | None:
        """The latest pending attempt of the chain this job drives, if any."""
        ...

    def record_attempt(self, delivery_id: int, attempt: Attempt) -> bool:
        """Record the outcome on a pending row; False when it is no longer pending."""
        ...

    def due_pending(self, webhook_id: int, now: datetime, limit: int) -> list[Delivery]:
        """The webhook's pending attempts due by now, oldest first (a lease holder sends them
        in order)."""
        ...

    def add_attempt(self, previous: Delivery, due: datetime) -> Delivery:
        """The next pending attempt of the same chain (same job), due then."""
        ...

    def fail_pending(self, webhook_id: int, error: str, now: datetime) -> int:
        """Mark every pending attempt of the webhook failed, with no retry; how many."""
        ...

    def purge_deliveries(self, created_before: datetime, limit: int) -> int:
        """Delete up to `limit` deliveries created before then; how many."""
        ...

    # Delivery's state on the webhook

    def take_lease(self, webhook_id: int, now: datetime, until: datetime) -> bool:
        """Take the webhook's sending lease when free or ended; False when another holds it."""
        ...

    def release_lease(self, webhook_id: int, until: datetime) -> None:
        """Give back the lease taken until then (a lease taken over since is left alone)."""
        ...

    def disable(self, webhook_id: int, reason: DisabledReason, now: datetime) -> None: ...
    def mark_failing(self, webhook_id: int, now: datetime) -> datetime:
        """Set failing_since when not set; failing_since as it now is."""
        ...

    def clear_failing(self, webhook_id: int) -> None: ...


WEBHOOKS: Slot[WebhookRepository] = Slot("webhooks")


class Destinations(Protocol):
    """Whether a URL may receive deliveries (storekeeper/webhooks/addresses.py)."""

    def check(self, url: str) -> str | None:
        """None when acceptable, else why not (for the client)."""
        ...


@dataclass(frozen=True, slots=True)
class Prechecked:
    """Destinations with the verdicts on some URLs taken beforehand: a check looks a host name
    up, which may take seconds, so a request takes it before its transaction opens (a SQLite
    write transaction holds every other writer meanwhile)."""

    destinations: Destinations
    verdicts: dict[str, str | None]

    @classmethod
    def of(cls, destinations: Destinations, *urls: str | None) -> Prechecked:
        """The verdicts on these URLs (None ones skipped), taken now."""
        return cls(destinations, {u: destinations.check(u) for u in urls if u is not None})

    def check(self, url: str) -> str | None:
        """The verdict taken beforehand, or a new one for a URL not checked then."""
        if url in self.verdicts:
            return self.verdicts[url]
        return self.destinations.check(url)


# Rules


def new_secret() -> str:
    """A fresh signing secret: `whsec_` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode("ascii")


def subscribed(wanted: Sequence[str], type_: str) -> bool:
    """Whether a webhook wanting these event types gets an event of this type."""
    return ALL_EVENTS in wanted or type_ in wanted


def event_types() -> list[str]:
    """Every type a webhook may subscribe to, as the history names them."""
    return [str(t) for t in EventType]


def url_errors(url: str, destinations: Destinations) -> list[str]:
    """Why a URL is refused (none when accepted): its length, then the destination's rules."""
    if not url:
        return ["must not be empty"]
    if len(url) > MAX_URL_CHARS:
        return [f"must be at most {MAX_URL_CHARS} characters"]
    reason = destinations.check(url)
    return [] if reason is None else [reason]


def description_errors(description: str) -> list[str]:
    """Why a description is refused (none when accepted)."""
    if len(description) > MAX_DESCRIPTION_CHARS:
        return [f"must be at most {MAX_DESCRIPTION_CHARS} characters"]
    return []


def normal_events(wanted: Sequence[str]) -> tuple[tuple[str, ...], list[str]]:
    """The event types as stored (sorted, unique; or ("*",)) and why they are refused."""
    if not wanted:
        return (), ["must name at least one event type, or '*' for all"]
    known = set(event_types())
    unknown = sorted({t for t in wanted if t != ALL_EVENTS and t not in known})
    if unknown:
        return (), [f"unknown event type: {t}" for t in unknown]
    if ALL_EVENTS in wanted:
        if len(set(wanted)) > 1:
            return (), ["'*' stands alone: it already means every event type"]
        return (ALL_EVENTS,), []
    return tuple(sorted(set(wanted))), []


def _checked(
    destinations: Destinations,
    url: str | None,
    wanted: Sequence[str] | None,
    description: str | None,
) -> tuple[str, ...] | None:
    """The normal form of the event types given; Invalid naming every refused field."""
    errors: dict[str, list[str]] = {}
    normal: tuple[str, ...] | None = None
    if url is not None and (problems := url_errors(url, destinations)):
        errors["url"] = problems
    if wanted is not None:
        normal, problems = normal_events(wanted)
        if problems:
            errors["events"] = problems
    if description is not None and (problems := description_errors(description)):
        errors["description"] = problems
    if errors:
        raise Invalid(errors)
    return normal


def _state(webhook: Webhook) -> dict[str, Any]:
    """The fields of a webhook its events compare: never a secret."""
    return {
        "url": webhook.url,
        "description": webhook.description,
        "events": list(webhook.events),
        "enabled": webhook.enabled,
    }


# Use cases


def _webhook(hooks: WebhookRepository, webhook_id: int) -> Webhook:
    found = hooks.get_webhook(webhook_id)
    if found is None:
        raise NotFound("No webhook with this id.")
    return found


def webhook_access(
    repo: CatalogRepository,
    hooks: WebhookRepository,
    actor: Actor | None,
    webhook_id: int,
    action: Action,
) -> Webhook:
    """A webhook the actor may take the action on (401, 404, or 403 for a role that may not:
    a store and its team are no secret, as items are not)."""
    who = require_actor(actor)
    webhook = _webhook(hooks, webhook_id)
    exists, role = repo.store_role(webhook.store_id, who.user_id)
    if not exists:  # the store went while we read: the webhook went with it
        raise NotFound("No webhook with this id.")
    authorize(who, role, action)
    return webhook


def list_webhooks(
    repo: CatalogRepository,
    hooks: WebhookRepository,
    actor: Actor | None,
    store_id: int,
    page: PageRequest[Any],
) -> Page[Webhook]:
    """A page of a store's webhooks, for its managers."""
    store_access(repo, actor, store_id, Action.WEBHOOK_READ)
    return hooks.list_webhooks(store_id, page)


def get_webhook(
    repo: CatalogRepository, hooks: WebhookRepository, actor: Actor | None, webhook_id: int
) -> Webhook:
    """One webhook, for its store's managers."""
    return webhook_access(repo, hooks, actor, webhook_id, Action.WEBHOOK_READ)


def create_webhook(
    repo: CatalogRepository,
    hooks: WebhookRepository,
    destinations: Destinations,
    actor: Actor | None,
    store_id: int,
    url: str,
    wanted: Sequence[str],
    description: str = "",
) -> Webhook:
    """Subscribe a URL to a store's events; the answer alone carries the new secret."""
    store_access(repo, actor, store_id, Action.WEBHOOK_MANAGE)
    normal = _checked(destinations, url, wanted, description)
    assert normal is not None
    hooks.lock_store_webhooks(store_id)
    if hooks.count_webhooks(store_id) >= MAX_WEBHOOKS_PER_STORE:
        raise Conflict(
            f"A store has at most {MAX_WEBHOOKS_PER_STORE} webhooks; delete one to add another."
        )
    who = require_actor(actor)
    webhook_id = hooks.add_webhook(
        store_id, NewWebhook(url, normal, description), new_secret(), who.user_id
    )
    made = _webhook(hooks, webhook_id)
    changes = events.created(_state(made))
    record(repo, actor, store_id, EventType.WEBHOOK_CREATED, ("webhook", webhook_id), changes)
    return made


def change_webhook(
    repo: CatalogRepository,
    hooks: WebhookRepository,
    destinations: Destinations,
    actor: Actor | None,
    webhook_id: int,
    change: WebhookChange,
    now: datetime,
    guard: Guard = None,
) -> Webhook:
    """Change a webhook's fields, turn it on or off, or rotate its secret (the answer alone
    carries the new one; the old one keeps signing for 24 hours)."""
    webhook_access(repo, hooks, actor, webhook_id, Action.WEBHOOK_MANAGE)
    # Locked before it is read: the event's old values are the ones this change replaced.
    hooks.lock_webhook(webhook_id)
    before = _webhook(hooks, webhook_id)
    check_guard(guard)
    normal = _checked(destinations, change.url, change.events, change.description)
    after = replace(
        before,
        url=before.url if change.url is None else change.url,
        events=before.events if normal is None else normal,
        description=before.description if change.description is None else change.description,
    )
    if change.enabled is not None and change.enabled != before.enabled:
        # Turned on again: failures start counting afresh. Turned off by a user: no reason.
        after = replace(after, enabled=change.enabled, disabled_reason=None, failing_since=None)
    if change.rotate_secret:
        after = replace(
            after,
            secret=new_secret(),
            previous_secret=before.secret,
            previous_secret_expires_at=now + PREVIOUS_SECRET_TTL,
        )
    changes = events.diff(_state(before), _state(after))
    if change.rotate_secret:
        # That it changed, never what it was or is.
        changes["secret"] = ["rotated", "rotated"]
    if not changes:  # the same values again change nothing: no write, no event
        return before
    hooks.save_webhook(after)
    record(
        repo, actor, before.store_id, EventType.WEBHOOK_UPDATED, ("webhook", webhook_id), changes
    )
    return _webhook(hooks, webhook_id)


def delete_webhook(
    repo: CatalogRepository,
    hooks: WebhookRepository,
    actor: Actor | None,
    webhook_id: int,
    guard: Guard = None,
) -> None:
    """Delete a webhook with its deliveries; pending ones are not sent."""
    webhook = webhook_access(repo, hooks, actor, webhook_id, Action.WEBHOOK_MANAGE)
    check_guard(guard)
    hooks.delete_webhook(webhook_id)
    changes = events.deleted(_state(webhook))
    record(
        repo, actor, webhook.store_id, EventType.WEBHOOK_DELETED, ("webhook", webhook_id), changes
    )


def list_deliveries(
    repo: CatalogRepository,
    hooks: WebhookRepository,
    actor: Actor | None,
    query: DeliveryQuery,
) -> Page[Delivery]:
    """A page of a webhook's delivery attempts, newest first."""
    webhook_access(repo, hooks, actor, query.webhook_id, Action.WEBHOOK_READ)
    return hooks.page_deliveries(query)


def get_delivery(
    repo: CatalogRepository,
    hooks: WebhookRepository,
    actor: Actor | None,
    webhook_id: int,
    delivery_id: int,
) -> Delivery:
    """One delivery attempt of a webhook."""
    webhook_access(repo, hooks, actor, webhook_id, Action.WEBHOOK_READ)
    found = hooks.get_delivery(webhook_id, delivery_id)
    if found is None:
        raise NotFound("No delivery with this id for this webhook.")
    return found


def redeliver(
    repo: CatalogRepository,
    hooks: WebhookRepository,
    actor: Actor | None,
    webhook_id: int,
    delivery_id: int,
) -> Delivery:
    """Deliver a delivery's event (or ping) again: a new chain of attempts, due now. A
    disabled webhook is turned on first (a 409 says so)."""
    webhook = webhook_access(repo, hooks, actor, webhook_id, Action.WEBHOOK_MANAGE)
    found = hooks.get_delivery(webhook_id, delivery_id)
    if found is None:
        raise NotFound("No delivery with this id for this webhook.")
    _require_enabled(webhook)
    return hooks.start_chain(webhook_id, found.event_id, found.type)


def ping(
    repo: CatalogRepository, hooks: WebhookRepository, actor: Actor | None, webhook_id: int
) -> Delivery:
    """Send a `webhook.ping` to check the receiver: a new chain of attempts, due now."""
    webhook = webhook_access(repo, hooks, actor, webhook_id, Action.WEBHOOK_MANAGE)
    _require_enabled(webhook)
    return hooks.start_chain(webhook_id, None, PING)


def _require_enabled(webhook: Webhook) -> None:
    # A disabled webhook's pending attempts fail unsent: queuing one would only fail.
    if not webhook.enabled:
        raise Conflict("This webhook is disabled; enable it (PATCH enabled: true) first.")
