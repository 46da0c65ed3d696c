"""CSV export (GET /store/{id}/item as text/csv) and import (POST /store/{id}/import, a job)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from storekeeper.db.models import User as UserRow
from storekeeper.db.session import Database
from storekeeper.domain.csvfile import MAX_BYTES, MAX_ROWS
from tests.helpers import User, assert_problem, item, store, tag
from tests.jobs.inbox import run_jobs

HEADER = "id,name,price,quantity,description,tags\r\n"


def _export(client: FlaskClient, store_id: int, accept: str = "text/csv") -> list[list[str]]:
    answer = client.get(f"/store/{store_id}/item", headers={"Accept": accept})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.mimetype == "text/csv"
    return list(csv.reader(io.StringIO(answer.get_data(as_text=True), newline="")))


def _start(client: FlaskClient, user: User, store_id: int, data: bytes | str, **params: str) -> Any:
    body = data.encode() if isinstance(data, str) else data
    return client.post(
        f"/store/{store_id}/import",
        data=body,
        content_type="text/csv",
        headers=user.headers,
        query_string=params,
    )


def _import(
    client: FlaskClient,
    app: Flask,
    tmp_path: Path,
    user: User,
    store_id: int,
    data: bytes | str,
    **params: str,
) -> dict[str, Any]:
    """Start an import, run the worker's jobs, and the job's result."""
    answer = _start(client, user, store_id, data, **params)
    assert answer.status_code == 202, answer.get_data(as_text=True)
    job = answer.get_json()
    assert answer.headers["Location"] == f"/job/{job['id']}"
    assert (job["kind"], job["status"]) == ("items.import", "queued")
    assert run_jobs(app, tmp_path / "mail") == ["succeeded"]
    done = client.get(answer.headers["Location"], headers=user.headers)
    assert done.status_code == 200
    assert done.get_json()["status"] == "succeeded"
    result: dict[str, Any] = done.get_json()["result"]
    return result


def _items(client: FlaskClient, store_id: int) -> dict[str, dict[str, Any]]:
    answer = client.get(f"/store/{store_id}/item?limit=200")
    return {i["name"]: i for i in answer.get_json()}


def _counts(result: dict[str, Any]) -> tuple[int, int, int, int]:
    return (result["created"], result["updated"], result["unchanged"], result["failed"])


# Export


def test_the_export_has_every_item_with_its_tags_as_csv(client: FlaskClient, alice: User) -> None:
    shop = store(client, alice)
    chair = item(client, alice, shop["id"], "Chair", price=19.99, quantity=4, description="Oak")
    item(client, alice, shop["id"], "Lamp", price=5)
    for name in ("wood", "sale"):
        t = tag(client, alice, shop["id"], name)
        client.post(f"/item/{chair['id']}/tag/{t['id']}", headers=alice.headers)
    answer = client.get(f"/store/{shop['id']}/item", headers={"Accept": "text/csv"})
    assert answer.headers["Content-Type"].startswith("text/csv; charset=utf-8")
    assert answer.headers["Content-Disposition"] == (
        f'attachment; filename="store-{shop["id"]}-items.csv"'
    )
    assert "Accept" in answer.headers["Vary"]
    assert answer.get_data(as_text=True).startswith(HEADER)
    rows = _export(client, shop["id"])
    assert rows[1] == [str(chair["id"]), "Chair", "19.99", "4", "Oak", "wood;sale"]
    assert rows[2][1:] == ["Lamp", "5.00", "0", "", ""]


def test_the_export_is_not_paged(client: FlaskClient, alice: User) -> None:
    shop = store(client, alice)
    for n in range(60):
        item(client, alice, shop["id"], f"Item {n}")
    assert len(_export(client, shop["id"])) == 61


def test_formula_cells_are_neutralised_and_read_back_unchanged(
    client: FlaskClient, app: Flask, tmp_path: Path, alice: User
) -> None:
    shop = store(client, alice)
    names = ["=1+1", "+sum", "-minus", "@at", "'=already", "'quoted'", "plain"]
    for name in names:
        item(client, alice, shop["id"], name, description="=HYPERLINK(1)")
    rows = _export(client, shop["id"])
    cells = [row[1] for row in rows[1:]]
    assert cells == ["'=1+1", "'+sum", "'-minus", "'@at", "''=already", "'quoted'", "plain"]
    assert all(row[4] == "'=HYPERLINK(1)" for row in rows[1:])
    # The file imported back as it is changes nothing: no name gained or lost an apostrophe.
    exported = client.get(f"/store/{shop['id']}/item", headers={"Accept": "text/csv"})
    result = _import(client, app, tmp_path, alice, shop["id"], exported.get_data())
    assert _counts(result) == (0, 0, len(names), 0)
    assert sorted(_items(client, shop["id"])) == sorted(names)


@pytest.mark.parametrize(
    ("accept", "media"),
    [
        ("text/csv", "text/csv"),
        ("application/json", "application/json"),
        ("*/*", "application/json"),
        ("text/csv;q=0.5, application/json", "application/json"),
        ("application/json;q=0.5, text/csv", "text/csv"),
        ("image/png", "application/json"),  # nothing acceptable: the default, not a 406
        ("text/*", "text/csv"),
    ],
)
def test_accept_picks_json_or_csv(
    client: FlaskClient, alice: User, accept: str, media: str
) -> None:
    shop = store(client, alice)
    answer = client.get(f"/store/{shop['id']}/item", headers={"Accept": accept})
    assert answer.status_code == 200
    assert answer.mimetype == media
    assert "Accept" in answer.headers["Vary"]


def test_exporting_an_unknown_store_is_a_404(client: FlaskClient) -> None:
    assert_problem(client.get("/store/99/item", headers={"Accept": "text/csv"}), 404)


# Import


def test_an_import_creates_updates_and_leaves_unchanged(
    client: FlaskClient, app: Flask, tmp_path: Path, alice: User
) -> None:
    shop = store(client, alice)
    chair = item(client, alice, shop["id"], "Chair", price=19.99, quantity=4, description="Oak")
    item(client, alice, shop["id"], "Lamp", price=5, quantity=1)
    data = (
        "name,price,quantity,description\n"
        "chair,21.50,,\n"  # same item, another case: the price changes, the rest stays
        "Lamp,5,1,\n"  # the same values: unchanged
        "Table,120.00,2,Pine\n"  # new
        "Stool,,3,\n"  # new without a price: failed
    )
    result = _import(client, app, tmp_path, alice, shop["id"], data)
    assert _counts(result) == (1, 1, 1, 1)
    rows = {r["line"]: r for r in result["rows"]}
    assert rows[2]["status"] == "updated" and rows[2]["item_id"] == chair["id"]
    assert rows[3]["status"] == "unchanged"
    assert rows[4]["status"] == "created" and rows[4]["item_id"] is not None
    assert rows[5] == {
        "line": 5,
        "status": "failed",
        "item_id": None,
        "errors": {"price": ["is required for a new item"]},
    }
    items = _items(client, shop["id"])
    # The row spelled the name "chair": the item takes the file's spelling.
    assert items["chair"]["price"] == 21.5 and items["chair"]["quantity"] == 4
    assert items["chair"]["description"] == "Oak"
    assert items["Table"]["description"] == "Pine" and items["Table"]["quantity"] == 2


def test_prices_are_exact_and_checked_like_the_json_api(
    client: FlaskClient, app: Flask, tmp_path: Path, alice: User
) -> None:
    shop = store(client, alice)
    data = (
        "name,price\nA,0.10\nB,9.990\nC,999999999.99\nD,9.999\nE,-1\nF,1e3\nG,NaN\nH,1000000000\n"
    )
    result = _import(client, app, tmp_path, alice, shop["id"], data)
    assert _counts(result) == (3, 0, 0, 5)
    items = _items(client, shop["id"])
    assert [items[n]["price"] for n in "ABC"] == [0.1, 9.99, 999999999.99]
    failed = {r["line"]: r["errors"] for r in result["rows"] if r["status"] == "failed"}
    assert failed[5] == {"price": ["must have at most 2 decimal places"]}
    assert set(failed) == {5, 6, 7, 8, 9} and all(set(e) == {"price"} for e in failed.values())


def test_a_tags_cell_replaces_the_tags_and_creates_missing_ones(
    client: FlaskClient, app: Flask, tmp_path: Path, alice: User
) -> None:
    shop = store(client, alice)
    chair = item(client, alice, shop["id"], "Chair")
    old = tag(client, alice, shop["id"], "old")
    wood = tag(client, alice, shop["id"], "Wood")
    for t in (old, wood):
        client.post(f"/item/{chair['id']}/tag/{t['id']}", headers=alice.headers)
    item(client, alice, shop["id"], "Lamp")
    data = "name,tags\nChair,wood; new\nLamp,\nDesk,\n"
    result = _import(client, app, tmp_path, alice, shop["id"], data)
    assert _counts(result) == (0, 1, 1, 1)
    assert result["rows"][2]["errors"] == {"price": ["is required for a new item"]}
    tags = {t["name"]: t["id"] for t in _items(client, shop["id"])["Chair"]["tags"]}
    assert tags == {"Wood": wood["id"], "new": tags["new"]}  # "wood" matched "Wood"
    # A lone separator removes every tag; an empty cell had left them.
    result = _import(client, app, tmp_path, alice, shop["id"], "name,tags\nChair,;\n")
    assert _counts(result) == (0, 1, 0, 0)
    assert _items(client, shop["id"])["Chair"]["tags"] == []


def test_a_dry_run_changes_nothing_and_reports_the_same_rows(
    client: FlaskClient, app: Flask, tmp_path: Path, alice: User
) -> None:
    shop = store(client, alice)
    item(client, alice, shop["id"], "Chair")
    data = "name,price,tags\nChair,1,new\nTable,2,\nBad,x,\n"
    dry = _import(client, app, tmp_path, alice, shop["id"], data, dry_run="true")
    assert set(_items(client, shop["id"])) == {"Chair"}
    assert client.get(f"/store/{shop['id']}/tag").get_json() == []
    assert (dry["dry_run"], dry["applied"]) == (True, False)
    real = _import(client, app, tmp_path, alice, shop["id"], data)
    assert _counts(dry) == _counts(real) == (1, 1, 0, 1)
    assert [(r["line"], r["status"]) for r in dry["rows"]] == [
        (r["line"], r["status"]) for r in real["rows"]
    ]


def test_an_atomic_import_with_a_bad_row_changes_nothing(
    client: FlaskClient, app: Flask, tmp_path: Path, alice: User
) -> None:
    shop = store(client, alice)
    item(client, alice, shop["id"], "Chair", price=1)
    data = "name,price\nChair,2\nTable,3\nStool,\n"  # Stool: new without a price
    result = _import(client, app, tmp_path, alice, shop["id"], data, atomic="true")
    assert result["applied"] is False and result["failed"] == 1
    assert [r["item_id"] for r in result["rows"] if r["status"] == "created"] == [None]
    items = _items(client, shop["id"])
    assert set(items) == {"Chair"} and items["Chair"]["price"] == 1
    result = _import(client, app, tmp_path, alice, shop["id"], data[:-7], atomic="true")
    assert result["applied"] is True and _counts(result) == (1, 1, 0, 0)
    assert _items(client, shop["id"])["Chair"]["price"] == 2


def test_a_bom_and_mixed_line_endings_are_read(
    client: FlaskClient, app: Flask, tmp_path: Path, alice: User
) -> None:
    shop = store(client, alice)
    data = b'\xef\xbb\xbfname,price,description\r\nA,1,\nB,2,"two\r\nlines"\rC,3,\r\n\n'
    result = _import(client, app, tmp_path, alice, shop["id"], data)
    assert _counts(result) == (3, 0, 0, 0)
    assert [r["line"] for r in result["rows"]] == [2, 3, 5]
    assert _items(client, shop["id"])["B"]["description"] == "two\r\nlines"


def test_row_errors_name_their_columns(
    client: FlaskClient, app: Flask, tmp_path: Path, alice: User
) -> None:
    shop = store(client, alice)
    data = (
        "name,price,quantity,description\n"
        ",1,,\n"
        "A,1,-1,\n"
        "B,1,1,2\n"
        "C,1,1,ok,extra\n"
        "D,1\n"
        "a,1,,\n"
        f"{'x' * 81},1,,\n"
    )
    result = _import(client, app, tmp_path, alice, shop["id"], data)
    errors = {r["line"]: r["errors"] for r in result["rows"]}
    assert errors[2] == {"name": ["is required"]}
    assert set(errors[3]) == {"quantity"}
    assert errors[4] == {}  # a description of "2" is text
    assert set(errors[5]) == {"row"} and set(errors[6]) == {"row"}
    assert errors[7] == {"name": ["names the same item as line 3"]}
    assert set(errors[8]) == {"name"}


def test_a_huge_cell_is_a_row_error(
    client: FlaskClient, app: Flask, tmp_path: Path, alice: User
) -> None:
    shop = store(client, alice)
    data = "name,description\nA," + "x" * (MAX_BYTES - 100) + "\nB,short\n"
    result = _import(client, app, tmp_path, alice, shop["id"], data)
    assert _counts(result) == (0, 0, 0, 2)  # no price: B fails too, for its own reason
    assert set(result["rows"][0]["errors"]) == {"description"}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b"name,colour\nA,red\n", "header"),
        (b"price,quantity\n1,2\n", "header"),
        (b"name,name\nA,B\n", "header"),
        (b"", "header"),
        (b"name,price\n\xff\xfe,1\n", "file"),
        (b'name,price\n"A"B,1\n', "file"),
        (b'name,price\n"A,1\n', "file"),
    ],
)
def test_a_broken_file_is_refused_at_once(
    client: FlaskClient, alice: User, data: bytes, field: str
) -> None:
    shop = store(client, alice)
    body = assert_problem(_start(client, alice, shop["id"], data), 422)
    assert set(body["errors"]) == {field}


def test_too_large_a_file_or_too_many_rows_is_a_413(client: FlaskClient, alice: User) -> None:
    shop = store(client, alice)
    assert_problem(_start(client, alice, shop["id"], b"name\n" + b"x" * MAX_BYTES), 413)
    rows = "name\n" + "".join(f"n{i}\n" for i in range(MAX_ROWS + 1))
    assert_problem(_start(client, alice, shop["id"], rows), 413)


def test_only_the_owner_or_an_admin_may_import(
    client: FlaskClient, app: Flask, tmp_path: Path, alice: User, bob: User, admin: User
) -> None:
    shop = store(client, alice)
    assert_problem(_start(client, bob, shop["id"], "name,price\nA,1\n"), 403)
    anonymous = client.post(f"/store/{shop['id']}/import", data=b"name\n", content_type="text/csv")
    assert_problem(anonymous, 401)
    assert_problem(_start(client, alice, 999, "name,price\nA,1\n"), 404)
    assert _counts(_import(client, app, tmp_path, admin, shop["id"], "name,price\nA,1\n"))[0] == 1


def test_an_import_must_be_sent_as_csv(client: FlaskClient, alice: User) -> None:
    shop = store(client, alice)
    answer = client.post(f"/store/{shop['id']}/import", json={"name": "A"}, headers=alice.headers)
    assert_problem(answer, 415)


def test_the_job_is_its_starters(client: FlaskClient, alice: User, bob: User) -> None:
    shop = store(client, alice)
    answer = _start(client, alice, shop["id"], "name,price\nA,1\n")
    assert answer.status_code == 202
    assert answer.headers["Cache-Control"].startswith("private")
    assert_problem(client.get(answer.headers["Location"], headers=bob.headers), 403)


def test_an_import_of_a_deleted_store_fails_without_retrying(
    client: FlaskClient, app: Flask, tmp_path: Path, alice: User
) -> None:
    shop = store(client, alice)
    answer = _start(client, alice, shop["id"], "name,price\nA,1\n")
    client.delete(f"/store/{shop['id']}", headers=alice.headers)
    assert run_jobs(app, tmp_path / "mail") == ["failed"]
    job = client.get(answer.headers["Location"], headers=alice.headers).get_json()
    assert job["status"] == "failed"


def test_an_html_form_may_send_the_file(
    client: FlaskClient, app: Flask, tmp_path: Path, alice: User
) -> None:
    shop = store(client, alice)
    form = {"file": (io.BytesIO(b"name,price\nA,1\n"), "items.csv", "text/csv")}
    answer = client.post(
        f"/store/{shop['id']}/import",
        data=form,
        content_type="multipart/form-data",
        headers=alice.headers,
    )
    assert answer.status_code == 202, answer.get_data(as_text=True)
    assert run_jobs(app, tmp_path / "mail") == ["succeeded"]
    assert set(_items(client, shop["id"])) == {"A"}


def test_a_row_with_a_nul_fails_on_its_column(
    client: FlaskClient, app: Flask, tmp_path: Path, alice: User
) -> None:
    shop = store(client, alice)
    result = _import(
        client, app, tmp_path, alice, shop["id"], "name,price,description\nA,1,x\x00y\n"
    )
    assert result["rows"][0]["errors"] == {"description": ["must not contain NUL characters"]}


def test_the_job_acts_as_its_starter_is_when_it_runs(
    client: FlaskClient, app: Flask, tmp_path: Path, alice: User, admin: User, database: Database
) -> None:
    shop = store(client, alice)
    answer = _start(client, admin, shop["id"], "name,price\nA,1\n")
    assert answer.status_code == 202
    with database.unit_of_work(write=True) as conn:  # no longer an admin
        conn.execute(update(UserRow).where(UserRow.id == admin.id).values(is_admin=False))
    assert run_jobs(app, tmp_path / "mail") == ["failed"]
    assert _items(client, shop["id"]) == {}


def test_a_form_sent_again_with_its_key_is_replayed(client: FlaskClient, alice: User) -> None:
    """Each send of a form picks its own multipart boundary: the file, not the bytes, counts."""
    shop = store(client, alice)
    headers = {**alice.headers, "Idempotency-Key": "import-once"}
    answers = [
        client.post(
            f"/store/{shop['id']}/import",
            data={"file": (io.BytesIO(b"name,price\nA,1\n"), "items.csv", "text/csv")},
            content_type=f"multipart/form-data; boundary=boundary{n}",
            headers=headers,
        )
        for n in range(2)
    ]
    assert [a.status_code for a in answers] == [202, 202]
    assert answers[1].headers["Idempotent-Replayed"] == "true"
    assert answers[0].get_json()["id"] == answers[1].get_json()["id"]
    other = client.post(
        f"/store/{shop['id']}/import",
        data=b"name,price\nB,2\n",
        content_type="text/csv",
        headers=headers,
    )
    assert_problem(other, 422)
