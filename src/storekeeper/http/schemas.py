"""What every resource's request and response models are made of: field types, base models,
the shapes embedded in several resources, list parameters and problem details.

Each resource's own models live in its HTTP module (http/stores.py, ...), beside the handlers
that read and answer them: they are the single source of validation and of /openapi.json.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal
from typing import Annotated, Any, Literal

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
    # Never serialized, but without its own serializer pydantic keeps Money's (a dataclass)
    # and lists it among the document's schemas.
    PlainSerializer(Money.as_json_number, return_type=float, when_used="json"),
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


def no_null_defaults(schema: dict[str, Any]) -> None:
    """For merge patches: absent means unchanged, but null is no allowed value, so show no
    default of null."""
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


def example(value: Any, *, merge_patch: bool = False) -> ConfigDict:
    """A model's realistic example: shown by /docs, held to the model by a test."""

    def extra(schema: dict[str, Any]) -> None:
        if merge_patch:
            no_null_defaults(schema)
        schema["examples"] = [value]

    return ConfigDict(json_schema_extra=extra)


# The examples' shared values, so that one example's ids and names agree with another's.
CREATED_AT = "2026-11-30T09:15:00.000000Z"
UPDATED_AT = "2026-12-01T10:02:41.512003Z"


# Shapes embedded in several resources


class ItemBriefOut(OutModel):
    """An item as embedded in a store."""

    model_config = example({"id": 7, "name": "Oak chair", "price": 19.99, "quantity": 4})

    id: int
    name: str
    price: PriceOut
    quantity: int


class TagItemOut(OutModel):
    """An item as embedded in a tag."""

    model_config = example({"id": 7, "name": "Oak chair", "price": 19.99})

    id: int
    name: str
    price: PriceOut


class RefOut(OutModel):
    """A short reference: id and name."""

    model_config = example({"id": 3, "name": "furniture"})

    id: int
    name: str


class Problem(BaseModel):
    """An RFC 9457 problem detail."""

    model_config = example(
        {
            "type": "about:blank",
            "title": "Not Found",
            "status": 404,
            "detail": "No store with this id.",
        }
    )

    type: str = "about:blank"
    title: str
    status: int
    detail: str


class ValidationProblem(Problem):
    """A 422 problem naming each offending field."""

    model_config = example(
        {
            "type": "about:blank",
            "title": "Unprocessable Entity",
            "status": 422,
            "detail": "The body has invalid fields.",
            "errors": {"price": ["must have at most 2 decimal places"], "name": ["is required"]},
        }
    )

    errors: dict[str, list[str]]


class Health(BaseModel):
    """Process and database state."""

    model_config = example({"status": "ok"})

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


class NamedListParams(ListParams):
    """Paging, sorting and filters of a list of named things (stores, a store's tags)."""

    sort: Literal["id", "-id", "name", "-name", "created_at", "-created_at"] = "id"
    name: QueryText | None = None
    q: QueryText | None = None


def _chars(count: object) -> str:
    return f"{count} character" + ("" if count == 1 else "s")


# pydantic's error types in the API's own words: every message reads "<field> ...".
_MESSAGES: dict[str, Callable[[dict[str, Any]], str]] = {
    "missing": lambda ctx: "is required",
    "extra_forbidden": lambda ctx: "is not a known field",
    "value_error": lambda ctx: str(ctx.get("error", "is invalid")),
    "string_type": lambda ctx: "must be a string",
    "string_too_short": lambda ctx: f"must be at least {_chars(ctx.get('min_length'))} long",
    "string_too_long": lambda ctx: f"must be at most {_chars(ctx.get('max_length'))} long",
    "int_type": lambda ctx: "must be a whole number",
    "int_from_float": lambda ctx: "must be a whole number",
    "int_parsing": lambda ctx: "must be a whole number",
    "bool_type": lambda ctx: "must be true or false",
    "greater_than_equal": lambda ctx: f"must be at least {ctx.get('ge')}",
    "less_than_equal": lambda ctx: f"must be at most {ctx.get('le')}",
    "literal_error": lambda ctx: f"must be one of {ctx.get('expected')}",
    "enum": lambda ctx: f"must be one of {ctx.get('expected')}",
    "model_type": lambda ctx: "must be a JSON object",
    "model_attributes_type": lambda ctx: "must be a JSON object",
    "dict_type": lambda ctx: "must be a JSON object",
    "list_type": lambda ctx: "must be a JSON array",
    "too_short": lambda ctx: f"must hold at least {ctx.get('min_length')} entries",
    "too_long": lambda ctx: f"must hold at most {ctx.get('max_length')} entries",
}


def field_errors(errors: list[Any]) -> dict[str, list[str]]:
    """pydantic's errors as {field: [messages]}, worded as the API words its own."""
    found: dict[str, list[str]] = {}
    for error in errors:
        loc = [str(p) for p in error.get("loc", ()) if not str(p).startswith("function-")]
        field = ".".join(loc) or "body"
        word = _MESSAGES.get(str(error.get("type")))
        message = word(error.get("ctx") or {}) if word else str(error.get("msg", "is invalid"))
        found.setdefault(field, []).append(message)
    return found
