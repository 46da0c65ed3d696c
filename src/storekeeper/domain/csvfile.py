"""The CSV file of a store's items: its columns, its cells, reading and writing it.

Both directions live here so they cannot drift apart: what the export writes, the import reads
back unchanged (a round trip corrupts no name).

Formula neutralisation (OWASP "CSV injection"): a cell a spreadsheet would run as a formula,
one starting with `=`, `+`, `-`, `@`, a tab or a carriage return, is written with a leading
apostrophe, which spreadsheets show as text. The import removes that apostrophe again. So
that this is a bijection, a cell that itself starts with an apostrophe followed by one of
those characters or by another apostrophe is escaped the same way: `=1+1` is written `'=1+1`,
`'=x` is written `''=x`, and each reads back as it was. A hand-written `'quoted'` (an
apostrophe followed by an ordinary character) is read as it is.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from storekeeper.domain.errors import Invalid, TooLarge
from storekeeper.domain.model import Item

COLUMNS = ("id", "name", "price", "quantity", "description", "tags")
# The import's limits (the request refuses a file beyond them with a 413).
MAX_BYTES = 10 * 1024 * 1024
MAX_ROWS = 50_000
TAG_SEPARATOR = ";"
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_BOM = "\ufeff"
# The csv module's cell limit (128 KiB by default) is process-wide; a cell as large as a whole
# file is read, and then refused by its column's own rule (a row error, not a broken file).
csv.field_size_limit(MAX_BYTES)


def _escaped(cell: str) -> bool:
    """Whether a stored cell starts with the apostrophe the export adds (see the docstring)."""
    return len(cell) > 1 and cell[0] == "'" and (cell[1] in _FORMULA_STARTS or cell[1] == "'")


def neutralise(value: str) -> str:
    """The cell that holds `value` without a spreadsheet running it as a formula."""
    if value.startswith(_FORMULA_STARTS) or _escaped(value):
        return "'" + value
    return value


def restore(cell: str) -> str:
    """The value a neutralised cell holds (the inverse of `neutralise`)."""
    return cell[1:] if _escaped(cell) else cell


class _Lines:
    """A csv writer's sink that hands back what each row wrote."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def take(self) -> str:
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def export_lines(items: Iterable[Item]) -> Iterator[str]:
    """The CSV text of these items, a line at a time, the header first (CRLF, RFC 4180)."""
    sink = _Lines()
    writer = csv.writer(sink.buffer, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    yield sink.take()
    for item in items:
        tags = TAG_SEPARATOR.join(tag.name for tag in item.tags)
        writer.writerow(
            (
                item.id,
                neutralise(item.name),
                str(item.price),
                item.quantity,
                neutralise(item.description),
                neutralise(tags),
            )
        )
        yield sink.take()


@dataclass(frozen=True, slots=True)
class RawRow:
    """One record of an uploaded file: its first line's number (the header is line 1), its
    cells by column with the formula escape removed, and what is wrong with its shape, if
    anything (a row error, not a broken file: the other rows still count)."""

    line: int
    cells: dict[str, str]
    problem: str | None = None


def _header(record: list[str]) -> tuple[str, ...]:
    names = tuple(cell.strip().lower() for cell in record)
    unknown = [name for name in names if name not in COLUMNS]
    if unknown:
        raise Invalid(
            {"header": [f"unknown column {name!r}" for name in unknown]},
            f"The header names columns the import does not know; it takes {', '.join(COLUMNS)}.",
        )
    if len(set(names)) != len(names):
        raise Invalid({"header": ["names a column twice"]}, "The header names a column twice.")
    if "name" not in names:
        raise Invalid({"header": ["lacks the column 'name'"]}, "The header has no `name` column.")
    return names


def _text(data: bytes) -> str:
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Invalid(
            {"file": [f"is not UTF-8 text (byte {exc.start})"]}, "The file is not UTF-8 text."
        ) from None
    return text.removeprefix(_BOM)


def read_file(data: bytes) -> list[RawRow]:
    """Every record of an uploaded CSV file, checked as a whole (encoding, quoting, header, size).

    Invalid (a 422) names what is wrong with the file; TooLarge (a 413) a file over the limits.
    Blank lines are skipped; each record keeps the number of its first line, so a cell spread
    over several lines still names the line a spreadsheet shows it on.
    """
    if len(data) > MAX_BYTES:
        raise TooLarge(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MiB.")
    # newline="": the reader sees \r\n, \n and \r alike, and keeps those inside quoted cells.
    reader = csv.reader(io.StringIO(_text(data), newline=""), strict=True)
    rows: list[RawRow] = []
    header: tuple[str, ...] | None = None
    line = 1
    try:
        for record in reader:
            start, line = line, reader.line_num + 1
            if not record or record == [""]:
                continue
            if header is None:
                header = _header(record)
                continue
            if len(rows) == MAX_ROWS:
                raise TooLarge(f"The file has more than {MAX_ROWS} rows.")
            cells = {name: restore(cell) for name, cell in zip(header, record, strict=False)}
            problem = None
            if len(record) != len(header):
                problem = f"has {len(record)} cells where the header names {len(header)} columns"
            rows.append(RawRow(start, cells, problem))
    except csv.Error as exc:
        raise Invalid(
            {"file": [f"line {reader.line_num}: {exc}"]}, "The file is not well-formed CSV."
        ) from None
    if header is None:
        raise Invalid({"header": ["is missing: the file is empty"]}, "The file is empty.")
    return rows
