"""Value rules shared by every layer: names, their comparison key, money, ids."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

NAME_MAX = 80
DESCRIPTION_MAX = 2000
QUANTITY_MAX = 2_147_483_647
PRICE_MAX_CENTS = 99_999_999_999
ID_MAX = 2**63 - 1
# Ids a client may choose with PUT stay exactly representable in every JSON client (JavaScript
# numbers) and leave the rest of the 64-bit range to server-assigned ids, so PUT can never
# exhaust the id sequence that POST draws from.
CLIENT_ID_MAX = 2**53 - 1
_CENT = Decimal("0.01")
# The white space a name is trimmed of: the characters with Unicode's White_Space property,
# except U+0085 NEXT LINE. The ASCII tab, line feed, vertical tab, form feed and carriage
# return are control characters too, but every text tool (JSON, C's isspace, JavaScript's
# trim) treats them as white space, so a name pasted with a trailing newline is trimmed, not
# refused. U+0085 is a C1 control that JavaScript's trim and C's isspace keep, and
# U+001C-U+001F (information separators) are not White_Space at all: str.strip() trimmed all
# five, which let control characters through at the ends of a name.
NAME_TRIMMED = (
    "\t\n\v\f\r \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)


USERNAME_MIN = 3
USERNAME_MAX = 40
USERNAME_CHARS = re.compile(r"[A-Za-z0-9_.-]+")
PASSWORD_MIN = 8
PASSWORD_MAX = 128


def check_username(raw: str) -> str:
    """Check a new username's rules (3-40 of A-Z, a-z, 0-9, '_', '.', '-'); ValueError says why."""
    if not USERNAME_MIN <= len(raw) <= USERNAME_MAX:
        raise ValueError(f"must be {USERNAME_MIN} to {USERNAME_MAX} characters long")
    if not USERNAME_CHARS.fullmatch(raw):
        raise ValueError("may hold only the letters A-Z and a-z, digits, '_', '.' and '-'")
    return raw


def name_key(name: str) -> str:
    """The key names are compared by: NFC, then full Unicode case folding, then NFC again."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"


def clean_name(raw: str) -> str:
    """Trim a name of NAME_TRIMMED and check its rules; raise ValueError with the reason."""
    name = raw.strip(NAME_TRIMMED)
    if not name:
        raise ValueError("must not be empty or only white space")
    if len(name) > NAME_MAX:
        raise ValueError(f"must be at most {NAME_MAX} characters")
    if any(_is_control(c) for c in name):
        raise ValueError("must not contain control characters")
    return name


def check_text(raw: str, limit: int) -> str:
    """Check free text (descriptions): bounded length, no NUL."""
    if len(raw) > limit:
        raise ValueError(f"must be at most {limit} characters")
    if "\x00" in raw:
        raise ValueError("must not contain NUL characters")
    return raw


_SURROGATE = re.compile("[\ud800-\udfff]")


def check_storable(text: str) -> str:
    """Refuse text no database stores: NUL (PostgreSQL's text cannot hold it) and unpaired
    surrogates (no UTF-8 encodes them); raise ValueError with the reason."""
    if "\x00" in text:
        raise ValueError("must not contain NUL characters")
    if _SURROGATE.search(text):
        raise ValueError("must not contain unpaired surrogates")
    return text


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most `count` events per `period` seconds."""

    count: int
    period: int

    def times(self, factor: int) -> RateLimit:
        """The same window, `factor` times as many events."""
        return RateLimit(self.count * factor, self.period)


@dataclass(frozen=True, slots=True, order=True)
class Money:
    """An exact amount in whole cents: the one price type from request to row and back."""

    cents: int

    def __post_init__(self) -> None:
        if not 0 <= self.cents <= PRICE_MAX_CENTS:
            raise ValueError("must be between 0 and 999999999.99")

    @classmethod
    def parse(cls, value: object) -> Money:
        """Exactly the amount a JSON number (int or Decimal) states; ValueError when not a price."""
        if isinstance(value, bool) or not isinstance(value, int | Decimal):
            raise ValueError("must be a number")
        try:
            amount = Decimal(value)
            if not amount.is_finite():
                raise ValueError("must be a finite number")
            if amount < 0 or amount > Decimal(PRICE_MAX_CENTS) / 100:
                raise ValueError("must be between 0 and 999999999.99")
            if amount != amount.quantize(_CENT):
                raise ValueError("must have at most 2 decimal places")
            return cls(int(amount * 100))
        except InvalidOperation:
            raise ValueError("must be a number with at most 2 decimal places") from None

    @property
    def amount(self) -> Decimal:
        """The amount as an exact decimal number of units."""
        return Decimal(self.cents).scaleb(-2)

    def as_json_number(self) -> float:
        """The nearest double, whose shortest repr is the exact amount (every amount has <= 13
        digits, and an IEEE division is correctly rounded)."""
        return self.cents / 100

    def __str__(self) -> str:
        return f"{self.cents // 100}.{self.cents % 100:02d}"
