"""A webhook receiver on loopback that hands each delivery to the test as it arrives, unchecked,
so that the test verifies it the way a user's receiver would (with the client's
`verify_webhook`); tests/webhook_receiver.py is the one that checks and counts for the
delivery tests.

    with Inbox() as inbox:
        url = inbox.url("/shop")                 # any path: tests tell theirs apart by it
        delivery = inbox.next("/shop", "ping_")  # waits for the next one (webhook-id prefix)
"""

from __future__ import annotations

import queue
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

# A hang detector, not a speed claim (tests/e2e/background.py's DELIVERY_S).
WAIT_S = 45.0


@dataclass(frozen=True)
class Delivery:
    """One POST as received: its path, headers (lower-case names) and raw body."""

    path: str
    headers: dict[str, str]
    body: bytes


class Inbox:
    """Answers 204 to every POST at once and queues it for the test."""

    def __init__(self) -> None:
        self.taken: queue.Queue[Delivery] = queue.Queue()
        taken = self.taken

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                headers = {name.lower(): value for name, value in self.headers.items()}
                taken.put(Delivery(self.path, headers, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass  # the test says what went wrong

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        """A URL of this receiver."""
        return f"http://127.0.0.1:{self.server.server_port}{path}"

    def next(self, path: str, id_prefix: str = "") -> Delivery:
        """The next delivery to `path` whose webhook-id starts with `id_prefix`; the others (of
        other tests, or a webhook's own changes when it wants every event) pass by."""
        while True:
            delivery = self.taken.get(timeout=WAIT_S)
            if delivery.path == path and delivery.headers["webhook-id"].startswith(id_prefix):
                return delivery

    def __enter__(self) -> Inbox:
        self.thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(10)
