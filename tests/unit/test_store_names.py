"""The look-alike key of store names (storekeeper/domain/names.py) against UTS #39's data."""

from __future__ import annotations

import pytest

from storekeeper.domain.names import (
    confusables,
    look_alike_digest,
    look_alike_key,
    parse_confusables,
    skeleton,
)


def test_the_table_is_unicodes_confusables_txt() -> None:
    table = confusables()
    assert len(table) > 6000
    assert table["\u03bf"] == "o"  # GREEK SMALL LETTER OMICRON
    assert table["\u0430"] == "a"  # CYRILLIC SMALL LETTER A
    assert table["0"] == "O"  # DIGIT ZERO -> LATIN CAPITAL LETTER O, as the data says
    assert table["m"] == "rn"  # a prototype of more than one character
    assert "o" not in table  # a prototype maps to nothing


def test_parse_reads_data_lines_only() -> None:
    text = (
        "\ufeff# confusables.txt\n"
        "05AD ;\t0596 ;\tMA\t# ( \u05ad \u2192 \u0596 ) HEBREW ACCENT DEHI\n"
        "\n"
        "2025 ;\t002E 002E ;\tMA\t# ( \u2025 \u2192 .. ) TWO DOT LEADER\n"
    )
    assert parse_confusables(text) == {"\u05ad": "\u0596", "\u2025": ".."}


def test_skeleton_is_nfd_mapped_nfd() -> None:
    # U+00E9 decomposes first, so its e is looked up and its accent kept.
    assert skeleton("caf\u00e9") == "cafe\u0301"
    assert skeleton("p\u0430ypal") == "paypal"
    assert skeleton("\U0001d52d\U0001d4b6") == "pa"


@pytest.mark.parametrize(
    "look_alike",
    [
        "CORNER SHOP",
        "C\u03bfrner Shop",  # Greek omicron
        "\u0421\u043erner \u0405hop",  # Cyrillic Es, o and Dze
        "Cor\u00adner Shop",  # soft hyphen
        "Corner \u200b\u200dShop",  # zero-width space and joiner
        "\u202eCorner Shop\u202c",  # bidirectional controls
        "Corner Shop\ufe0f",  # variation selector
        "\uff23\uff4f\uff52\uff4e\uff45\uff52 Shop",  # full-width
        "\u212dorner Shop",  # black-letter capital C
        "C0rner Shop",  # digit zero
        "Comer Shop",  # m for rn
        "Corner\u3000\u00a0 Shop",  # a run of white space
    ],
)
def test_look_alikes_share_the_key(look_alike: str) -> None:
    assert look_alike_key(look_alike) == look_alike_key("Corner Shop") == "corner shop"
    assert look_alike_digest(look_alike) == look_alike_digest("Corner Shop")


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("Corner Shop", "Corner Shops"),
        ("Corner Shop", "Corner\u200bShop"),  # renders as "CornerShop"
        ("\u0391\u03b8\u03ae\u03bd\u03b1", "\u0391\u03b8\u03b7\u03bd\u03b1"),  # an accent shows
        ("\u03a3\u03c0\u03ac\u03c1\u03c4\u03b7", "\u0391\u03b8\u03ae\u03bd\u03b1"),
        ("Shop 1", "Shop 2"),
    ],
)
def test_names_that_look_different_keep_different_keys(first: str, second: str) -> None:
    assert look_alike_key(first) != look_alike_key(second)


def test_an_invisible_name_has_the_empty_key_and_a_digest_of_fixed_length() -> None:
    assert look_alike_key("\u200b\u2060") == ""
    # NFKC turns U+FDFA into 18 characters: the stored digest is 64 whatever the name.
    assert len(look_alike_key("\ufdfa" * 80)) > 320
    assert len(look_alike_digest("\ufdfa" * 80)) == 64


def test_the_key_is_a_function_of_the_case_insensitive_key() -> None:
    """Names equal under the older rule (NFC and case folding) are equal under this one, so
    the old unique constraint on name_key never refuses what this key allows."""
    for a, b in [("Stra\u00dfe", "STRASSE"), ("caf\u00e9", "cafe\u0301"), ("\u01c4", "\u01c6")]:
        assert look_alike_key(a) == look_alike_key(b)
