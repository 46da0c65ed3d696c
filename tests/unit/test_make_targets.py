"""Every `make TARGET` the project tells a reader to run is a target the Makefile has."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parents[2]
# What a reader or a user meets: the guides and every message the code prints.
SOURCES = ["README.md", "docs", "deploy", "src", "bench", "clients/python", "tests"]
MENTION = re.compile(r"`make ([a-z][a-z-]*)")
TARGET = re.compile(r"^([a-z][a-z-]*):", re.M)


def _mentions() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for source in SOURCES:
        path = ROOT / source
        for file in [path] if path.is_file() else path.rglob("*"):
            if file.suffix in {".md", ".py"} and file.is_file():
                for target in MENTION.findall(file.read_text(encoding="utf-8")):
                    found.setdefault(target, set()).add(str(file.relative_to(ROOT)))
    return found


def test_every_make_command_named_exists() -> None:
    targets = set(TARGET.findall((ROOT / "Makefile").read_text()))
    mentions = _mentions()
    assert {"run", "test", "cluster", "deploy-tools"} <= set(mentions)
    assert {name: files for name, files in mentions.items() if name not in targets} == {}
