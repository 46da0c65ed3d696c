"""Full-text search over items: which items match a search, and their relevance, per database.

Migration 0007 builds the index (SQLite: the FTS5 table `items_fts` kept by triggers;
PostgreSQL: the generated column `items.search_vector` with its GIN index). The words come
from domain/search.py, letters and digits only, so no operator of either engine can be in
them; each database folds them itself (FTS5 with the same tokenizer as its index,
PostgreSQL with the same `storekeeper_search_fold` as its column), so a word always meets the
words it was indexed as.

The relevance is the integer of domain/search.py, not bm25 or ts_rank: for each word,
NAME_WEIGHT when it starts a word of the name, DESCRIPTION_WEIGHT when it starts a word of
the description. Both databases compute it from which columns match, so they order alike.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Table,
    case,
    cast,
    func,
    literal,
    literal_column,
    select,
    table,
)
from sqlalchemy import column as sql_column
from sqlalchemy.dialects.postgresql import REGCONFIG, TSVECTOR

from storekeeper.domain.search import DESCRIPTION_WEIGHT, NAME_WEIGHT, SearchTerms

# What migration 0007 made outside the models (Alembic's comparison leaves them alone:
# db/migrations/env.py).
FTS_TABLE = "items_fts"
VECTOR_COLUMN = "search_vector"
VECTOR_INDEX = "ix_items_search_vector"

_fts = table(FTS_TABLE, sql_column("rowid", Integer))
_FTS_MATCH: ColumnElement[Any] = sql_column(
    FTS_TABLE
)  # `items_fts MATCH ...` names the table itself


def is_search_object(name: str | None, kind: str) -> bool:
    """Whether a schema object is the search index's (made by SQL in 0007, not by a model)."""
    if name is None:
        return False
    if kind == "table":
        # FTS5 keeps its index in shadow tables named after its own.
        return name == FTS_TABLE or name.startswith(f"{FTS_TABLE}_")
    return (kind, name) in {("column", VECTOR_COLUMN), ("index", VECTOR_INDEX)}


def include_name(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic's filter for comparing models and database: everything but the search index
    (0007 makes it in each database's own SQL, which no model holds)."""
    return not is_search_object(name, type_)


class ItemSearch:
    """A search's condition and relevance on one database, for the items table."""

    def __init__(self, dialect: str, items: Table, terms: SearchTerms) -> None:
        self._sqlite = dialect == "sqlite"
        self._items = items
        self._words = terms.words

    # SQLite: FTS5 query strings. A word is quoted (it holds no quote: letters and digits
    # only) and made a prefix with `*`; `{name}:` limits a term to one column.

    def _fts_ids(self, expression: str) -> Any:
        return select(_fts.c.rowid).where(_FTS_MATCH.op("MATCH")(literal(expression)))

    def _fts_has(self, expression: str) -> ColumnElement[bool]:
        return self._items.c.id.in_(self._fts_ids(expression))

    # PostgreSQL: tsquery terms `'word':*` (prefix), `:*A` (only in the name), `:*B` (only
    # in the description), each word folded by the function that folds the indexed text.

    def _tsquery(self, word: str, weights: str = "") -> ColumnElement[Any]:
        folded = func.storekeeper_search_fold(literal(word))
        term = func.quote_literal(folded).concat(f":*{weights}")
        # A scalar subquery, so PostgreSQL makes the tsquery once per statement (an InitPlan)
        # even in the generic plan of a prepared statement (psycopg prepares a statement run
        # five times), where the word is a parameter: as a plain expression it would then be
        # folded again for every row, and the GIN index could not be used.
        return select(func.to_tsquery(cast(literal("simple"), REGCONFIG), term)).scalar_subquery()

    def _vector_has(self, query: ColumnElement[Any]) -> ColumnElement[bool]:
        vector = literal_column(f"{self._items.name}.{VECTOR_COLUMN}", TSVECTOR)
        return vector.bool_op("@@")(query)

    def condition(self) -> ColumnElement[bool]:
        """Items with every word as the start of a word of their name or description."""
        if self._sqlite:
            return self._fts_has(" AND ".join(f'"{w}"*' for w in self._words))
        queries = [self._tsquery(w) for w in self._words]
        combined = queries[0]
        for query in queries[1:]:
            combined = combined.op("&&")(query)
        return self._vector_has(combined)

    def _in_name(self, word: str) -> ColumnElement[bool]:
        if self._sqlite:
            return self._fts_has(f'{{name}}: "{word}"*')
        return self._vector_has(self._tsquery(word, "A"))

    def _in_description(self, word: str) -> ColumnElement[bool]:
        if self._sqlite:
            return self._fts_has(f'{{description}}: "{word}"*')
        return self._vector_has(self._tsquery(word, "B"))

    def score(self) -> ColumnElement[int]:
        """The relevance of a matching item: an integer, higher first (domain/search.py)."""
        parts: list[ColumnElement[int]] = []
        for word in self._words:
            parts.append(case((self._in_name(word), NAME_WEIGHT), else_=0))
            parts.append(case((self._in_description(word), DESCRIPTION_WEIGHT), else_=0))
        total = parts[0]
        for part in parts[1:]:
            total = total + part
        return total
