"""Request and response models: the single source of validation and of the OpenAPI document."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    PlainValidator,
    StrictInt,
    StrictStr,
    WithJsonSchema,
    field_validator,
)

from storekeeper.domain import values
from storekeeper.domain.model import ItemChanges, ItemFields
from storekeeper.domain.values import Money
from storekeeper.http import numbers


def _char_class(chars: str) -> str:
    """Characters as the inside of a regex class, in \\uXXXX escapes and ranges."""
    # Escapes rather than the characters themselves: ECMA-262 and Python's re read them alike,
    # so the OpenAPI pattern means the same to every client.
    points = sorted({ord(c) for c in chars})
    runs: list[list[int]] = []
    for point in points:
        if runs and runs[-1][1] == point - 1:
            runs[-1][1] = point
        else:
            runs.append([point, point])
    return "".join(
        f"\\u{low:04x}" if low == high else f"\\u{low:04x}-\\u{high:04x}" for low, high in runs
    )


_TRIMMED = _char_class(values.NAME_TRIMMED)
_CONTROL = r"\u0000-\u001f\u007f-\u009f"
# A name as sent, which is what a client checks against the schema: white space that is
# trimmed, around 1-80 characters that are no control characters and neither begin nor end
# with trimmed white space. This is exactly what values.clean_name accepts.
NAME_PATTERN = (
    f"^[{_TRIMMED}]*[^{_CONTROL}{_TRIMMED}]"
    f"(?:[^{_CONTROL}]{{0,{values.NAME_MAX - 2}}}[^{_CONTROL}{_TRIMMED}])?[{_TRIMMED}]*$"
)
NAME_RULE = (
    "Trimmed of surrounding white space (the Unicode White_Space characters except U+0085: "
    "space, tab, line feed, vertical tab, form feed, carriage return, no-break and other "
    f"Unicode spaces, line and paragraph separators), then 1-{values.NAME_MAX} characters, "
    "none of them a control character (U+0000-U+001F, U+007F-U+009F, so U+0085 and "
    "U+001C-U+001F are refused wherever they are); any other Unicode is allowed. Names are "
    "compared case-insensitively after NFC normalisation and case folding."
)


def _price(value: object) -> Money:
    return Money.parse(numbers.refuse_oversized(value))


def _amount(value: object) -> Money:
    """A price on its way out: always a Money from the domain."""
    if not isinstance(value, Money):
        raise ValueError("must be an amount of money")
    return value


# Only the pattern, which holds the whole rule: a maxLength would be wrong (surrounding white
# space is trimmed before the 1-80 count), and a minLength beside an unbounded pattern makes
# Schemathesis 4 rewrite the pattern into one it cannot generate from.
Name = Annotated[
    StrictStr,
    AfterValidator(values.clean_name),
    WithJsonSchema({"type": "string", "pattern": NAME_PATTERN, "description": NAME_RULE}),
]
Description = Annotated[
    StrictStr,
    Field(max_length=values.DESCRIPTION_MAX, pattern=r"^[^\u0000]*$"),
    AfterValidator(lambda v: values.check_text(v, values.DESCRIPTION_MAX)),
]


def _integral(value: object) -> object:
    """JSON has one number type: 5.0 is the integer 5 (as JSON Schema says), 5.5 is not."""
    numbers.refuse_oversized(value)
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return value


# Not expressible in JSON Schema, so said in words: see numbers.py.
NUMBER_RULE = (
    f"Written in at most {numbers.NUMBER_MAX_CHARS} characters, with an exponent of at most "
    f"{numbers.EXPONENT_MAX_DIGITS} digits (otherwise a 422 before the number is read)."
)
Quantity = Annotated[
    StrictInt,
    Field(ge=0, le=values.QUANTITY_MAX, description=NUMBER_RULE),
    BeforeValidator(_integral),
]
ResourceId = Annotated[
    StrictInt, Field(ge=1, le=values.ID_MAX, description=NUMBER_RULE), BeforeValidator(_integral)
]
PriceIn = Annotated[
    Money,
    PlainValidator(_price),
    WithJsonSchema(
        {
            "type": "number",
            "minimum": 0,
            "maximum": 999999999.99,
            "multipleOf": 0.01,
            "description": "Exact amount with at most 2 decimal places. " + NUMBER_RULE,
        }
    ),
]
PriceOut = Annotated[
    Money,
    PlainValidator(_amount),
    PlainSerializer(Money.as_json_number, return_type=float, when_used="json"),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 999999999.99}),
]


# Documents, on free-text fields, the rule Input enforces on every string (a NUL in any
# string is a 422); the fields with patterns of their own exclude NUL already.
NO_NUL: dict[str, Any] = {"pattern": "^[^\\u0000]*$"}


class Input(BaseModel):
    """Whatever a client sends (body or query parameters): no string in it can break storage."""

    @field_validator("*", mode="before")
    @classmethod
    def _storable(cls, value: object) -> object:
        # Every field of every request passes here before its own rules, so a NUL or an
        # unpaired surrogate is refused the same way wherever it is sent and never reaches a
        # query (PostgreSQL raises on NUL in text; no encoding writes a lone surrogate).
        if isinstance(value, str):
            values.check_storable(value)
        return value


class InModel(Input):
    """A request body: strict types, unknown fields rejected."""

    model_config = ConfigDict(extra="forbid", strict=True, regex_engine="python-re")


class OutModel(BaseModel):
    """A response body, built from domain objects."""

    model_config = ConfigDict(from_attributes=True)


# Requests


class StoreCreate(InModel):
    """A new store."""

    name: Name


def _no_null_defaults(schema: dict[str, Any]) -> None:
    """Absent means unchanged, but null is no allowed value: show no default of null."""
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


class StoreUpdate(InModel):
    """Changes to a store (JSON merge patch)."""

    model_config = ConfigDict(json_schema_extra=_no_null_defaults)

    name: Name = None  # type: ignore[assignment]


class ItemFieldsIn(InModel):
    """Fields every item body may carry."""

    name: Name
    price: PriceIn
    quantity: Quantity = 0
    description: Description = ""

    def to_fields(self) -> ItemFields:
        """The domain's item fields (price in cents)."""
        return ItemFields(self.name, self.price, self.quantity, self.description)


