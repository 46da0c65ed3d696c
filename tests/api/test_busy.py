"""A database busy with other requests is a 503 that says so (docs/reliability.md)."""

from __future__ import annotations

from flask.testing import FlaskClient
from sqlalchemy.pool import QueuePool

from storekeeper.db.session import Database


def test_a_request_that_finds_every_connection_taken_is_told_the_database_is_busy(
    client: FlaskClient, database: Database
) -> None:
    pool = database.engine.pool
    assert isinstance(pool, QueuePool)
    # Every connection the pool may open (it opens no overflow), held by "other requests".
    held = [database.engine.connect() for _ in range(pool.size())]
    try:
        answer = client.get("/store")
    finally:
        for conn in held:
            conn.close()
    assert answer.status_code == 503
    assert answer.mimetype == "application/problem+json"
    assert answer.json is not None
    assert answer.json["detail"] == "The database is busy with other requests; retry shortly."
    assert int(answer.headers["Retry-After"]) > 0
    assert client.get("/store").status_code == 200
