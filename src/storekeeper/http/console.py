"""The web console: the landing page, the console's pages and assets, and its cookie session.

The console is a client of the public API like any other. The one thing a browser page needs
that the API lacks is a place for the refresh token that no script can read: these session
endpoints keep it in an HttpOnly cookie and trade it for access tokens. They are meant for
the console's own pages only (same-origin, cookie-bound), not for API clients, which use
/login and /refresh; so they stay out of the OpenAPI document, like the pages themselves.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from urllib.parse import urlsplit

from flask import Blueprint, Response, request
from werkzeug.exceptions import NotFound
from werkzeug.security import safe_join

from storekeeper.domain import accounts
from storekeeper.domain.accounts import ACCOUNTS
from storekeeper.domain.errors import Unauthenticated
from storekeeper.http.bodies import respond
from storekeeper.http.context import services
from storekeeper.http.identity import bearer_claims
from storekeeper.http.problems import ApiError, problem
from storekeeper.http.users import NO_STORE, AccessTokenOut
from storekeeper.security import Claims, TokenError

bp = Blueprint("console", __name__)
STATIC = Path(__file__).resolve().parent.parent / "console" / "static"
SESSION_PATH = "/console/session"
COOKIE = "storekeeper_refresh"
# The only files served, by suffix: nothing else in the folder is reachable.
_TYPES = {".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml"}
# The console's pages run only the package's own files: no inline script, no eval, no
# other origin; the API is reached at the same origin. Images may also be blob: URLs: the
# preview of a photo before it is uploaded, made in the page from the chosen file.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _in_session(path: str) -> bool:
    return path == SESSION_PATH or path.startswith(SESSION_PATH + "/")


def page_csp(path: str) -> str | None:
    """The Content-Security-Policy of a console page or asset; None for anything else."""
    if path == "/" or (path.startswith("/console/") and not _in_session(path)):
        return PAGE_CSP
    return None


def _file(path: Path, mimetype: str) -> Response:
    """A file of the package, revalidated on every use (304 while its ETag holds)."""
    data = path.read_bytes()
    response = Response(data, mimetype=mimetype)
    response.set_etag(hashlib.blake2b(data, digest_size=16).hexdigest())
    response.headers["Cache-Control"] = "no-cache"
    response.make_conditional(request)
    return response


@bp.get("/")
def landing() -> Response:
    """What this is, with links to the console, the interactive docs and the OpenAPI document."""
    return _file(STATIC / "landing.html", "text/html")


@bp.get("/console/")
@bp.get("/console/<path:page>")
def console_page(page: str = "") -> Response:
    """The console's single page; it routes every /console/ path itself."""
    if _in_session(request.path):  # those paths answer only their own methods
        raise NotFound()
    return _file(STATIC / "console.html", "text/html")


@bp.get("/console/assets/<path:name>")
def console_asset(name: str) -> Response:
    """A script, style sheet or icon of the console."""
    mimetype = _TYPES.get(Path(name).suffix)
    found = safe_join(str(STATIC / "assets"), name)
    if mimetype is None or found is None or not Path(found).is_file():
        raise NotFound()
    return _file(Path(found), mimetype)


def _same_origin() -> None:
    """CSRF defence in depth: only this site's own pages may use the session endpoints.

    The cookie is SameSite=Strict already; browsers also say where a request comes from
    (Sec-Fetch-Site, Origin), and anything not from this origin is refused.
    """
    site = request.headers.get("Sec-Fetch-Site")
    origin = request.headers.get("Origin")
    host = urlsplit(origin).netloc if origin else None
    public = urlsplit(services().settings.public_origin).netloc
    if (site is not None and site != "same-origin") or host not in (request.host, public):
        raise ApiError(403, "Only the console's own pages may use its session.")


def _renew(claims: Claims) -> str:
    """A new access token for a refresh token's session; Unauthenticated once it was revoked."""
    with services().units() as work:
        actor = accounts.authenticate(
            work[ACCOUNTS], claims.user_id, claims.session_id, claims.stamp, "refresh"
        )
    return accounts.refresh(services().tokens, actor, claims.session_id, claims.stamp)


def _forget(response: Response) -> Response:
    response.delete_cookie(COOKIE, path=SESSION_PATH, httponly=True, samesite="Strict")
    return response


@bp.post(SESSION_PATH)
def open_session() -> Response:
    """Keep the session's refresh token (sent as Bearer) in an HttpOnly cookie."""
    _same_origin()
    claims = bearer_claims(services().tokens, "refresh")
    if claims is None:
        raise Unauthenticated("This operation needs a refresh token.")
    _renew(claims)  # the token it makes is not needed: the call checks the session is live
    response = Response(status=204, headers=NO_STORE)
    response.set_cookie(
        COOKIE,
        request.headers["Authorization"].partition(" ")[2].strip(),
        expires=claims.expires_at,
        path=SESSION_PATH,
        secure=services().settings.public_origin.startswith("https:") or request.is_secure,
        httponly=True,
        samesite="Strict",
    )
    return response


@bp.post(f"{SESSION_PATH}/token")
def session_token() -> Response:
    """A fresh access token for the session in the cookie; 401 (and no cookie) when it ended.

    Without a cookie there is no session to resume: 204, since a page opened by someone who
    is not signed in is not an error.
    """
    _same_origin()
    token = request.cookies.get(COOKIE)
    if not token:
        return Response(status=204, headers=NO_STORE)
    try:
        access = _renew(services().tokens.verify(token, "refresh"))
    except (TokenError, Unauthenticated):
        return _forget(problem(401, "The console session has ended; sign in again."))
    ttl = services().tokens.access_ttl
    body = {"access_token": access, "token_type": "Bearer", "expires_in": ttl}
    return respond(AccessTokenOut, body, 200, NO_STORE)


@bp.delete(SESSION_PATH)
def close_session() -> Response:
    """Forget the cookie (the console revokes the session itself with POST /logout)."""
    _same_origin()
    return _forget(Response(status=204, headers=NO_STORE))
