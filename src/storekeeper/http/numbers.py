"""Numbers as clients write them: a literal's size is checked before its digits are converted.

Converting digits costs more than their count: `int("9" * 10**6)` or `int(Decimal("1e1000000"))`
take seconds, and a 40-byte body can ask for the second. So the body parser and the query
parameters hand every number here as the text the client sent, and only a literal of bounded
size becomes a number. A longer one stays text in an OversizedNumber, which every numeric field
refuses with a 422 naming it. No value the API accepts comes near the bound: ids have at most
19 digits, prices 12, and `9.990` with 60 more zeros still fits.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

NUMBER_MAX_CHARS = 64
EXPONENT_MAX_DIGITS = 3
OVERSIZED = (
    f"must be a number of at most {NUMBER_MAX_CHARS} characters, "
    f"with an exponent of at most {EXPONENT_MAX_DIGITS} digits"
)


@dataclass(frozen=True, slots=True)
class OversizedNumber:
    """A number literal too long, or with too large an exponent, to be worth converting."""

    length: int


def fits(literal: str) -> bool:
    """Whether a number literal is small enough to convert, judged from its text alone."""
    if len(literal) > NUMBER_MAX_CHARS:
        return False
    _, _, exponent = literal.lower().partition("e")
    # 1e0005 is 1e5: leading zeros say nothing about the size.
    return len(exponent.lstrip("+-").lstrip("0")) <= EXPONENT_MAX_DIGITS


def convert(literal: str) -> int | Decimal:
    """The exact value of a JSON number literal of bounded size: fractions become Decimals."""
    if "." in literal or "e" in literal or "E" in literal:
        return Decimal(literal)
    return int(literal)


def read_number(literal: str) -> int | Decimal | OversizedNumber:
    """A JSON number literal (its grammar already checked) as its value, when it fits."""
    return convert(literal) if fits(literal) else OversizedNumber(len(literal))


def refuse_oversized(value: object) -> object:
    """A numeric field's first check: ValueError for an OversizedNumber, else the value."""
    if isinstance(value, OversizedNumber):
        raise ValueError(OVERSIZED)
    return value
