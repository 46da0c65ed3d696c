"""Import and export of a store's items as CSV (domain/transfer.py has the rules)."""

from __future__ import annotations

from collections.abc import Iterator

from flask import Blueprint, Response, request
from pydantic import ConfigDict

from storekeeper.domain import transfer
from storekeeper.domain.catalog import CATALOG
from storekeeper.domain.csvfile import MAX_BYTES, MAX_ROWS
from storekeeper.domain.model import Actor
from storekeeper.domain.ports import Work
from storekeeper.http.bodies import JSON, respond
from storekeeper.http.context import services
from storekeeper.http.jobs import JobOut
from storekeeper.http.operations import Representation, operation
from storekeeper.http.schemas import Input, QueryBool
from storekeeper.http.uploads import Upload, Uploaded
from storekeeper.http.users import private

bp = Blueprint("transfer", __name__)
# A job is its starter's alone: no cache keeps it.
bp.after_request(private)
CSV = "text/csv"
# What a list of items can be answered as, the default first: a client that accepts both
# equally (`*/*`) or neither (an Accept naming only other types) gets JSON, as GitHub and
# Stripe answer; a 406 would break clients that send a browser's or a library's habitual
# Accept. CSV only when the client prefers it.
LIST_MEDIA = (JSON, CSV)
# Lines are sent in chunks of about this many bytes: a write per line costs a system call
# (and a chunk header) for each of a million items.
CHUNK_BYTES = 64 * 1024
_SAMPLE = (
    "id,name,price,quantity,description,tags\r\n"
    '7,Oak chair,19.99,4,"Solid oak, seat height 45 cm.",furniture;oak\r\n'
    "8,'=Sale sign,2.50,10,,\r\n"
)
_EXPORT_TEXT = (
    "every item of the store (not paged; paging, sorting and filter parameters are ignored), "
    'by id, streamed, as `attachment; filename="store-{id}-items.csv"`. Columns `id,name,'
    "price,quantity,description,tags` (tag names separated by `;`). A text cell a spreadsheet "
    "would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) "
    "gets a leading `'`, as does one starting with `'` and one of those; the import removes it."
)
EXPORT = Representation(_EXPORT_TEXT, _SAMPLE)
CSV_UPLOAD = Upload(
    media_types=(CSV,),
    max_bytes=MAX_BYTES,
    multipart_field="file",
    description=f"A CSV file (UTF-8, a byte-order mark allowed) of at most {MAX_ROWS} rows, "
    "with the export's columns: `name` is required, `price` for new items; `id` is ignored.",
    example="name,price,quantity,tags\r\nOak chair,19.99,4,furniture;oak\r\nStool,,2,\r\n",
)


def wants_csv() -> bool:
    """Whether the request's Accept prefers CSV to JSON (q-values weighed)."""
    return request.accept_mimetypes.best_match(LIST_MEDIA, default=JSON) == CSV


def vary(response: Response) -> Response:
    """Say that the answer depends on Accept, so no cache serves CSV to a JSON client."""
    response.vary.add("Accept")
    return response


def _chunks(lines: Iterator[str]) -> Iterator[bytes]:
    pending: list[bytes] = []
    size = 0
    for line in lines:
        data = line.encode()
        pending.append(data)
        size += len(data)
        if size >= CHUNK_BYTES:
            yield b"".join(pending)
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


def export_items(store_id: int, work: Work) -> Response:
    """Every item of a store as a CSV download, streamed a batch at a time.

    The store is checked in the request's own read; the batches are read while the answer is
    sent, each in its own short read (domain/transfer.py), after the request's connection is
    back in the pool.
    """
    transfer.check_export(work[CATALOG], store_id)
    lines = transfer.export_csv(services().units, store_id)
    response = Response(_chunks(lines), mimetype=CSV)
    response.headers["Content-Type"] = f"{CSV}; charset=utf-8; header=present"
    response.headers["Content-Disposition"] = f'attachment; filename="store-{store_id}-items.csv"'
    return response


class ImportParams(Input):
    """How to import."""

    model_config = ConfigDict(extra="ignore")

    dry_run: QueryBool = False
    atomic: QueryBool = False


@bp.post("/store/<id:id>/import")
@operation(
    "Items",
    status=202,
    response=JobOut,
    query=ImportParams,
    upload=CSV_UPLOAD,
    auth=True,
    errors=(413, 422),
    creates="/job/{id}",
)
def import_items(
    id: int, query: ImportParams, upload: Uploaded, actor: Actor, work: Work
) -> Response:
    """Import items from a CSV file: a job, run in the background (owner, managers or admins).

    Each row creates an item, or updates the store's item of the same name (compared as the
    unique rule compares names); an empty cell leaves its field as it is, a `tags` cell
    (names separated by `;`, a lone `;` for none) replaces the item's tags, and missing tags
    are created. The file as a whole is checked here (UTF-8, well-formed CSV, a header of
    known columns with `name`, at most 50,000 rows and 10 MiB): a 422 or 413 names what is
    wrong. The rows are checked by the job: its `result` has the counts and, for each row,
    `line` (the header is line 1), `status` (`created`, `updated`, `unchanged`, `failed`),
    `item_id` and `errors` by column. `dry_run=true` changes nothing and reports the same;
    `atomic=true` changes nothing when any row fails. Poll `Location` (`GET /job/{id}`).
    """
    options = transfer.ImportRequest(id, query.dry_run, query.atomic)
    job = transfer.start_import(work, actor, options, upload.data)
    return respond(JobOut, job, 202, {"Location": f"/job/{job.id}"})
