"""PostgreSQL cuts and folds words as SQLite's FTS5 tokenizer does, so a search finds the same
items on both: the words each database's index holds for a text are the words FTS5's
tokenizer (migration 0007's settings) cuts from it."""

from __future__ import annotations

import sqlite3

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from storekeeper.db.session import Database
from tests.helpers import User, item, store

TEXTS = [
    "Crème brûlée, CAFÉ-grade: 3.5 kW (230 V)",
    "Ærøskøbing Straße Łódź Ørsted",  # letters that do not decompose stay as they are
    # Greek keeps its tonos; final sigma, long s and micro sign fold.
    "ΣΟΦΙΑ σοφία Ωμέγα ς \u017f µ",
    "Москва ЁЛКА",
    "日本語テキスト 中文",
    "snake_case e-mail user@example.com https://example.com/a/b?c=d",
    # Not "½" or "²": FTS5 keeps such numbers (category No) as words, PostgreSQL's parser drops
    # them. No search can tell: a query is NFKC-normalised (domain/search.py), so it never
    # holds one ("½" is the words 1 and 2), and "x" finds "x²" on both.
    "don't «quoted» “curly” — dash … ellipsis №5",
    "ÀÁÂÃÄÅ àáâãäå ÇçÑñ ŸÿÝý Ǆǅǆ Ǳǲǳ",
    "tab\tnew\nline  many   spaces",
    "x" * 50 + " abc123def 0042",
]


def fts5_words(value: str) -> set[str]:
    """The words FTS5 indexes for a text, with the tokenizer of migration 0007."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute(
            "CREATE VIRTUAL TABLE t USING fts5(a, tokenize='unicode61 remove_diacritics 2')"
        )
        conn.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, row)")
        conn.execute("INSERT INTO t (a) VALUES (?)", (value,))
        return {row[0] for row in conn.execute("SELECT term FROM v")}
    finally:
        conn.close()


def indexed_words(database: Database, item_id: int) -> set[str]:
    """The words the database's own search index holds for an item's description."""
    with database.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(
                text(
                    "CREATE VIRTUAL TABLE IF NOT EXISTS temp.search_words "
                    "USING fts5vocab(main, items_fts, instance)"
                )
            )
            found = conn.execute(
                text("SELECT term FROM temp.search_words WHERE doc = :id AND col = 'description'"),
                {"id": item_id},
            )
        else:
            found = conn.execute(
                text(
                    "SELECT lexeme FROM items, unnest(items.search_vector) "
                    "WHERE items.id = :id AND 'B' = ANY(weights)"
                ),
                {"id": item_id},
            )
        return set(found.scalars())


@pytest.mark.parametrize("value", TEXTS)
def test_each_database_indexes_the_words_fts5_cuts(
    client: FlaskClient, database: Database, alice: User, value: str
) -> None:
    made = item(client, alice, store(client, alice)["id"], "Name", description=value)
    assert indexed_words(database, made["id"]) == fts5_words(value)
