"""Value rules shared by every layer: names, their comparison key, money, ids."""

from __future__ import annotations

import unicodedata
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


def name_key(name: str) -> str:
    """The key names are compared by: NFC, then full Unicode case folding, then NFC again."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", name).casefold())


def _is_control(char: str) -> bool:
    return unicodedata.category(char) == "Cc"


def clean_name(raw: str) -> str:
    """Trim a name and check its rules; raise ValueError with the reason."""
    name = raw.strip()
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


def price_to_cents(value: object) -> int:
    """Exact conversion of a JSON number (int or Decimal) to cents; ValueError when not a price."""
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
        return int(amount * 100)
    except InvalidOperation:
        raise ValueError("must be a number with at most 2 decimal places") from None


def cents_to_price(cents: int) -> Decimal:
    """The price a number of cents stands for."""
    return Decimal(cents).scaleb(-2)