class ItemCreate(ItemFieldsIn):
    """A new item in the store named by `store_id`."""

    store_id: ResourceId


class StoreItemCreate(ItemFieldsIn):
    """A new item in the store of the path."""


class ItemReplace(ItemFieldsIn):
    """The whole state of an item; `store_id` may be omitted when the item exists."""

    store_id: ResourceId | None = None


class ItemPatch(InModel):
    """Changes to an item (JSON merge patch: absent fields stay; none of them may be null)."""

    model_config = ConfigDict(json_schema_extra=_no_null_defaults)

    name: Name = None  # type: ignore[assignment]
    price: PriceIn = None  # type: ignore[assignment]
    quantity: Quantity = None  # type: ignore[assignment]
    description: Description = None  # type: ignore[assignment]
    store_id: ResourceId = None  # type: ignore[assignment]

    def changes(self) -> ItemChanges:
        """The fields the patch sets (the others stay as they are)."""
        return ItemChanges(**{name: getattr(self, name) for name in self.model_fields_set})


class TagCreate(InModel):
    """A new tag."""

    name: Name


# Responses


class ItemBriefOut(OutModel):
    """An item as embedded in a store."""

    id: int
    name: str
    price: PriceOut
    quantity: int


class TagItemOut(OutModel):
    """An item as embedded in a tag."""

    id: int
    name: str
    price: PriceOut


class RefOut(OutModel):
    """A short reference: id and name."""

    id: int
    name: str


class StoreSummaryOut(OutModel):
    """A store in a list."""

    id: int
    name: str
    owner_id: int | None
    item_count: int
    created_at: datetime
    updated_at: datetime


class StoreOut(StoreSummaryOut):
    """A store with its first 50 items and first 50 tags (by id)."""

    items: list[ItemBriefOut]
    tags: list[RefOut]


class ItemOut(OutModel):
    """An item."""

    id: int
    name: str
    price: PriceOut
    quantity: int
    description: str
    store_id: int
    store: RefOut
    tags: list[RefOut]
    created_at: datetime
    updated_at: datetime


class TagOut(OutModel):
    """A tag."""

    id: int
    name: str
    store_id: int


class TagDetailOut(TagOut):
    """A tag with the first 50 items it labels (by id); all of them at /item?tag={id}."""

    items: list[TagItemOut]


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str


class ValidationProblem(Problem):
    """A 422 problem naming each offending field."""

    errors: dict[str, list[str]]


class Health(BaseModel):
    """Process and database state."""

    status: Literal["ok", "unavailable"]


# Query parameters


def _canonical_int(value: object) -> object:
    if isinstance(value, str):
        if not value.isascii() or not value.isdigit() or (len(value) > 1 and value[0] == "0"):
            raise ValueError("must be a whole number written in plain digits")
        return numbers.refuse_oversized(numbers.read_number(value))
    return value


