"""How each test leaves the session's database (tests/helpers.py, empty_database)."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, inspect, select

from storekeeper.db.models import Base
from storekeeper.db.request_budgets import SqlBudgetStore
from storekeeper.db.search import is_search_object
from storekeeper.db.session import Database
from storekeeper.domain.budgets import Tally
from tests.helpers import auth, empty_database, item, new_user, register, store, tag, webhook
from tests.images import picture
from tests.jobs.inbox import run_jobs


def _rows(database: Database) -> dict[str, int]:
    with database.unit_of_work(write=False) as conn:
        return {
            table.name: conn.execute(select(func.count()).select_from(table)).scalar_one()
            for table in Base.metadata.sorted_tables
        }


def test_every_table_is_one_the_models_declare(database: Database) -> None:
    # empty_database knows tables from the models alone; one only a migration made would
    # keep its rows from test to test.
    # The search index's tables are the exception: triggers on `items` fill and empty them.
    names = {
        name
        for name in inspect(database.engine).get_table_names()
        if name != "alembic_version" and not is_search_object(name, "table")
    }
    assert names == set(Base.metadata.tables)


def test_every_row_goes_and_ids_start_from_one_again(
    client: FlaskClient, app: Flask, database: Database, tmp_path: Path
) -> None:
    for round_ in range(2):
        user = new_user(client, "alice")
        shop = store(client, user)
        chair = item(client, user, shop["id"])
        wood = tag(client, user, shop["id"])
        tagged = client.post(f"/item/{chair['id']}/tag/{wood['id']}", headers=user.headers)
        assert tagged.status_code == 201
        kept = client.post(
            "/store", json={"name": "Kept"}, headers={**user.headers, "Idempotency-Key": "k1"}
        )
        assert kept.status_code == 201
        wrong = client.post("/login", json={"username": "alice", "password": "not the one"})
        assert wrong.status_code == 401
        # A job, and the token its email carries.
        emailed = client.patch(
            "/user/me", json={"email": "alice@example.com"}, headers=user.headers
        )
        assert emailed.status_code == 200
        # A photo, and the job that makes its variants.
        photo = client.put(
            f"/item/{chair['id']}/image",
            data=picture(),
            headers={**user.headers, "Content-Type": "image/jpeg"},
        )
        assert photo.status_code == 201
        assert run_jobs(app, tmp_path / "mail") == ["succeeded", "succeeded"]
        # A member of the store's team.
        new_user(client, "bob")
        joined = client.post(
            f"/store/{shop['id']}/member",
            json={"username": "bob", "role": "staff"},
            headers=user.headers,
        )
        assert joined.status_code == 201
        # An import waiting for the worker: its file is kept until the job has run.
        queued = client.post(
            f"/store/{shop['id']}/import",
            data="name,price\nStool,5\n",
            headers={**user.headers, "Content-Type": "text/csv"},
        )
        assert queued.status_code == 202
        # A webhook, and a delivery waiting for the worker (with its job).
        hook = webhook(client, user, shop["id"])
        assert client.post(f"/webhook/{hook['id']}/ping", headers=user.headers).status_code == 202
        assert client.post("/logout", headers=auth(user.tokens["access_token"])).status_code == 204
        # A request budget's shared count (the in-process app runs with budgets off).
        SqlBudgetStore(database).sync({Tally("user:1:default", 2**40): 1})
        # Ids as a fresh database hands them out, in the second round too.
        assert (user.id, shop["id"], chair["id"], wood["id"]) == (1, 1, 1, 1), round_
        filled = _rows(database)
        # Only while an import runs does it hold rows (emptied by the same loop as the rest).
        del filled["import_batches"]
        assert all(filled.values()), filled
        empty_database(database)
        assert not any(_rows(database).values()), round_
    assert register(client, "bob") == 1
