"""Alembic, driven from code: the only way a schema is made or changed."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import Engine, create_engine

from storekeeper.db.models import Base
from storekeeper.db.search import include_name

MIGRATIONS = Path(__file__).with_name("migrations")


@dataclass(frozen=True)
class Revision:
    """One migration: its id and the first line of its message."""

    id: str
    message: str


def alembic_config(engine: Engine, migrations: Path = MIGRATIONS) -> Config:
    """An Alembic configuration bound to the engine (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(migrations))
    config.attributes["engine"] = engine
    return config


def _current(engine: Engine) -> tuple[str, ...]:
    with engine.connect() as conn:
        return tuple(MigrationContext.configure(conn).get_current_heads())


def _between(
    engine: Engine, upper: str | tuple[str, ...], lower: tuple[str, ...]
) -> list[Revision]:
    script = ScriptDirectory.from_config(alembic_config(engine))
    # Alembic walks from the upper revision down; the oldest comes first here.
    revisions = list(script.iterate_revisions(upper, lower or "base"))
    return [
        Revision(r.revision, (r.doc or "").strip().splitlines()[0] if r.doc else "")
        for r in reversed(revisions)
    ]


def pending(engine: Engine) -> list[Revision]:
    """The revisions an upgrade to head would apply, oldest first (empty when up to date)."""
    return _between(engine, "heads", _current(engine))


def upgrade(engine: Engine, revision: str = "head") -> list[Revision]:
    """Bring the schema up to the revision; the revisions applied, oldest first."""
    before = _current(engine)
    command.upgrade(alembic_config(engine), revision)
    # Measured against the database afterwards, so the answer is what is there now.
    return _between(engine, _current(engine), before)


def downgrade(engine: Engine, revision: str) -> None:
    """Take the schema back to the revision."""
    command.downgrade(alembic_config(engine), revision)


class Disagreement(Exception):
    """The models and the migrations (or the database and its migrations) disagree."""


def check(engine: Engine) -> None:
    """Raise Disagreement, saying where, when the models and the migrations disagree."""
    if behind := pending(engine):
        # Alembic's own check would say so with a traceback.
        count = f"{len(behind)} migration{'s' if len(behind) > 1 else ''}"
        raise Disagreement(
            f"the database schema is {count} behind (next: {behind[0].id}); "
            "run: storekeeper db upgrade"
        )
    try:
        command.check(alembic_config(engine))
    except CommandError as exc:
        raise Disagreement(f"the models and the migrations disagree: {exc}") from None


def known_revisions() -> dict[str, Revision]:
    """Every revision this version ships, by id; no database needed."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    script = ScriptDirectory.from_config(config)
    return {
        r.revision: Revision(r.revision, (r.doc or "").strip().splitlines()[0] if r.doc else "")
        for r in script.walk_revisions()
    }


def head_revisions() -> tuple[str, ...]:
    """The revisions an up-to-date schema is at."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return tuple(ScriptDirectory.from_config(config).get_heads())


class NothingToWrite(Exception):
    """The models and the migrations agree: a new migration would change nothing."""


def _next_id(migrations: Path) -> str:
    config = Config()
    config.set_main_option("script_location", str(migrations))
    heads = ScriptDirectory.from_config(config).get_heads()
    return f"{max((int(h) for h in heads), default=0) + 1:04d}"


def revision(message: str, migrations: Path = MIGRATIONS) -> Path:
    """Write the migration from the schema of the migrations so far to the models, numbered next.

    The difference is taken on a scratch SQLite database brought up to head, written in the
    style of the existing migrations (portable types, batch operations for SQLite) and
    formatted with ruff when it is installed. Review it, and run it on both databases
    (tests/integration/test_migrations.py does).
    """
    with tempfile.TemporaryDirectory() as scratch:
        engine = create_engine(f"sqlite:///{scratch}/schema.db")
        try:
            command.upgrade(alembic_config(engine, migrations), "head")
            with engine.connect() as conn:
                context = MigrationContext.configure(conn, opts={"include_name": include_name})
                if not compare_metadata(context, Base.metadata):
                    raise NothingToWrite("the models and the migrations agree")
            script = command.revision(
                alembic_config(engine, migrations),
                message,
                autogenerate=True,
                rev_id=_next_id(migrations),
            )
        finally:
            engine.dispose()
    assert script is not None
    assert not isinstance(script, list)
    path = Path(script.path)  # alembic names it <revision>_<slug of the message>.py
    # Formatting is a nicety for the reviewer; ruff comes with the development tools only.
    subprocess.run(  # noqa: S603 - our own interpreter, a fixed module, our own file
        [sys.executable, "-m", "ruff", "format", "--quiet", str(path)], check=False
    )
    return path