def _query_price(value: object) -> Money:
    # The pattern bounds the digits before they are converted.
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        raise ValueError("must be a number with at most 2 decimal places, like 9.99")
    return Money.parse(numbers.convert(value))


def _boolean(value: object) -> object:
    if value in ("true", "false"):
        return value == "true"
    raise ValueError("must be true or false")


_DECIMAL = re.compile(r"[0-9]{1,12}(\.[0-9]{1,2})?", re.ASCII)
QueryId = Annotated[int, Field(ge=1, le=values.ID_MAX), BeforeValidator(_canonical_int)]
QueryLimit = Annotated[int, Field(ge=1, le=200), BeforeValidator(_canonical_int)]
QueryPrice = Annotated[
    Money,
    PlainValidator(_query_price),
    # A list's scope (http/paging.py) binds the amount, in cents, not its spelling.
    PlainSerializer(lambda money: money.cents, return_type=int, when_used="json"),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 999999999.99, "multipleOf": 0.01}),
]
QueryBool = Annotated[bool, BeforeValidator(_boolean), WithJsonSchema({"type": "boolean"})]
QueryText = Annotated[
    str, Field(min_length=1, max_length=values.NAME_MAX * 4, json_schema_extra=NO_NUL)
]


class ListParams(Input):
    """Paging parameters every list takes."""

    model_config = ConfigDict(extra="ignore")

    limit: Annotated[QueryLimit, Field(description="Rows per page, 1-200.")] = 50
    cursor: (
        Annotated[
            str,
            Field(
                min_length=1,
                max_length=2048,
                json_schema_extra=NO_NUL,
                description='Opaque position from a `Link: rel="next"` header. It works only '
                "in the list that gave it out (the same path, sort and filters; `limit` may "
                "change); anywhere else, or altered, it is a 422 on `cursor`.",
            ),
        ]
        | None
    ) = None


class StoreListParams(ListParams):
    """Paging, sorting and filters of /store."""

    sort: Literal["id", "-id", "name", "-name", "created_at", "-created_at"] = "id"
    name: QueryText | None = None
    q: QueryText | None = None


class TagListParams(StoreListParams):
    """Paging, sorting and filters of a store's tags."""


class StoreItemListParams(ListParams):
    """Paging, sorting and filters of one store's items."""

    sort: Literal["id", "-id", "name", "-name", "price", "-price", "created_at", "-created_at"] = (
        "id"
    )
    tag: QueryId | None = None
    min_price: QueryPrice | None = None
    max_price: QueryPrice | None = None
    in_stock: QueryBool | None = None
    name: QueryText | None = None
    q: QueryText | None = None


class ItemListParams(StoreItemListParams):
    """Paging, sorting and filters of all items."""

    store_id: QueryId | None = None


def field_errors(errors: list[Any]) -> dict[str, list[str]]:
    """Pydantic's errors as {field: [messages]}, with readable messages."""
    found: dict[str, list[str]] = {}
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if not str(p).startswith("function-")]
        field = ".".join(loc) or "body"
        kind = error.get("type")
        if kind == "extra_forbidden":
            message = "is not a known field"
        elif kind == "missing":
            message = "is required"
        elif kind == "value_error":
            message = str(error.get("ctx", {}).get("error", error.get("msg")))
        else:
            message = str(error.get("msg", "is invalid"))
        found.setdefault(field, []).append(message)
    return found


# Users and tokens

Username = Annotated[StrictStr, Field(min_length=3, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")]
Password = Annotated[StrictStr, Field(min_length=8, max_length=128, json_schema_extra=NO_NUL)]


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False, test_environment=True).normalized
    except EmailNotValidError:
        raise ValueError("is not a valid email address") from None


Email = Annotated[
    StrictStr,
    Field(max_length=254, json_schema_extra={"format": "email"}),
    AfterValidator(_email),
]


class RegisterIn(InModel):
    """A new account."""

    username: Username
    password: Password
    email: Email | None = None


class LoginIn(InModel):
    """Credentials."""

    username: Annotated[StrictStr, Field(min_length=1, max_length=40, json_schema_extra=NO_NUL)]
    password: Annotated[StrictStr, Field(min_length=1, max_length=128, json_schema_extra=NO_NUL)]


class UserCreatedOut(OutModel):
    """A registered user."""

    id: int
    username: str


class UserOut(OutModel):
    """A user, as seen by themself or an admin."""

    id: int
    username: str
    email: str | None
    is_admin: bool
    created_at: datetime


class TokensOut(BaseModel):
    """The tokens of a new session."""

    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int


class AccessTokenOut(BaseModel):
    """A fresh access token."""

    access_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name, not a secret
    expires_in: int
