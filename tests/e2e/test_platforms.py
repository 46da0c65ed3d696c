"""The server where Linux's socket options are missing (macOS has no TCP_CORK)."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from tests.e2e.live import live_server, login_token

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
        headers = {"Authorization": f"Bearer {login_token(base)}"}
        created = requests.post(
            f"{base}/store", json={"name": "Corner"}, headers=headers, timeout=10
        )
        assert created.status_code == 201, created.text
        listed = requests.get(f"{base}/store", timeout=10)
        assert listed.status_code == 200
        assert [store["name"] for store in listed.json()] == ["Corner"]
    assert (tmp_path / "ran").exists()
