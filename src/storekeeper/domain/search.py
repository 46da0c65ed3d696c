"""Full-text search's rules in plain Python: a query's words and how relevance is scored.

The user's text never reaches a database as query syntax. It is cut into words here (runs of
letters and digits), and the databases get the words alone: db/search.py turns each into a
prefix term of its engine (FTS5's `"word"*`, PostgreSQL's `'word':*`) and ANDs them. Quotes,
`NEAR`, `*`, `:`, `&`, `|`, `!` and parentheses are never words, so they can never be
operators. Case and accents are folded by each database, with the very function that folded
the indexed text (FTS5's tokenizer; PostgreSQL's storekeeper_search_fold, built to fold as
that tokenizer does): folding here as well could only disagree with them (Python would strip
the Greek tonos, which FTS5 keeps, and the query would miss the word it was typed from).

Relevance is an integer both databases compute the same way (db/search.py), not bm25 or
ts_rank: those are floats from different formulas (bm25 weighs a word by how rare it is in the
whole table, ts_rank does not), so the two databases would order the same rows differently.
For each query word an item scores NAME_WEIGHT when a word of its name starts with it and
DESCRIPTION_WEIGHT when a word of its description does; equal scores go by id, so the order
is total and keyset pages hold.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from storekeeper.domain.errors import Invalid

SEARCH_MAX_CHARS = 200
SEARCH_MAX_WORDS = 32
NAME_WEIGHT = 2
DESCRIPTION_WEIGHT = 1

# Letters and digits of any script; "_" is a word character to Python's \w but a separator to
# both databases' tokenizers, so it is left out.
_WORD = re.compile(r"[^\W_]+")


@dataclass(frozen=True, slots=True)
class SearchTerms:
    """The words of a search, folded, each to be matched as a prefix of some word (AND)."""

    words: tuple[str, ...]

    @property
    def best_score(self) -> int:
        """The score of an item whose name and description both match every word."""
        return len(self.words) * (NAME_WEIGHT + DESCRIPTION_WEIGHT)


def parse_search(text: str) -> SearchTerms:
    """The words of the user's text; Invalid on `search` when it holds none, or too many.

    NFKC first, so full-width letters and ligatures read as the plain ones; words repeated
    (in any case) count once: a repeated word would add nothing to what must match, only to
    the score.
    """
    words: list[str] = []
    seen: set[str] = set()
    for word in _WORD.findall(unicodedata.normalize("NFKC", text)):
        # lower, not casefold: casefold makes "ß" "ss", two words to both engines.
        if word.lower() not in seen:
            seen.add(word.lower())
            words.append(word)
    if not words:
        raise Invalid.field("search", "must contain at least one letter or digit")
    if len(words) > SEARCH_MAX_WORDS:
        raise Invalid.field("search", f"must contain at most {SEARCH_MAX_WORDS} different words")
    return SearchTerms(tuple(words))
