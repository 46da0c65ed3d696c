"""One request of a load loop, the way `make soak` and the worker-kill test both count it.

A load loop runs against a server whose workers are killed: a connection cut with its
worker is no answer (and no acknowledgement), while no answer within the timeout is a hang,
which the caller's tally records as a failure.
"""

from __future__ import annotations

import time
from typing import Any, Protocol

import requests


class Tally(Protocol):
    """What a load loop records, each method safe to call from any of its threads."""

    @property
    def timeout_s(self) -> float:
        """How long a request may wait for its answer before it counts as a hang."""

    def answered(self, what: str, answer: requests.Response | None, seconds: float) -> None:
        """A request ended: its answer, or None when the connection was cut."""

    def hung(self, what: str) -> None:
        """A request had no answer within `timeout_s`."""

    def acknowledge(self, item: int) -> None:
        """The server acknowledged the creation of `item`: it must be there afterwards."""


def call(
    tally: Tally, session: requests.Session, method: str, url: str, **kwargs: Any
) -> requests.Response | None:
    """A request, recorded in `tally`; None when it was cut off or hung."""
    what = f"{method} {url}"
    started = time.monotonic()
    try:
        answer = session.request(method, url, timeout=tally.timeout_s, **kwargs)
    except requests.Timeout:
        # Checked before ConnectionError, which ConnectTimeout also is: a hang, not a cut.
        tally.hung(what)
        return None
    except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError):
        # Cut off with its worker, before or while the answer was sent: not acknowledged.
        answer = None
    tally.answered(what, answer, time.monotonic() - started)
    return answer


def create_item(
    tally: Tally, session: requests.Session, url: str, body: dict[str, Any]
) -> int | None:
    """POST an item to `url`; its id once the server acknowledged it (201), else None."""
    created = call(tally, session, "POST", url, json=body)
    if created is None or created.status_code != 201:
        return None
    item: int = created.json()["id"]
    tally.acknowledge(item)
    return item
