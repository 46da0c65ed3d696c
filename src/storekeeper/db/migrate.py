"""Alembic, driven from code: the only way a schema is made or changed."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

MIGRATIONS = Path(__file__).with_name("migrations")


@dataclass(frozen=True)
class Revision:
    """One migration: its id and the first line of its message."""

    id: str
    message: str


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration bound to the engine (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
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


def check(engine: Engine) -> None:
    """Raise when the models and the migrations disagree."""
    command.check(alembic_config(engine))


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
