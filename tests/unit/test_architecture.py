"""The dependency rules of docs/architecture.md, kept true by a test."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).parents[2] / "src" / "storekeeper"


def imports_of(path: Path) -> set[str]:
    """Top-level names of every module a file imports."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def files(sub: str) -> list[Path]:
    """The Python files of a subpackage."""
    return sorted((PACKAGE / sub).rglob("*.py"))


@pytest.mark.parametrize("path", files("domain"), ids=lambda p: p.name)
def test_domain_imports_only_the_standard_library(path: Path) -> None:
    for name in imports_of(path):
        top = name.split(".")[0]
        assert top in sys.stdlib_module_names or name.startswith("storekeeper.domain"), name


@pytest.mark.parametrize("path", files("db"), ids=lambda p: p.name)
def test_persistence_does_not_know_flask(path: Path) -> None:
    assert not {n for n in imports_of(path) if n.split(".")[0] in {"flask", "werkzeug"}}


@pytest.mark.parametrize("path", files("http"), ids=lambda p: p.name)
def test_http_layer_builds_no_sql(path: Path) -> None:
    assert not {n for n in imports_of(path) if n.split(".")[0] in {"sqlalchemy", "psycopg"}}


@pytest.mark.parametrize("path", files("http"), ids=lambda p: p.name)
def test_http_layer_reaches_persistence_only_through_its_unit_of_work(path: Path) -> None:
    # Repositories, sessions and their errors are the composition root's to wire; a handler
    # gets a unit of work (domain.ports.UnitsOfWork) and the errors the domain defines.
    assert not {n for n in imports_of(path) if n.startswith("storekeeper.db")}


def test_only_the_composition_roots_import_persistence() -> None:
    importers = sorted(
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*.py")
        if "db" not in p.relative_to(PACKAGE).parts
        and any(n.startswith("storekeeper.db") for n in imports_of(p))
    )
    # app.py wires the server's services, background/worker.py the worker's; cli.py opens
    # the database for its commands.
    assert importers == ["app.py", "background/worker.py", "cli.py"]


def test_security_does_not_know_flask_or_sql() -> None:
    names = {n.split(".")[0] for n in imports_of(PACKAGE / "security.py")}
    assert not names & {"flask", "werkzeug", "sqlalchemy"}


def test_only_settings_reads_the_environment() -> None:
    readers = [
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*.py")
        if "os.environ" in p.read_text() or "getenv" in p.read_text()
    ]
    # metrics reads prometheus_client's own PROMETHEUS_MULTIPROC_DIR, which the server hands
    # its workers through gunicorn's raw_env setting.
    assert sorted(readers) == ["metrics.py", "settings.py"]


@pytest.mark.parametrize("path", files("webhooks"), ids=lambda p: p.name)
def test_webhooks_need_only_the_standard_library_and_the_domain(path: Path) -> None:
    # The server checks URLs with it and the worker sends with it: no Flask, no SQL, and no
    # HTTP client library (docs/architecture.md, "Webhooks: the sender").
    for name in imports_of(path):
        top = name.split(".")[0]
        assert top in sys.stdlib_module_names or name.startswith(
            ("storekeeper.webhooks", "storekeeper.domain")
        ), name
