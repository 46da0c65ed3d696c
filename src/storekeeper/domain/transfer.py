"""Import and export of a store's items: the use cases over csvfile.py's rules.

The export reads the store in keyset batches of EXPORT_BATCH items, each in its own short
read, so its memory stays flat however many items there are and no transaction outlives the
database's bound on one unit of work (a batch sees the store as it is when it is read; an
item changed meanwhile shows its newer state, and one created meanwhile shows when its id
comes after the batch already written).

An import is a job. The request checks the file as a whole (size, encoding, quoting, header,
row count) and records the job with the file in its own transaction; the worker then reads
each row (errors per column), and makes it so: a row creates an item, or updates the one of
the store with the same name (names compared as the unique rule compares them). Without
`atomic`, it commits a batch of BATCH_ROWS rows at a time, with the batch's row outcomes in
the same transaction: a run cut short (a worker killed) runs again from the first batch not
committed, so no row is applied twice and the report stays exact. With `atomic`, all rows go
in one transaction, rolled back when any row failed. A dry run only reads.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Literal, Protocol

from storekeeper.domain import catalog, events
from storekeeper.domain.accounts import ACCOUNTS
from storekeeper.domain.catalog import CATALOG, CatalogRepository
from storekeeper.domain.csvfile import TAG_SEPARATOR, RawRow, export_lines, read_file
from storekeeper.domain.errors import DomainError, Unauthenticated
from storekeeper.domain.events import EventType
from storekeeper.domain.jobs import JOBS, Job
from storekeeper.domain.model import (
    Actor,
    Item,
    ItemChanges,
    ItemFields,
    ItemQuery,
    PageRequest,
)
from storekeeper.domain.policy import Action
from storekeeper.domain.ports import Slot, UnitsOfWork, Work
from storekeeper.domain.values import (
    DESCRIPTION_MAX,
    QUANTITY_MAX,
    Money,
    check_storable,
    check_text,
    clean_name,
    name_key,
)

IMPORT = "items.import"
EXPORT_BATCH = 1000
BATCH_ROWS = 500
# An import can grow a table tenfold in a minute, faster than PostgreSQL's autovacuum refreshes
# its statistics: a planner that still believes a store holds 3 items matches each batch's
# names by scanning the whole store (measured: 113 s instead of 10 for 50,000 rows). So the
# import refreshes them itself every this many batches (5,000 rows).
STATISTICS_EVERY = 10
Status = Literal["created", "updated", "unchanged", "failed"]
_PRICE = re.compile(r"[0-9]+(\.[0-9]+)?")
_QUANTITY = re.compile(r"[0-9]+")


class ImportRepository(Protocol):
    """An import's uploaded file and the outcomes of the batches already committed."""

    def add_file(self, job_id: int, store_id: int, data: bytes) -> None: ...
    def file(self, job_id: int) -> bytes | None: ...
    def batches(self, job_id: int) -> dict[int, list[dict[str, Any]]]:
        """The row outcomes of each batch committed so far, by batch number."""
        ...

    def add_batch(self, job_id: int, number: int, rows: list[dict[str, Any]]) -> None: ...
    def finish(self, job_id: int, result: dict[str, Any]) -> None:
        """Forget the file and the batches, keeping the result on the job, in one step."""
        ...

    def refresh_statistics(self) -> None:
        """Bring the planner's view of the catalog's tables up to date (where it keeps one)."""
        ...

    def progress(self, job_id: int, done: int, total: int) -> None:
        """Show how far a running import has come, as its job's result until it finishes."""
        ...


IMPORTS: Slot[ImportRepository] = Slot("imports")


# Export


def check_export(repo: CatalogRepository, store_id: int) -> None:
    """An export needs the store (404 otherwise); it is as public as the store's item list."""
    catalog.require_store(repo, store_id)


def _exported(units: UnitsOfWork, store_id: int) -> Iterator[Item]:
    after: tuple[Any, int] | None = None
    while True:
        query = ItemQuery(PageRequest("id", limit=EXPORT_BATCH, after=after), store_id=store_id)
        with units() as work:
            page = work[CATALOG].list_items(query)
        yield from page.rows
        if page.next_after is None:
            return
        after = page.next_after


