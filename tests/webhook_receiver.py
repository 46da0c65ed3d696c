"""A webhook receiver on loopback for the tests: a threaded HTTP server that verifies every
delivery's signature with the `standardwebhooks` library, as a receiver would, and records it.

    with Receiver() as hook:                       # answers 200 to everything
        hook.secrets.append(secret)                # the secret(s) a delivery must verify with
        ...                                        # deliveries POST to hook.url
        hook.ids()                                 # Counter of webhook-id over 2xx answers

`answer(n)` decides the status of the n-th request (1-based); None makes the receiver hang:
it accepts, reads the request, and never answers until the receiver stops.

A test that checks deliveries itself, the way a user's receiver would (with the client's
`verify_webhook`), takes them one by one as they arrive, at any path of the receiver:

    url = hook.url_at("/shop")                     # tests tell theirs apart by the path
    delivery = hook.next("/shop", "ping_")         # waits for the next one (webhook-id prefix)
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

import orjson
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

Answer = Callable[[int], int | None]
# A hanging request waits at most this long (a test's deadline comes first).
HANG_S = 300.0
# A hang detector for `next`, not a speed claim (tests/e2e/background.py's DELIVERY_S).
WAIT_S = 45.0


@dataclass(frozen=True)
class Received:
    """One request as the receiver saw it."""

    number: int
    path: str
    webhook_id: str
    body: dict[str, Any]
    headers: dict[str, str]
    raw: bytes
    # The indexes (in Receiver.secrets) of the secrets whose signature verified.
    verified_by: tuple[int, ...]
    status: int | None


class Receiver:
    """Records deliveries; every whole one must verify with a known secret (else `bad` says
    so). A request cut short (its sender killed) is counted in `torn`, never verified."""

    def __init__(self, answer: Answer = lambda n: 200) -> None:
        self.answer = answer
        self.secrets: list[str] = []
        self.requests: list[Received] = []
        self.bad: list[str] = []
        # Requests cut short before their whole body arrived.
        self.torn = 0
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        # How many requests `next` has gone past (handed out, or passed by as another's).
        self.taken = 0
        self.release = threading.Event()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Where deliveries go."""
        return self.url_at("/hook")

    def url_at(self, path: str) -> str:
        """A URL of this receiver at another path."""
        return f"http://127.0.0.1:{self.server.server_address[1]}{path}"

    def next(self, path: str, id_prefix: str = "") -> Received:
        """The next request to `path` whose webhook-id starts with `id_prefix`; the others (of
        other tests, or a webhook's own changes when it wants every event) pass by."""
        with self.arrived:
            while True:
                if not self.arrived.wait_for(lambda: self.taken < len(self.requests), WAIT_S):
                    raise TimeoutError(f"no delivery to {path} within {WAIT_S} s")
                found = self.requests[self.taken]
                self.taken += 1
                if found.path == path and found.webhook_id.startswith(id_prefix):
                    return found

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)

    def delivered(self) -> list[Received]:
        """The requests answered with a 2xx."""
        with self.lock:
            return [r for r in self.requests if r.status is not None and 200 <= r.status < 300]

    def ids(self) -> Counter[str]:
        """How many times each webhook-id was delivered (answered 2xx)."""
        return Counter(r.webhook_id for r in self.delivered())

    def count(self) -> int:
        """Every request so far, whatever it was answered."""
        with self.lock:
            return len(self.requests)

    def _receive(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("content-length") or 0)
        raw = handler.rfile.read(length)
        if len(raw) < length:
            # The sender died mid-request (a SIGKILLed worker): nothing arrived to verify.
            with self.lock:
                self.torn += 1
            handler.close_connection = True
            return
        headers = {k.lower(): v for k, v in handler.headers.items()}
        verified = []
        for index, secret in enumerate(list(self.secrets)):
            try:
                Webhook(secret).verify(raw, headers)
            except WebhookVerificationError:
                continue
            verified.append(index)
        with self.lock:
            number = len(self.requests) + 1
            status = self.answer(number)
            try:
                body = orjson.loads(raw)
            except orjson.JSONDecodeError:
                body = {}
                self.bad.append(f"request {number}: not JSON")
            if not verified:
                self.bad.append(f"request {number} ({headers.get('webhook-id')}): no signature")
            self.requests.append(
                Received(
                    number,
                    handler.path,
                    headers.get("webhook-id", ""),
                    body,
                    headers,
                    raw,
                    tuple(verified),
                    status,
                )
            )
            self.arrived.notify_all()
        if status is None:
            self.release.wait(HANG_S)
            handler.close_connection = True
            return
        handler.send_response(status)
        handler.send_header("content-length", "0")
        handler.end_headers()

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                receiver._receive(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        return Handler
