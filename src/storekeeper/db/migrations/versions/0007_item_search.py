"""item search

Revision ID: 0007
Revises: 0005
Create Date: 2026-12-06

Full-text search over items' names and descriptions, kept in step by the database itself:
on SQLite an external-content FTS5 table (`items_fts`, tokenizer `unicode61 remove_diacritics
2`) filled by triggers on `items`; on PostgreSQL a stored generated `tsvector` column
(`items.search_vector`: the name at weight A, the description at weight B) with a GIN index.
Existing items are indexed here. docs/architecture.md ("Search") says why it is built so.

PostgreSQL folds words with `storekeeper_search_fold`, an IMMUTABLE SQL function, rather than
the `unaccent` extension: creating an extension needs a privilege managed deployments may not
grant and contrib may be missing, and unaccent folds letters that FTS5 keeps (ø, æ, ß, ł), so
the two databases would find different items. The function lowers the text, maps every
letter that FTS5's tokenizer folds to another (e acute -> e, long s -> s, final sigma ->
sigma) with translate() by the table below, read off SQLite's FTS5 itself for every letter of
the Basic Multilingual Plane, and turns every run of other characters than letters and
digits into one space, so PostgreSQL's parser cuts words where FTS5 does ("3.5" is the words
3 and 5 on both; PostgreSQL alone would keep "3.5" whole). The table is written out here,
not computed, so the schema never depends on the Python or SQLite that runs the migration.
"""

from __future__ import annotations

from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# The lowercase letters FTS5's unicode61 tokenizer (remove_diacritics 2) folds, and what to.
_FROM = (
    "\u00b5\u00e0\u00e1\u00e2\u00e3\u00e4\u00e5\u00e7\u00e8\u00e9\u00ea\u00eb\u00ec\u00ed"
    "\u00ee\u00ef\u00f1\u00f2\u00f3\u00f4\u00f5\u00f6\u00f9\u00fa\u00fb\u00fc\u00fd\u00ff"
    "\u0101\u0103\u0105\u0107\u0109\u010b\u010d\u010f\u0113\u0115\u0117\u0119\u011b\u011d"
    "\u011f\u0121\u0123\u0125\u0129\u012b\u012d\u012f\u0135\u0137\u013a\u013c\u013e\u0144"
    "\u0146\u0148\u014d\u014f\u0151\u0155\u0157\u0159\u015b\u015d\u015f\u0161\u0163\u0165"
    "\u0169\u016b\u016d\u016f\u0171\u0173\u0175\u0177\u017a\u017c\u017e\u017f\u01a1\u01b0"
    "\u01ce\u01d0\u01d2\u01d4\u01d6\u01d8\u01da\u01dc\u01df\u01e7\u01e9\u01eb\u01ed\u01f0"
    "\u01f5\u01f9\u01fb\u0201\u0203\u0205\u0207\u0209\u020b\u020d\u020f\u0211\u0213\u0215"
    "\u0217\u0219\u021b\u021f\u0227\u0229\u022b\u022d\u022f\u0231\u0233\u03c2\u03d0\u03d1"
    "\u03d5\u03d6\u03f0\u03f1\u03f5\u1e01\u1e03\u1e05\u1e07\u1e09\u1e0b\u1e0d\u1e0f\u1e11"
    "\u1e13\u1e15\u1e17\u1e19\u1e1b\u1e1d\u1e1f\u1e21\u1e23\u1e25\u1e27\u1e29\u1e2b\u1e2d"
    "\u1e2f\u1e31\u1e33\u1e35\u1e37\u1e39\u1e3b\u1e3d\u1e3f\u1e41\u1e43\u1e45\u1e47\u1e49"
    "\u1e4b\u1e4d\u1e4f\u1e51\u1e53\u1e55\u1e57\u1e59\u1e5b\u1e5d\u1e5f\u1e61\u1e63\u1e65"
    "\u1e67\u1e69\u1e6b\u1e6d\u1e6f\u1e71\u1e73\u1e75\u1e77\u1e79\u1e7b\u1e7d\u1e7f\u1e81"
    "\u1e83\u1e85\u1e87\u1e89\u1e8b\u1e8d\u1e8f\u1e91\u1e93\u1e95\u1e96\u1e97\u1e98\u1e99"
    "\u1e9b\u1ea1\u1ea3\u1ea5\u1ea7\u1ea9\u1eab\u1ead\u1eaf\u1eb1\u1eb3\u1eb5\u1eb7\u1eb9"
    "\u1ebb\u1ebd\u1ebf\u1ec1\u1ec3\u1ec5\u1ec7\u1ec9\u1ecb\u1ecd\u1ecf\u1ed1\u1ed3\u1ed5"
    "\u1ed7\u1ed9\u1edb\u1edd\u1edf\u1ee1\u1ee3\u1ee5\u1ee7\u1ee9\u1eeb\u1eed\u1eef\u1ef1"
    "\u1ef3\u1ef5\u1ef7\u1ef9\u1fbe"
)
_TO = (
    "\u03bcaaaaaaceeeeiiiinooooouuuuyyaaaccccdeeeeegggghiiiijklllnnnooorrrssssttuuuuuuwyz"
    "zzsouaiouuuuuagkoojgnaaaeeiioorruusthaeooooy\u03c3\u03b2\u03b8\u03c6\u03c0\u03ba"
    "\u03c1\u03b5abbbcdddddeeeeefghhhhhiikkkllllmmmnnnnoooopprrrrsssssttttuuuuuvvwwwwwxxy"
    "zzzhtwysaaaaaaaaaaaaeeeeeeeeiioooooooooooouuuuuuuyyyy\u03b9"
)

