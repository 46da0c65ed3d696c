"""Bearer tokens that renew themselves: the access token is refreshed when it expires."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator
from dataclasses import dataclass

import httpx

from storekeeper_client.models import AccessTokenOut, TokensOut
from storekeeper_client.wire import decode

# Refresh this long before the access token's own expiry, so a request never leaves with a
# token that dies on the way (and a slightly fast server clock costs nothing).
EXPIRY_MARGIN_S = 5.0


@dataclass
class Session:
    """The tokens of one login; `expires_at` is on this process's monotonic clock."""

    access_token: str
    refresh_token: str
    expires_at: float

    @classmethod
    def from_login(cls, tokens: TokensOut) -> Session:
        """The session a login answer starts."""
        expires_at = time.monotonic() + tokens.expires_in
        return cls(tokens.access_token, tokens.refresh_token, expires_at)

    def expired(self) -> bool:
        """Whether the access token is (about to be) too old to use."""
        return time.monotonic() >= self.expires_at - EXPIRY_MARGIN_S


class TokenAuth(httpx.Auth):
    """Sends the session's access token; refreshes it when it expires or the server says 401.

    When the refresh itself is refused (the session was logged out, or the refresh token has
    expired too), its 401 is the answer the caller gets.
    """

    requires_response_body = True

    def __init__(self, session: Session, refresh_url: str) -> None:
        self.session = session
        self.refresh_url = refresh_url
        self.refreshes = 0  # how many times the access token was renewed
        self._lock = threading.Lock()

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Authorize the request, renewing the access token before or after as needed."""
        with self._lock:
            stale = self.session.expired()
        if stale:
            yield from self._refresh()
        request.headers["Authorization"] = f"Bearer {self.session.access_token}"
        response = yield request
        if response.status_code != 401:
            return
        used = request.headers["Authorization"].removeprefix("Bearer ")
        if used == self.session.access_token and not (yield from self._refresh()):
            return
        request.headers["Authorization"] = f"Bearer {self.session.access_token}"
        yield request

    def _refresh(self) -> Generator[httpx.Request, httpx.Response, bool]:
        refresh = httpx.Request(
            "POST",
            self.refresh_url,
            headers={"Authorization": f"Bearer {self.session.refresh_token}"},
        )
        answer = yield refresh
        if answer.status_code != 200:
            return False
        token = AccessTokenOut.model_validate(decode(answer.content))
        with self._lock:
            self.session.access_token = token.access_token
            self.session.expires_at = time.monotonic() + token.expires_in
            self.refreshes += 1
        return True
