"""The WSGI entry point for production servers: `storekeeper.wsgi:make_app` (a factory)."""

from __future__ import annotations

from flask import Flask

from storekeeper.app import create_app
from storekeeper.settings import load_settings


def make_app() -> Flask:
    """Build the app from the environment (called once in each worker process)."""
    return create_app(load_settings())
