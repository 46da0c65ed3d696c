"""gunicorn's settings for Storekeeper, the app it serves, `python -m storekeeper.serving`."""

from __future__ import annotations

import argparse
import importlib
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from gunicorn.app.base import BaseApplication

from storekeeper.serving import hooks
from storekeeper.serving.connection import WsgiApp, served
from storekeeper.serving.handoff import take_over
from storekeeper.serving.limits import LIMITS
from storekeeper.settings import MULTIPROC_ENV


def options(host: str, port: int, workers: int, metrics: Path) -> dict[str, object]:
    """gunicorn's settings: Storekeeper's limits, worker class and hooks."""
    return {
        "bind": [f"[{host}]:{port}" if ":" in host else f"{host}:{port}"],
        "workers": workers,
        "worker_class": "storekeeper.serving.worker.Worker",
        "worker_connections": LIMITS.connections_per_worker,
        "backlog": LIMITS.backlog,
        "keepalive": LIMITS.header_timeout_s,
        "timeout": LIMITS.heartbeat_timeout_s,
        "graceful_timeout": LIMITS.graceful_timeout_s,
        "limit_request_line": LIMITS.max_request_line,
        "limit_request_fields": LIMITS.max_header_fields,
        "limit_request_field_size": LIMITS.max_header_field,
        # Client addresses and schemes are the app's business (STOREKEEPER_TRUSTED_PROXIES):
        # gunicorn trusts no forwarding header from anyone.
        "forwarded_allow_ips": "",
        "proxy_allow_ips": "",
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "warning",
        "proc_name": "storekeeper",
        # Every worker writes its metric samples to one folder, and /metrics adds up all of
        # them; gunicorn sets the variable before a worker imports prometheus_client.
        "raw_env": [f"{MULTIPROC_ENV}={metrics}"],
        "when_ready": hooks.when_ready,
        "post_worker_init": hooks.post_worker_init,
        "pre_request": hooks.pre_request,
        "post_request": hooks.post_request,
        "worker_int": hooks.worker_int,
        **hooks.metrics_files(metrics),
    }


class Server(BaseApplication):  # type: ignore[misc]
    """A WSGI application, made in each worker, served with Storekeeper's settings."""

    def __init__(self, make: Callable[[], WsgiApp], settings: dict[str, object]) -> None:
        self._make = make
        self._settings = settings
        super().__init__()

    def load_config(self) -> None:
        """Apply the settings (gunicorn's documented way for a custom application)."""
        for key, value in self._settings.items():
            self.cfg.set(key, value)

    def load(self) -> WsgiApp:
        """The application, called in each worker after gevent has patched it."""
        return served(self._make())


def _target(name: str) -> Any:
    module, _, attribute = name.partition(":")
    return getattr(importlib.import_module(module), attribute)


def maker(target: str, factory: bool, settings_fd: int | None) -> Callable[[], WsgiApp]:
    """How a worker makes the app: the target, or what calling it returns (with the settings)."""
    if settings_fd is not None:
        settings = take_over(settings_fd)  # once, here in the arbiter; workers inherit it
        return lambda: _target(target)(settings)
    if factory:
        return lambda: _target(target)()
    return lambda: _target(target)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve a WSGI target (`module:name`); what `storekeeper serve` execs."""
    parser = argparse.ArgumentParser(prog="python -m storekeeper.serving")
    parser.add_argument("target")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--factory", action="store_true", help="call the target to get the app")
    parser.add_argument(
        "--settings-fd", type=int, help="call the target with the Settings read from this pipe"
    )
    args = parser.parse_args(argv)
    make = maker(args.target, args.factory, args.settings_fd)
    metrics = Path(tempfile.mkdtemp(prefix="storekeeper-metrics-"))
    Server(make, options(args.host, args.port, args.workers, metrics)).run()
    return 0