_FOLD = f"""
CREATE FUNCTION storekeeper_search_fold(value text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
SELECT btrim(regexp_replace(translate(lower(value), '{_FROM}', '{_TO}'), '[^[:alnum:]]+', ' ', 'g'))
$$
"""

_VECTOR = (
    "setweight(to_tsvector('simple'::regconfig, storekeeper_search_fold(name)), 'A') || "
    "setweight(to_tsvector('simple'::regconfig, storekeeper_search_fold(description)), 'B')"
)

_SQLITE_UP = [
    # prefix='2 3': prefix indexes for the short prefixes a user types first; longer ones are
    # answered from the main index.
    "CREATE VIRTUAL TABLE items_fts USING fts5(name, description, content='items', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2', prefix='2 3')",
    "CREATE TRIGGER items_fts_insert AFTER INSERT ON items BEGIN "
    "INSERT INTO items_fts (rowid, name, description) "
    "VALUES (new.id, new.name, new.description); END",
    "CREATE TRIGGER items_fts_delete AFTER DELETE ON items BEGIN "
    "INSERT INTO items_fts (items_fts, rowid, name, description) "
    "VALUES ('delete', old.id, old.name, old.description); END",
    "CREATE TRIGGER items_fts_update AFTER UPDATE OF name, description ON items BEGIN "
    "INSERT INTO items_fts (items_fts, rowid, name, description) "
    "VALUES ('delete', old.id, old.name, old.description); "
    "INSERT INTO items_fts (rowid, name, description) "
    "VALUES (new.id, new.name, new.description); END",
    # The backfill: an external-content table indexes the rows of `items` that exist now.
    "INSERT INTO items_fts (items_fts) VALUES ('rebuild')",
]

_SQLITE_DOWN = [
    "DROP TRIGGER items_fts_update",
    "DROP TRIGGER items_fts_delete",
    "DROP TRIGGER items_fts_insert",
    "DROP TABLE items_fts",
]

_POSTGRESQL_UP = [
    _FOLD,
    # A stored generated column: PostgreSQL computes it for every existing row here (the
    # backfill) and on every insert and update from then on.
    f"ALTER TABLE items ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({_VECTOR}) STORED",
    "CREATE INDEX ix_items_search_vector ON items USING gin (search_vector)",
]

_POSTGRESQL_DOWN = [
    "DROP INDEX ix_items_search_vector",
    "ALTER TABLE items DROP COLUMN search_vector",
    "DROP FUNCTION storekeeper_search_fold(text)",
]


def _run(statements: dict[str, list[str]]) -> None:
    for statement in statements[op.get_bind().dialect.name]:
        op.execute(statement)


def upgrade() -> None:
    _run({"sqlite": _SQLITE_UP, "postgresql": _POSTGRESQL_UP})


def downgrade() -> None:
    _run({"sqlite": _SQLITE_DOWN, "postgresql": _POSTGRESQL_DOWN})
