"""The server where Linux's socket options are missing (macOS has no TCP_CORK)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.live import live_server, round_trip

# Loaded by every Python process the server starts (the arbiter and its forked workers alike),
# before the server's own imports; the marker proves it ran.
WITHOUT_CORK = """\
import pathlib, socket
del socket.TCP_CORK
if "TCP_CORK" in socket.__all__:
    socket.__all__.remove("TCP_CORK")
pathlib.Path(__file__).with_name("ran").touch()
"""


@pytest.mark.slow
def test_serves_without_tcp_cork(tmp_path: Path) -> None:
    (tmp_path / "sitecustomize.py").write_text(WITHOUT_CORK)
    with live_server(workers=1, PYTHONPATH=str(tmp_path)) as base:
        round_trip(base, "ada", "Corner")
    assert (tmp_path / "ran").exists()
