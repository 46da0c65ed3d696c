"""The queue that carries job ids from the relay to the worker threads: huey, on an engine the
deployment already has (docs/architecture.md, "Background work: the queue").

SQLite by default, in a file of its own beside the app's database so that queue traffic never
waits for the app's write lock; PostgreSQL when the app's database is PostgreSQL; Redis when
STOREKEEPER_REDIS_URL is set. The same task code runs on each. Only job ids travel: the job's
row (domain/jobs.py) holds its input and decides whether it runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from huey import Huey, RedisHuey, SqliteHuey
from huey.registry import Message
from huey.serializer import Serializer
from sqlalchemy.engine import make_url

from storekeeper.settings import Settings

NAME = "storekeeper"


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
        # Imported here: peewee is needed only on this engine.
        from huey.contrib.sql_huey import SqlHuey
        from playhouse.postgres_ext import Psycopg3Database

        database = Psycopg3Database(
            url.database,
            host=url.host,
            port=url.port,
            user=url.username,
            password=url.password,
            **dict(url.query),
        )
        return SqlHuey(NAME, database=database, **options)
    path = queue_file(settings)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    return SqliteHuey(NAME, filename=str(path), **options)
