"""The WSGI entry point for production servers: `storekeeper.wsgi:make_app` (a factory)."""

from __future__ import annotations

import logging
import os

from flask import Flask

from storekeeper.app import create_app
from storekeeper.settings import load_settings


def make_app() -> Flask:
    """Build the app from the environment (called once in each worker process)."""
    app = create_app(load_settings())
    # Operators (and the worker-kill test) can tell a started worker from one still booting.
    logging.getLogger("storekeeper.server").info("worker %d ready", os.getpid())
    return app
