"""Mapped tables: every uniqueness, reference and range rule of the contract is a constraint."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    Dialect,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite only auto-assigns ids to a column declared exactly INTEGER PRIMARY KEY.
Id = BigInteger().with_variant(Integer(), "sqlite")
# Names are compared byte-wise on every database, so sort order and keyset pages agree.
Key = String(320).with_variant(String(320, collation="C"), "postgresql")


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    @property
    def python_type(self) -> type[datetime]:
        return datetime

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return utc_datetime(value)


def utc_datetime(value: datetime | str | None) -> datetime | None:
    """A stored timestamp as a UTC datetime: SQLite's text (naive UTC) or a driver's datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# Where a uniqueness rule is defined, so is what its violation means to a client: see
# db/constraints.py, which reads it from the metadata.
CONFLICT = "storekeeper_conflict"


def conflict(message: str) -> dict[str, str]:
    """A constraint's `info`: the domain's message when a write violates it (a 409)."""
    return {CONFLICT: message}


_RACED_ID = conflict("An item with this id was created at the same moment; retry the request.")
_KEY_IN_FLIGHT = conflict("A request with this Idempotency-Key is still in flight.")


def utcnow() -> datetime:
    """Now, in UTC, to the microsecond."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    """Declarative base with the constraint naming convention Alembic relies on."""

    metadata = MetaData(naming_convention=NAMING)


class User(Base):
    """An account; owns stores."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint("length(username) BETWEEN 3 AND 40", name="username_length"),
        CheckConstraint("email IS NULL OR length(email) <= 254", name="email_length"),
        UniqueConstraint("username_key", info=conflict("This username is taken.")),
        UniqueConstraint("email_key", info=conflict("This email address is already registered.")),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    username: Mapped[str] = mapped_column(String(40))
    username_key: Mapped[str] = mapped_column(Key)
    email: Mapped[str | None] = mapped_column(String(254))
    email_key: Mapped[str | None] = mapped_column(Key)
    password_hash: Mapped[str] = mapped_column(String(255))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Every token carries the stamp it was issued under and is refused once the stamp has
    # changed: a change of credentials (a password reset, a restore) ends every session at
    # once, and sessions are not stored, so there is no list of them to revoke.
    credential_stamp: Mapped[str] = mapped_column(String(64))
    # A password change ends every session but the one that made it: that session keeps the
    # stamp its tokens carry (domain/model.py ActorState), until the next change of credentials.
    kept_session_id: Mapped[str | None] = mapped_column(String(64))
    kept_stamp: Mapped[str | None] = mapped_column(String(64))
    # Set when the address's verification link was used; cleared when the address changes.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class UserToken(Base):
    """A single-use token emailed to a user (address verification, password reset).

    Only a hash is kept: the token itself exists in the email alone, and a token is used by one
    conditional update, so two uses at once cannot both succeed.
    """

    __tablename__ = "user_tokens"
    __table_args__ = (
        CheckConstraint("purpose IN ('verify_email', 'password_reset')", name="purpose"),
        UniqueConstraint("token_hash"),
        Index("ix_user_tokens_user_id_purpose", "user_id", "purpose"),
        Index("ix_user_tokens_expires_at", "expires_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("users.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64))
    # The address the token was sent to: a verification link proves this address only.
    email_key: Mapped[str | None] = mapped_column(Key)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Job(Base):
    """Work a request decided, written in its transaction: the outbox and the job's record.

    The queue only carries a job's id; this row says whether it still has to run, who runs it
    now (a lease), how often it failed and when to try again (domain/jobs.py).
    """

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'succeeded', 'failed')", name="status"),
        Index("ix_jobs_status_run_after", "status", "run_after"),
        Index("ix_jobs_user_id", "user_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    # The task's input (JSON). Never a secret: tokens are made by the task itself.
    payload: Mapped[str] = mapped_column(Text)
    # Who started it (GET /job/{id}); kept when the user is deleted, as history.
    user_id: Mapped[int | None] = mapped_column(Id)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Not to be run before this (a retry's back-off).
    run_after: Mapped[datetime] = mapped_column(UTCDateTime())
    # When it was last handed to the queue: the sweep hands again what was lost on the way.
    handed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # While running: the runner's claim ends then, and another runner may take the job.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    result: Mapped[str | None] = mapped_column(Text)
    # The last failure's one-line reason, for an operator (`storekeeper jobs`).
    last_error: Mapped[str | None] = mapped_column(Text)


class RevokedSession(Base):
    """A logged-out session: its tokens are refused until they would have expired anyway."""

    __tablename__ = "revoked_sessions"

    session_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Id)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class Store(Base):
    """A store; owns its items and tags."""

    __tablename__ = "stores"
    __table_args__ = (
        CheckConstraint("length(name) BETWEEN 1 AND 80", name="name_length"),
        UniqueConstraint("name_key", info=conflict("A store with this name already exists.")),
        # Names that look alike are one name (domain/names.py); name_key stays for sorting and
        # filtering, and its own constraint never fires first: equal keys have equal skeletons.
        # A unique index, not a constraint: SQLite adds only indexes to a table in place, and
        # migration 0011 must not rebuild `stores` (items and tags refer to it).
        Index(
            "uq_stores_name_skeleton",
            "name_skeleton",
            unique=True,
            info=conflict("A store with this name, or one that looks the same, already exists."),
        ),
        Index("ix_stores_name_key_id", "name_key", "id"),
        Index("ix_stores_created_at_id", "created_at", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(Key)
    # SHA-256 (hex) of the name's look-alike key: domain/names.py look_alike_digest.
    name_skeleton: Mapped[str] = mapped_column(String(64))
    owner_id: Mapped[int] = mapped_column(
        Id, ForeignKey("users.id", ondelete="RESTRICT"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StoreItemCount(Base):
    """One slot of a store's count of live items: the store's count is the sum of its slots.

    Kept by the repository in the same transaction as every item insert, move, delete and
    restore, each adding its change to one slot. On PostgreSQL concurrent writers add to
    different slots, so creates into one store do not queue on one row's lock
    (db/catalog.py, count_items). A slot alone means nothing and may be negative.
    """

    __tablename__ = "store_item_counts"

    store_id: Mapped[int] = mapped_column(
        Id, ForeignKey("stores.id", ondelete="CASCADE"), primary_key=True
    )
    slot: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)


class StoreMember(Base):
    """A user on a store's team, other than its owner, with their role there.

    The owner is no row here (stores.owner_id says who it is), so there is one owner per store
    by construction. A membership goes with its store and with its user: a user who is only a
    member of stores may delete their account (the 409 is for owned stores alone).
    """

    __tablename__ = "store_members"
    __table_args__ = (
        CheckConstraint("role IN ('manager', 'staff')", name="role"),
        UniqueConstraint(
            "store_id", "user_id", info=conflict("This user is already on the store's team.")
        ),
        # GET /store?member=me and the deletion of a user look members up by user.
        Index("ix_store_members_user_id_store_id", "user_id", "store_id"),
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    store_id: Mapped[int] = mapped_column(Id, ForeignKey("stores.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(Id, ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    added_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Item(Base):
    """An item for sale in one store; price in exact cents."""

    __tablename__ = "items"
    __table_args__ = (
        # A client-chosen id (PUT) that a concurrent create took first.
        PrimaryKeyConstraint("id", info=_RACED_ID),
        # Names are unique among a store's live items only: an item in the trash leaves its
        # name free (a partial index, on both databases), and a restore checks it again.
        Index(
            "ux_items_store_id_name_key_live",
            "store_id",
            "name_key",
            unique=True,
            sqlite_where=text("deleted_at IS NULL"),
            postgresql_where=text("deleted_at IS NULL"),
            info=conflict("An item with this name already exists in this store."),
        ),
        UniqueConstraint("id", "store_id"),
        CheckConstraint("length(name) BETWEEN 1 AND 80", name="name_length"),
        CheckConstraint("price_cents BETWEEN 0 AND 99999999999", name="price_range"),
        CheckConstraint("quantity BETWEEN 0 AND 2147483647", name="quantity_range"),
        CheckConstraint("length(description) <= 2000", name="description_length"),
        Index("ix_items_name_key_id", "name_key", "id"),
        Index("ix_items_price_cents_id", "price_cents", "id"),
        Index("ix_items_created_at_id", "created_at", "id"),
        Index("ix_items_store_id_id", "store_id", "id"),
        # A store's trash, newest deletion first; and the purge's oldest deletions. Both hold
        # trashed rows only, so they cost nothing for the live catalog.
        Index(
            "ix_items_trash",
            "store_id",
            "deleted_at",
            "id",
            sqlite_where=text("deleted_at IS NOT NULL"),
            postgresql_where=text("deleted_at IS NOT NULL"),
        ),
        Index(
            "ix_items_deleted_at",
            "deleted_at",
            sqlite_where=text("deleted_at IS NOT NULL"),
            postgresql_where=text("deleted_at IS NOT NULL"),
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id)
    store_id: Mapped[int] = mapped_column(Id, ForeignKey("stores.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(Key)
    price_cents: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set while the item is in its store's trash (db/trash.py); every read of the catalog
    # sees live items only (db/catalog.py LIVE).
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Who put it there; kept as NULL when that user is deleted.
    deleted_by: Mapped[int | None] = mapped_column(Id, ForeignKey("users.id", ondelete="SET NULL"))


class ImageBlob(Base):
    """A photo's re-encoded bytes, kept once under their SHA-256 however many items show them."""

    __tablename__ = "image_blobs"
    __table_args__ = (
        CheckConstraint(
            "content_type IN ('image/jpeg', 'image/png', 'image/webp')", name="content_type"
        ),
        CheckConstraint("width > 0 AND height > 0", name="dimensions"),
    )

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    content_type: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    byte_count: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ImageVariant(Base):
    """A smaller copy of a stored photo, made by a job; it goes with its photo."""

    __tablename__ = "image_variants"
    __table_args__ = (
        PrimaryKeyConstraint("source_sha256", "size"),
        CheckConstraint("size IN ('thumb', 'medium')", name="size"),
    )

    source_sha256: Mapped[str] = mapped_column(
        String(64), ForeignKey("image_blobs.sha256", ondelete="CASCADE")
    )
    size: Mapped[str] = mapped_column(String(8))
    sha256: Mapped[str] = mapped_column(String(64))
    content_type: Mapped[str] = mapped_column(String(16))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    byte_count: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)


class ItemImage(Base):
    """Which photo an item shows: one at most; it goes with its item."""

    __tablename__ = "item_images"

    item_id: Mapped[int] = mapped_column(
        Id, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True
    )
    # RESTRICT: a photo's bytes go only once no item shows them (db/images.py).
    sha256: Mapped[str] = mapped_column(
        String(64), ForeignKey("image_blobs.sha256", ondelete="RESTRICT"), index=True
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Tag(Base):
    """A label belonging to one store."""

    __tablename__ = "tags"
    __table_args__ = (
        UniqueConstraint(
            "store_id",
            "name_key",
            info=conflict("A tag with this name already exists in this store."),
        ),
        UniqueConstraint("id", "store_id"),
        CheckConstraint("length(name) BETWEEN 1 AND 80", name="name_length"),
        Index("ix_tags_store_id_id", "store_id", "id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    store_id: Mapped[int] = mapped_column(Id, ForeignKey("stores.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    name_key: Mapped[str] = mapped_column(Key)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ItemTag(Base):
    """An item labelled with a tag; both must be of the same store (composite references)."""

    __tablename__ = "item_tags"
    __table_args__ = (
        ForeignKeyConstraint(
            ["item_id", "store_id"], ["items.id", "items.store_id"], ondelete="CASCADE"
        ),
        ForeignKeyConstraint(["tag_id", "store_id"], ["tags.id", "tags.store_id"]),
        Index("ix_item_tags_tag_id_item_id", "tag_id", "item_id"),
        Index("ix_item_tags_store_id", "store_id"),
    )

    item_id: Mapped[int] = mapped_column(Id, primary_key=True)
    tag_id: Mapped[int] = mapped_column(Id, primary_key=True)
    store_id: Mapped[int] = mapped_column(Id)


class LoginAttempt(Base):
    """One login attempt counted against a key (a username or a client address)."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_key_at", "key", "at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    key: Mapped[str] = mapped_column(String(400))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class RequestBudget(Base):
    """One client's request count in one fixed window of one budget (storekeeper/budgets.py)."""

    __tablename__ = "request_budgets"
    __table_args__ = (Index("ix_request_budgets_expires_at", "expires_at"),)

    # The policy, the client and the window's number: "default:user:7:29485731".
    key: Mapped[str] = mapped_column(String(400), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger)
    # When the window ends, in Unix seconds: a row past it counts for nothing and is swept.
    expires_at: Mapped[int] = mapped_column(BigInteger)


class IdempotencyKey(Base):
    """A POST's Idempotency-Key: claimed while in flight, then the first answer, for 24 hours."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        PrimaryKeyConstraint("user_id", "key", info=_KEY_IN_FLIGHT),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )

    # 0 stands for requests without a user (registration).
    user_id: Mapped[int] = mapped_column(Id)
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status: Mapped[int | None] = mapped_column(Integer)
    headers: Mapped[str | None] = mapped_column(Text)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ImportFile(Base):
    """An uploaded CSV file waiting for its import job (domain/transfer.py).

    Kept apart from the job's JSON payload: it may be 10 MiB. Written in the request's
    transaction with its job, deleted when the job finishes; it goes with its store.
    """

    __tablename__ = "import_files"

    job_id: Mapped[int] = mapped_column(
        Id, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    store_id: Mapped[int] = mapped_column(Id, ForeignKey("stores.id", ondelete="CASCADE"))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ImportBatch(Base):
    """The row outcomes of one committed batch of an import, written in the batch's own
    transaction: a run cut short resumes after the last batch committed, its report exact."""

    __tablename__ = "import_batches"

    job_id: Mapped[int] = mapped_column(
        Id, ForeignKey("jobs.id", ondelete="CASCADE"), primary_key=True
    )
    number: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The outcomes as JSON: [{"line", "status", "item_id", "errors"}, ...].
    rows: Mapped[str] = mapped_column(Text)


class StoreEvent(Base):
    """One change of a store's data (domain/events.py): written once with the change, never
    updated. It goes with its store (the cascade, and the repository's explicit delete of a
    store's contents); its actor becomes null when that user is deleted."""

    __tablename__ = "store_events"
    __table_args__ = (
        # The history newest first, and its two filters, each within one store.
        Index("ix_store_events_store_id_id", "store_id", "id"),
        Index("ix_store_events_store_id_type_id", "store_id", "type", "id"),
        Index(
            "ix_store_events_store_id_resource_type_resource_id_id",
            "store_id",
            "resource_type",
            "resource_id",
            "id",
        ),
        Index("ix_store_events_actor_id", "actor_id"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    store_id: Mapped[int] = mapped_column(Id, ForeignKey("stores.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(64))
    actor_id: Mapped[int | None] = mapped_column(Id, ForeignKey("users.id", ondelete="SET NULL"))
    resource_type: Mapped[str] = mapped_column(String(16))
    resource_id: Mapped[int] = mapped_column(Id)
    # {"<field>": [old, new], ...} as JSON text.
    changes: Mapped[str] = mapped_column(Text)
    request_id: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Webhook(Base):
    """A store's subscription to its events (domain/webhooks.py): where to POST them, which
    types, and the secret that signs them. It goes with its store; its creator becomes null
    when that user is deleted."""

    __tablename__ = "webhooks"
    __table_args__ = (
        CheckConstraint("length(url) BETWEEN 1 AND 2048", name="url_length"),
        CheckConstraint("length(description) <= 200", name="description_length"),
        CheckConstraint(
            "disabled_reason IS NULL OR disabled_reason IN ('gone', 'failing')",
            name="disabled_reason",
        ),
        # A store's webhooks in order; the fan-out's look-up of a store's webhooks too.
        Index("ix_webhooks_store_id_id", "store_id", "id"),
        Index("ix_webhooks_created_by", "created_by"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    store_id: Mapped[int] = mapped_column(Id, ForeignKey("stores.id", ondelete="CASCADE"))
    created_by: Mapped[int | None] = mapped_column(Id, ForeignKey("users.id", ondelete="SET NULL"))
    url: Mapped[str] = mapped_column(Text)
    description: Mapped[str] = mapped_column(Text, default="")
    # A JSON array of event types, sorted and unique, or ["*"].
    events: Mapped[str] = mapped_column(Text)
    # "whsec_" + base64 of random bytes (Standard Webhooks); never shown again after the
    # answer that created it, never logged, never in an event.
    secret: Mapped[str] = mapped_column(String(128))
    # After a rotation the old secret signs too, until then, so receivers can switch over.
    previous_secret: Mapped[str | None] = mapped_column(String(128))
    previous_secret_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # Why delivery turned it off ('gone': a 410; 'failing': failures for days); NULL otherwise.
    disabled_reason: Mapped[str | None] = mapped_column(String(16))
    # The first failed attempt since the last success.
    failing_since: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A lease: one runner delivers for a webhook at a time.
    sending_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class WebhookDelivery(Base):
    """One attempt to deliver an event (or a ping) to a webhook. A chain of attempts shares the
    job that drives it (job_id: no reference, jobs are purged); it goes with its webhook and
    with its event."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name="status"),
        CheckConstraint("attempt >= 1", name="attempt_positive"),
        CheckConstraint("error IS NULL OR length(error) <= 500", name="error_length"),
        # A webhook's deliveries newest first; a chain's latest row; the purge and the due.
        Index("ix_webhook_deliveries_webhook_id_id", "webhook_id", "id"),
        Index("ix_webhook_deliveries_job_id", "job_id"),
        Index("ix_webhook_deliveries_status_next_attempt_at", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_event_id", "event_id"),
        Index("ix_webhook_deliveries_created_at", "created_at"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(Id, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(Id, ForeignKey("webhooks.id", ondelete="CASCADE"))
    # NULL for a ping.
    event_id: Mapped[int | None] = mapped_column(
        Id, ForeignKey("store_events.id", ondelete="CASCADE")
    )
    type: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[int | None] = mapped_column(Id)
    attempt: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    response_status: Mapped[int | None] = mapped_column(Integer)
    duration_ms: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    # Pending: when it is due; failed: when the next attempt is due (NULL: none follows).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    attempted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
