"""The CSV file's rules without a database: formula neutralisation and reading a file whole."""

from __future__ import annotations

import itertools

import pytest

from storekeeper.domain.csvfile import neutralise, read_file, restore
from storekeeper.domain.errors import Invalid, TooLarge

PIECES = ["", "'", "=", "+", "-", "@", "\t", "\r", "a", " ", "''"]


def test_neutralising_is_undone_exactly_for_every_start() -> None:
    for parts in itertools.product(PIECES, repeat=3):
        value = "".join(parts)
        cell = neutralise(value)
        assert restore(cell) == value, repr(value)
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), repr(cell)


def test_a_hand_written_apostrophe_before_plain_text_is_kept() -> None:
    assert restore("'quoted'") == "'quoted'"
    assert restore("'") == "'"


def test_records_keep_the_line_they_start_on() -> None:
    rows = read_file(b'name,description\r\n\r\nA,"two\nlines"\nB,x\rC,y')
    assert [(r.line, r.cells["name"]) for r in rows] == [(3, "A"), (5, "B"), (6, "C")]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", Invalid),
        (b"\xef\xbb\xbf", Invalid),
        (b"Name , PRICE\n", None),
        (b"name\n\x00\n", None),  # a NUL is a row's problem, not the file's
        (b"name\n" + b"a\n" * 50_001, TooLarge),
    ],
)
def test_the_file_as_a_whole(data: bytes, error: type[Exception] | None) -> None:
    if error is None:
        read_file(data)
    else:
        with pytest.raises(error):
            read_file(data)
