"""The running app's services, as the composition root (app.create_app) built them."""

from __future__ import annotations

from flask import current_app

from storekeeper.services import Services

SERVICES = "storekeeper"


def services() -> Services:
    """The services the composition root (app.create_app) built for the running app."""
    found: Services = current_app.extensions[SERVICES]
    return found
