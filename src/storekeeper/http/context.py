"""The running app's services, and the unit of work and caller a handler uses."""

from __future__ import annotations

from contextlib import AbstractContextManager

from flask import current_app

from storekeeper.domain.model import Actor
from storekeeper.domain.ports import Work
from storekeeper.http.state import state
from storekeeper.services import Services

SERVICES = "storekeeper"


def services() -> Services:
    """The services the composition root (app.create_app) built for the running app."""
    found: Services = current_app.extensions[SERVICES]
    return found


def unit_of_work(write: bool = False) -> AbstractContextManager[Work]:
    """One transaction for the request's use case."""
    return services().units(write)


def actor() -> Actor | None:
    """The authenticated caller, resolved before the handler (None without a token)."""
    caller = state().caller
    return None if caller is None else caller.actor
