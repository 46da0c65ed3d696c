"""The benchmark harness runs end to end (its smoke mode: seconds, not minutes)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("wrk") is None, reason="wrk is not installed (make wrk)")
def test_bench_smoke_writes_results(tmp_path: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "bench.run", "--smoke", "--out", str(tmp_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    report = json.loads((tmp_path / "latest.json").read_text())
    names = {s["scenario"] for s in report["scenarios"]}
    assert {
        "GET /item/{id}",
        "GET /item/{id} with token, budgets on",
        "POST /item",
        "floor: minimal Flask",
        "floor: minimal Flask on granian",
    } <= names
    for scenario in report["scenarios"]:
        assert {"scenario", "db", "rps", "p50_ms", "p99_ms", "ratio_to_flask_floor"} <= set(
            scenario
        )
        assert scenario["rps"] > 0, scenario
    # The peers of bench/peers.json beside our figures, and a verdict on every target.
    assert {row["scenario"] for row in report["peers"]} >= {"POST /item", "GET /item?limit=50"}
    assert any(row["storekeeper (sqlite)"] for row in report["peers"])
    assert {
        "GET /item/{id} (sqlite)",
        "POST /item, synchronous=FULL (sqlite)",
        "GET /item/{id} with a token, request budgets on vs off (sqlite)",
    } <= {t["target"] for t in report["targets"]}
    markdown = (tmp_path / "latest.md").read_text()
    assert markdown.startswith("# Storekeeper benchmark")
    assert "## Beside the peers" in markdown
