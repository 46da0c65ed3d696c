"""The client README's example runs as written against a live server, and runs again."""

from __future__ import annotations

from pathlib import Path

import pytest

README = Path(__file__).parents[2] / "clients/python/README.md"
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("client")]


def example() -> str:
    """The Python block between the example markers."""
    block = README.read_text().split("<!-- example:start -->")[1].split("<!-- example:end -->")[0]
    return block.split("```python\n", 1)[1].split("```", 1)[0]


def test_the_readme_example_runs_twice_against_one_server(
    base_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = example()
    assert "http://127.0.0.1:8000" in code
    compiled = compile(code.replace("http://127.0.0.1:8000", base_url), str(README), "exec")
    for _ in range(2):
        exec(compiled, {})  # noqa: S102 - our own README, the point of the test
        printed = capsys.readouterr().out.splitlines()
        assert printed[0] == "79.96"
        assert printed[1].startswith("412 ")
