"""The queue that carries job ids from the relay to the worker threads: huey, on an engine the
deployment already has (docs/architecture.md, "Background work: the queue").

SQLite by default, in a file of its own beside the app's database so that queue traffic never
waits for the app's write lock; PostgreSQL (huey's own storage on psycopg 3, waking workers by
LISTEN/NOTIFY) when the app's database is PostgreSQL; Redis when STOREKEEPER_REDIS_URL is set.
The same task code runs on each. Only job ids travel: the job's row (domain/jobs.py) holds its
input and decides whether it runs.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import orjson
import psycopg
from huey import Huey, PostgresHuey, RedisHuey, SqliteHuey
from huey.registry import Message
from huey.serializer import Serializer
from sqlalchemy.engine import make_url

from storekeeper.settings import Settings

NAME = "storekeeper"
# huey's tables in the app's PostgreSQL database: huey_kv, huey_task, huey_schedule, ...
TABLE_PREFIX = "huey"
SCHEMA_TRIES = 3


class JsonMessages(Serializer):  # type: ignore[misc]
    """Messages as JSON, never pickle: whoever can write to the queue's store (a shared Redis,
    say) must not be able to make the worker run code. Our messages hold only job ids."""

    def _serialize(self, data: Any) -> bytes:
        if not isinstance(data, Message):
            raise TypeError(f"only task messages travel on this queue, not {type(data)!r}")
        return orjson.dumps(list(data))

    def _deserialize(self, data: bytes) -> Any:
        fields = orjson.loads(data)
        message = Message(*fields)
        return message._replace(args=tuple(message.args or ()))


def queue_file(settings: Settings) -> Path:
    """The SQLite queue's file: beside the app's SQLite database, else in the instance folder."""
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        database = Path(url.database)
        return database.with_name(f"{database.stem}-queue{database.suffix or '.db'}")
    return settings.instance_path / "queue.db"


def make_huey(settings: Settings) -> Huey:
    """The queue for these settings (results are not kept: the job's row holds them)."""
    options: dict[str, Any] = {"results": False, "serializer": JsonMessages()}
    if settings.redis_url:
        return RedisHuey(NAME, url=settings.redis_url, **options)
    url = make_url(settings.database_url)
    if url.get_backend_name() == "postgresql":
        dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
        huey = PostgresHuey(
            NAME, dsn=dsn, table_prefix=TABLE_PREFIX, create_tables=False, **options
        )
        _create_tables(huey)
        return huey
    path = queue_file(settings)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return SqliteHuey(NAME, filename=str(path), **options)


def _create_tables(huey: Huey) -> None:
    """Create huey's tables if missing. Workers starting together may race on the same
    CREATE TABLE IF NOT EXISTS (PostgreSQL checks, then creates): the loser tries again."""
    for attempt in range(1, SCHEMA_TRIES + 1):
        try:
            huey.storage.initialize_schema()
            return
        except psycopg.errors.UniqueViolation:
            if attempt == SCHEMA_TRIES:
                raise
            huey.storage.close()
            time.sleep(0.2 * attempt)
