"""The request's steps (http/pipeline.py): what they cost in transactions, and what they refuse
before the use case runs."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from flask.testing import FlaskClient
from sqlalchemy import event

from storekeeper.db.session import Database
from tests.helpers import User, assert_problem, store


@contextmanager
def transactions(database: Database) -> Iterator[list[str]]:
    """The transactions begun on the database inside the block."""
    begun: list[str] = []

    def count(conn: object) -> None:
        begun.append("begin")

    event.listen(database.engine, "begin", count)
    try:
        yield begun
    finally:
        event.remove(database.engine, "begin", count)


def test_an_idempotent_post_takes_two_transactions_and_its_replay_one(
    client: FlaskClient, alice: User, database: Database
) -> None:
    headers = {**alice.headers, "Idempotency-Key": "shop-1"}
    with transactions(database) as first:
        assert client.post("/store", json={"name": "Shop"}, headers=headers).status_code == 201
    with transactions(database) as replay:
        answer = client.post("/store", json={"name": "Shop"}, headers=headers)
    assert answer.headers["Idempotent-Replayed"] == "true"
    with transactions(database) as plain:
        assert (
            client.post("/store", json={"name": "Other"}, headers=alice.headers).status_code == 201
        )
    # The claim (with the session check), then the use case with its stored answer.
    assert (len(first), len(replay), len(plain)) == (2, 1, 1)


def test_a_refused_use_case_settles_its_claim_in_one_more(
    client: FlaskClient, alice: User, database: Database
) -> None:
    store(client, alice, "Shop")
    headers = {**alice.headers, "Idempotency-Key": "dup"}
    with transactions(database) as begun:
        assert_problem(client.post("/store", json={"name": "shop"}, headers=headers), 409)
    assert len(begun) == 3  # claim, the use case (rolled back), the refusal kept
    again = client.post("/store", json={"name": "shop"}, headers=headers)
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (409, "true")


def test_a_bad_body_is_refused_before_any_use_case_and_frees_its_key(
    client: FlaskClient, alice: User
) -> None:
    headers = {**alice.headers, "Idempotency-Key": "bad-then-good"}
    assert_problem(client.post("/store", json={"name": ""}, headers=headers), 422)
    answer = client.post("/store", json={"name": "Fine"}, headers=headers)
    assert answer.status_code == 201 and "Idempotent-Replayed" not in answer.headers


def test_a_read_without_a_token_takes_no_session_check(
    client: FlaskClient, alice: User, database: Database
) -> None:
    shop = store(client, alice, "Shop")
    with transactions(database) as anonymous:
        assert client.get(f"/store/{shop['id']}").status_code == 200
    with transactions(database) as signed_in:
        assert client.get(f"/store/{shop['id']}", headers=alice.headers).status_code == 200
    # One unit of work each: the session check shares the use case's.
    assert len(anonymous) == len(signed_in) <= 1