def export_csv(units: UnitsOfWork, store_id: int) -> Iterator[str]:
    """Every item of the store as CSV text, a line at a time, read a batch at a time."""
    return export_lines(_exported(units, store_id))


# An import's rows


@dataclass(frozen=True, slots=True)
class RowChange:
    """A row read and checked: the fields it sets (None: the cell was empty or absent)."""

    line: int
    name: str
    price: Money | None = None
    quantity: int | None = None
    description: str | None = None
    tags: tuple[str, ...] | None = None

    @property
    def key(self) -> str:
        """The name as the unique rule compares it."""
        return name_key(self.name)


@dataclass(frozen=True, slots=True)
class RowOutcome:
    """What became of a row."""

    line: int
    status: Status
    item_id: int | None = None
    errors: dict[str, list[str]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The row as the job's result shows it."""
        return {
            "line": self.line,
            "status": self.status,
            "item_id": self.item_id,
            "errors": self.errors,
        }


def _price(cell: str) -> Money:
    # Plain decimal notation only: no sign, exponent, spaces or thousands separators, which a
    # JSON number could not carry either; Money then applies the API's own rules.
    if not _PRICE.fullmatch(cell):
        raise ValueError("must be a number such as 12 or 9.99")
    return Money.parse(Decimal(cell))


def _quantity(cell: str) -> int:
    if not _QUANTITY.fullmatch(cell) or int(cell) > QUANTITY_MAX:
        raise ValueError(f"must be a whole number from 0 to {QUANTITY_MAX}")
    return int(cell)


def _tags(cell: str) -> tuple[str, ...]:
    # A cell of separators alone (";") removes every tag: an empty cell leaves them as they are.
    names = [clean_name(part) for part in cell.split(TAG_SEPARATOR) if part.strip()]
    unique = {name_key(name): name for name in names}
    return tuple(unique.values())


def _description(cell: str) -> str:
    return check_storable(check_text(cell, DESCRIPTION_MAX))


_READERS: dict[str, Callable[[str], Any]] = {
    "name": clean_name,
    "price": _price,
    "quantity": _quantity,
    "description": _description,
    "tags": _tags,
}


def read_row(raw: RawRow) -> RowChange | RowOutcome:
    """A row's checked values, or its failure with the reasons by column."""
    if raw.problem is not None:
        return RowOutcome(raw.line, "failed", errors={"row": [raw.problem]})
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for column, reader in _READERS.items():
        cell = raw.cells.get(column, "")
        if not cell.strip():  # an empty cell leaves the field as it is
            continue
        try:
            values[column] = reader(check_storable(cell))
        except ValueError as exc:
            errors[column] = [str(exc)]
    if "name" not in values and "name" not in errors:
        errors["name"] = ["is required"]
    if errors:
        return RowOutcome(raw.line, "failed", errors=errors)
    return RowChange(raw.line, **values)


def _name_key(raw: RawRow) -> str | None:
    try:
        return name_key(clean_name(raw.cells.get("name", "")))
    except ValueError:
        return None


def read_rows(raws: Sequence[RawRow]) -> list[RowChange | RowOutcome]:
    """Every row read; a name already on an earlier row fails, even when that row failed for
    another reason: one row decides an item."""
    seen: dict[str, int] = {}
    rows: list[RowChange | RowOutcome] = []
    for raw in raws:
        row = read_row(raw)
        key = _name_key(raw)
        if key is not None:
            first = seen.setdefault(key, raw.line)
            if first != raw.line:
                message = f"names the same item as line {first}"
                errors = row.errors if isinstance(row, RowOutcome) else {}
                row = RowOutcome(raw.line, "failed", errors={**errors, "name": [message]})
        rows.append(row)
    return rows


# Deciding and applying a batch


@dataclass(frozen=True, slots=True)
class _Decision:
    row: RowChange
    current: Item | None
    changes: ItemChanges
    retag: bool

    @property
    def status(self) -> Status:
        if self.current is None:
            return "created"
        return "updated" if self.changes or self.retag else "unchanged"


def _decide(row: RowChange, current: Item | None) -> _Decision | RowOutcome:
    if current is None:
        if row.price is None:
            return RowOutcome(row.line, "failed", errors={"price": ["is required for a new item"]})
        return _Decision(row, None, ItemChanges(), bool(row.tags))

    def differs(new: Any, old: Any) -> Any:
        return None if new is None or new == old else new

    changes = ItemChanges(
        name=differs(row.name, current.name),
        price=differs(row.price, current.price),
        quantity=differs(row.quantity, current.quantity),
        description=differs(row.description, current.description),
    )
    retag = row.tags is not None and sorted(name_key(t) for t in row.tags) != sorted(
        name_key(t.name) for t in current.tags
    )
    return _Decision(row, current, changes, retag)


def _plan(
    repo: CatalogRepository, store_id: int, rows: Sequence[RowChange | RowOutcome]
) -> list[_Decision | RowOutcome]:
    keys = [row.key for row in rows if isinstance(row, RowChange)]
    current = repo.items_named(store_id, keys) if keys else {}
    return [
        row if isinstance(row, RowOutcome) else _decide(row, current.get(row.key)) for row in rows
    ]


def _tag_ids(repo: CatalogRepository, store_id: int, decisions: list[_Decision]) -> dict[str, int]:
    """The ids of every tag the batch sets, made where missing."""
    wanted = {name_key(t): t for d in decisions if d.retag for t in d.row.tags or ()}
    found = repo.tags_named(store_id, list(wanted)) if wanted else {}
    for key, name in wanted.items():
        if key not in found:
            found[key] = repo.add_tag(store_id, name)
    return found


def _apply(
    repo: CatalogRepository, store_id: int, decisions: list[_Decision], tags: dict[str, int]
) -> dict[int, int]:
    """Make a batch's decisions so, a few statements for the batch (new items and links are
    inserted together); the new items' ids by line."""
    new = [d for d in decisions if d.current is None]
    fields = []
    for d in new:
        assert d.row.price is not None  # _decide refused a new item without one
        fields.append(
            ItemFields(d.row.name, d.row.price, d.row.quantity or 0, d.row.description or "")
        )
    made = dict(zip((d.row.line for d in new), repo.add_items(store_id, fields), strict=True))
    links: list[tuple[int, int]] = []
    for decision in decisions:
        current = decision.current
        item_id = made[decision.row.line] if current is None else current.id
        if current is not None and decision.changes:
            repo.update_item(item_id, decision.changes)
        if decision.retag:
            if current is not None:
                repo.unlink_item_tags(item_id)
            links += [(item_id, tags[name_key(name)]) for name in decision.row.tags or ()]
    repo.link_many(store_id, links)
    return made


def _batch(
    repo: CatalogRepository,
    actor: Actor,
    store_id: int,
    rows: Sequence[RowChange | RowOutcome],
    write: bool,
) -> list[RowOutcome]:
    """One batch's outcomes: decided against the store as it is, and applied when `write`."""
    catalog.store_access(repo, actor, store_id, Action.ITEM_IMPORT)
    planned = _plan(repo, store_id, rows)
    decisions = [d for d in planned if isinstance(d, _Decision)]
    made = _apply(repo, store_id, decisions, _tag_ids(repo, store_id, decisions)) if write else {}
    outcomes = []
    for entry in planned:
        if isinstance(entry, RowOutcome):
            outcomes.append(entry)
            continue
        known = entry.current.id if entry.current is not None else made.get(entry.row.line)
        outcomes.append(RowOutcome(entry.row.line, entry.status, known))
    return outcomes


# The import as a job


@dataclass(frozen=True, slots=True)
class ImportRequest:
    """What an import was asked to do, as its job's payload keeps it."""

    store_id: int
    dry_run: bool = False
    atomic: bool = False
    # The X-Request-ID of the request that queued the import: its history event carries it.
    request_id: str | None = None

    def payload(self) -> dict[str, Any]:
        """The job's payload."""
        return {
            "store_id": self.store_id,
            "dry_run": self.dry_run,
            "atomic": self.atomic,
            "request_id": self.request_id,
        }

    @classmethod
    def of(cls, job: Job) -> ImportRequest:
        """The request a job's payload holds (jobs queued before 1.1's history have no id)."""
        p = job.payload
        request_id = p.get("request_id")
        return cls(
            int(p["store_id"]),
            bool(p["dry_run"]),
            bool(p["atomic"]),
            request_id if isinstance(request_id, str) else None,
        )


def start_import(work: Work, actor: Actor | None, request: ImportRequest, data: bytes) -> Job:
    """Check the file as a whole and record its import as a job (the worker runs it).

    The policy's `item.import`: the store's owner, its managers, or an admin. The job and the file
    are written in the caller's transaction, so a refused request leaves neither.
    """
    repo = work[CATALOG]
    catalog.store_access(repo, actor, request.store_id, Action.ITEM_IMPORT)
    read_file(data)
    assert actor is not None  # store_access refused an anonymous caller
    request = replace(request, request_id=actor.request_id)
    job_id = work[JOBS].add(IMPORT, request.payload(), actor.user_id)
    work[IMPORTS].add_file(job_id, request.store_id, data)
    job = work[JOBS].get(job_id)
    assert job is not None  # written just now, in this transaction
    return job


class _Discarded(Exception):
    """Rolls an atomic import back when a row failed, carrying the rows' outcomes."""

    def __init__(self, outcomes: list[RowOutcome]) -> None:
        super().__init__("an atomic import with a failed row")
        self.outcomes = outcomes


def _keep_statistics(work: Work, number: int) -> None:
    """Every STATISTICS_EVERY batches, let the database's planner see how the store has grown."""
    if number % STATISTICS_EVERY == STATISTICS_EVERY - 1:
        work[IMPORTS].refresh_statistics()


def _batches(rows: list[RowChange | RowOutcome]) -> list[list[RowChange | RowOutcome]]:
    return [rows[start : start + BATCH_ROWS] for start in range(0, len(rows), BATCH_ROWS)]


def _result(request: ImportRequest, outcomes: list[RowOutcome], applied: bool) -> dict[str, Any]:
    counts = dict.fromkeys(("created", "updated", "unchanged", "failed"), 0)
    for outcome in outcomes:
        counts[outcome.status] += 1
    return {
        **counts,
        "rows": [o.to_json() for o in sorted(outcomes, key=lambda o: o.line)],
        "dry_run": request.dry_run,
        "atomic": request.atomic,
        "applied": applied,
    }


def _read_only(
    units: UnitsOfWork, actor: Actor, store_id: int, rows: list[RowChange | RowOutcome]
) -> list[RowOutcome]:
    outcomes: list[RowOutcome] = []
    for batch in _batches(rows):
        with units() as work:
            outcomes += _batch(work[CATALOG], actor, store_id, batch, write=False)
    return outcomes


class ImportGone(DomainError):
    """The import's file is gone (its store was deleted): it cannot run."""


def run_import(
    units: UnitsOfWork,
    one_transaction: Callable[[], AbstractContextManager[Work]],
    job: Job,
) -> dict[str, Any]:
    """Run an import job; its result. `one_transaction` opens the write transaction an atomic
    import runs in whole (given a longer bound than a request's).

    Raises NotFound or Forbidden when the store is gone or no longer the starter's to write,
    Unauthenticated when the starter is gone, ImportGone when the file is: none of them passes
    on a retry.
    """
    request = ImportRequest.of(job)
    with units() as work:
        # The starter as they are now: one who lost the store or admin rights since cannot go on.
        user = work[ACCOUNTS].get_user(job.user_id) if job.user_id is not None else None
        data = work[IMPORTS].file(job.id)
        done = work[IMPORTS].batches(job.id)
    if user is None:
        raise Unauthenticated("The user who started the import no longer exists.")
    actor = Actor(user.id, user.is_admin, request.request_id)
    if data is None:
        # Finished by an earlier attempt that died before it could say so: its result stands.
        if job.result is not None and "progress" not in job.result:
            return job.result
        raise ImportGone("The import's file is gone; its store was deleted.")
    rows = read_rows(read_file(data))
    store_id = request.store_id
    if request.dry_run:
        outcomes, applied = _read_only(units, actor, store_id, rows), False
    elif request.atomic:
        outcomes, applied = _atomic(units, one_transaction, actor, store_id, rows)
    else:
        outcomes, applied = _in_batches(units, job.id, actor, store_id, rows, done), True
    result = _result(request, outcomes, applied)
    with units(write=True) as work:
        work[IMPORTS].finish(job.id, result)
        _record_import(work[CATALOG], actor, store_id, job.id, result)
    return result


def _record_import(
    repo: CatalogRepository, actor: Actor, store_id: int, job_id: int, result: dict[str, Any]
) -> None:
    """One event for the whole import, with its counts, written with the job's result.

    Not one per row: an import is one change the user asked for (50,000 rows would bury the
    history), and its job's result lists every row. An import that changed nothing (a dry
    run, a discarded atomic one, only unchanged or failed rows) is no event, like any write
    that changes nothing; nor is one whose store was deleted meanwhile (its history is gone).
    """
    if not result["applied"] or result["created"] + result["updated"] == 0:
        return
    if not repo.store_role(store_id, None)[0]:
        return
    changes: events.Changes = {
        name: [None, result[name]] for name in ("created", "updated", "unchanged", "failed")
    }
    catalog.record(repo, actor, store_id, EventType.IMPORT_FINISHED, ("job", job_id), changes)


def _atomic(
    units: UnitsOfWork,
    one_transaction: Callable[[], AbstractContextManager[Work]],
    actor: Actor,
    store_id: int,
    rows: list[RowChange | RowOutcome],
) -> tuple[list[RowOutcome], bool]:
    if any(isinstance(row, RowOutcome) for row in rows):
        # A row is refused already: report what the others would do, and write nothing.
        return _read_only(units, actor, store_id, rows), False
    outcomes: list[RowOutcome] = []
    try:
        with one_transaction() as work:
            # Batch by batch still, in the one transaction: bounded lookups (an IN list of a
            # batch's names, never 50,000) and statistics kept current as the store grows.
            for number, batch in enumerate(_batches(rows)):
                outcomes += _batch(work[CATALOG], actor, store_id, batch, write=True)
                _keep_statistics(work, number)
            if any(o.status == "failed" for o in outcomes):
                raise _Discarded(outcomes)
    except _Discarded as discarded:
        return [_unapplied(o) for o in discarded.outcomes], False
    return outcomes, True


def _unapplied(outcome: RowOutcome) -> RowOutcome:
    """A row of a discarded atomic import: its item was never made, so it has no id."""
    created = outcome.status == "created"
    item_id = None if created else outcome.item_id
    return RowOutcome(outcome.line, outcome.status, item_id, outcome.errors)


def _in_batches(
    units: UnitsOfWork,
    job_id: int,
    actor: Actor,
    store_id: int,
    rows: list[RowChange | RowOutcome],
    done: dict[int, list[dict[str, Any]]],
) -> list[RowOutcome]:
    outcomes: list[RowOutcome] = []
    for number, batch in enumerate(_batches(rows)):
        if number in done:
            outcomes += [RowOutcome(**row) for row in done[number]]
            continue
        with units(write=True) as work:
            made = _batch(work[CATALOG], actor, store_id, batch, write=True)
            work[IMPORTS].add_batch(job_id, number, [o.to_json() for o in made])
            work[IMPORTS].progress(job_id, len(outcomes) + len(made), len(rows))
            _keep_statistics(work, number)
        outcomes += made
    return outcomes
