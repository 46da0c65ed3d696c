"""The console's server side: the landing page, pages and assets, and the cookie session.

The browser tests (tests/console) drive these through Chromium; here each rule of the
endpoints is checked on its own, on both databases, including what a browser never sends.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from flask.testing import FlaskClient

from storekeeper.app import create_app
from storekeeper.db.session import Database
from storekeeper.http.console import COOKIE, PAGE_CSP, SESSION_PATH, STATIC
from tests.helpers import ProvisionedDatabase, User, auth, make_settings

SAME_ORIGIN = {"Origin": "http://localhost", "Sec-Fetch-Site": "same-origin"}
TOKEN_PATH = f"{SESSION_PATH}/token"


def open_session(client: FlaskClient, user: User) -> None:
    """Hand the user's refresh token to the cookie, as the console does after /login."""
    headers = {**SAME_ORIGIN, **auth(user.tokens["refresh_token"])}
    assert client.post(SESSION_PATH, headers=headers).status_code == 204


def test_landing_page_says_what_this_is_and_links_on(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    for link in ('href="/console/"', 'href="/docs"', 'href="/openapi.json"'):
        assert link in text
    assert page.headers["Content-Security-Policy"] == PAGE_CSP


@pytest.mark.parametrize("path", ["/console/", "/console/store/7", "/console/signin"])
def test_console_paths_serve_the_one_page_under_a_strict_policy(
    client: FlaskClient, path: str
) -> None:
    page = client.get(path)
    assert page.status_code == 200
    assert '<script type="module" src="/console/assets/app.js">' in page.get_data(as_text=True)
    policy = page.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_every_page_and_asset_has_no_inline_script_and_no_other_origin() -> None:
    files = [p for p in STATIC.rglob("*") if p.is_file()]
    assert {p.suffix for p in files} <= {".html", ".js", ".css", ".svg"}
    for path in files:
        text = path.read_text()
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in text
        if path.suffix == ".html":
            assert "<script>" not in text and " on" + "click=" not in text
            assert "<style" not in text and "style=" not in text
        if path.suffix == ".js":
            assert "eval(" not in text and "new Function" not in text
            assert "innerHTML" not in text and "localStorage" not in text


def test_assets_are_served_with_their_types_and_nothing_else_is(client: FlaskClient) -> None:
    types = {"app.js": "text/javascript", "console.css": "text/css", "favicon.svg": "image/svg+xml"}
    for name, mimetype in types.items():
        answer = client.get(f"/console/assets/{name}")
        assert answer.status_code == 200, name
        assert answer.mimetype == mimetype
        assert answer.headers["Cache-Control"] == "no-cache"
    for name in ("../console.html", "nothing.js", "views", "../../http/console.py"):
        assert client.get(f"/console/assets/{name}").status_code == 404, name


def test_the_package_data_covers_every_console_file() -> None:
    pyproject = (Path(__file__).parents[2] / "pyproject.toml").read_text()
    package = STATIC.parents[1]
    for path in (p for p in STATIC.rglob("*") if p.is_file()):
        relative = path.relative_to(package).as_posix()
        pattern = f'"{relative.rsplit("/", 1)[0]}/*{path.suffix}"'
        assert pattern in pyproject, relative


def test_the_session_paths_are_no_pages(client: FlaskClient) -> None:
    for path in (SESSION_PATH, TOKEN_PATH):
        answer = client.get(path)
        assert answer.status_code in (404, 405), path
        assert answer.mimetype == "application/problem+json"


def test_console_routes_stay_out_of_the_api_document(client: FlaskClient) -> None:
    paths = client.get("/openapi.json").get_json()["paths"]
    assert "/" not in paths
    assert not [p for p in paths if p.startswith("/console")]


def test_a_session_cookie_is_http_only_strict_and_scoped(client: FlaskClient, alice: User) -> None:
    answer = client.post(
        SESSION_PATH, headers={**SAME_ORIGIN, **auth(alice.tokens["refresh_token"])}
    )
    assert answer.status_code == 204
    (header,) = answer.headers.getlist("Set-Cookie")
    assert header.startswith(f"{COOKIE}={alice.tokens['refresh_token']};")
    attributes = {part.strip().split("=")[0].lower() for part in header.split(";")[1:]}
    assert {"httponly", "path", "expires", "samesite"} <= attributes
    assert f"Path={SESSION_PATH}" in header and "SameSite=Strict" in header
    assert answer.headers["Cache-Control"] == "private, no-store"


def test_behind_https_the_cookie_is_secure_too(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path, alice: User
) -> None:
    settings = make_settings(test_database.url, tmp_path, public_url="https://shop.example")
    client = create_app(settings, database).test_client()
    headers = {"Origin": "https://shop.example", **auth(alice.tokens["refresh_token"])}
    answer = client.post(SESSION_PATH, headers=headers)
    assert answer.status_code == 204
    assert "Secure" in answer.headers["Set-Cookie"].split("; ")


def test_the_cookie_buys_access_tokens_that_work(client: FlaskClient, alice: User) -> None:
    open_session(client, alice)
    answer = client.post(TOKEN_PATH, headers=SAME_ORIGIN)
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "private, no-store"
    body = answer.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] > 0
    me = client.get("/user/me", headers=auth(body["access_token"]))
    assert me.status_code == 200 and me.get_json()["id"] == alice.id


def test_without_a_cookie_there_is_nothing_to_resume(client: FlaskClient) -> None:
    answer = client.post(TOKEN_PATH, headers=SAME_ORIGIN)
    assert answer.status_code == 204
    assert not answer.get_data()


def test_a_revoked_session_is_a_401_that_drops_the_cookie(client: FlaskClient, alice: User) -> None:
    open_session(client, alice)
    assert client.post("/logout", headers=alice.headers).status_code == 204
    answer = client.post(TOKEN_PATH, headers=SAME_ORIGIN)
    assert answer.status_code == 401
    assert answer.mimetype == "application/problem+json"
    assert client.get_cookie(COOKIE, path=SESSION_PATH) is None
    assert client.post(TOKEN_PATH, headers=SAME_ORIGIN).status_code == 204


def test_a_tampered_cookie_is_refused(client: FlaskClient, alice: User) -> None:
    client.set_cookie(COOKIE, alice.tokens["access_token"], path=SESSION_PATH)
    assert client.post(TOKEN_PATH, headers=SAME_ORIGIN).status_code == 401


def test_only_a_live_refresh_token_opens_a_session(client: FlaskClient, alice: User) -> None:
    access = {**SAME_ORIGIN, **auth(alice.tokens["access_token"])}
    assert client.post(SESSION_PATH, headers=access).status_code == 401
    assert client.post(SESSION_PATH, headers=SAME_ORIGIN).status_code == 401
    assert client.post("/logout", headers=alice.headers).status_code == 204
    refresh = {**SAME_ORIGIN, **auth(alice.tokens["refresh_token"])}
    assert client.post(SESSION_PATH, headers=refresh).status_code == 401
    assert client.get_cookie(COOKIE, path=SESSION_PATH) is None


def test_closing_the_session_drops_the_cookie(client: FlaskClient, alice: User) -> None:
    open_session(client, alice)
    answer = client.delete(SESSION_PATH, headers=SAME_ORIGIN)
    assert answer.status_code == 204
    assert client.get_cookie(COOKIE, path=SESSION_PATH) is None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "http://evil.example"},
        {"Origin": "http://localhost.evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://localhost", "Sec-Fetch-Site": "same-site"},
    ],
    ids=["no-origin", "other-origin", "lookalike", "opaque", "cross-site", "same-site"],
)
def test_requests_from_elsewhere_are_refused(
    client: FlaskClient, alice: User, headers: dict[str, str]
) -> None:
    open_session(client, alice)
    for method, path in (("POST", TOKEN_PATH), ("DELETE", SESSION_PATH), ("POST", SESSION_PATH)):
        extra = auth(alice.tokens["refresh_token"]) if path == SESSION_PATH else {}
        answer = client.open(path, method=method, headers={**headers, **extra})
        assert answer.status_code == 403, (method, path)
        assert answer.mimetype == "application/problem+json"
    assert client.get_cookie(COOKIE, path=SESSION_PATH) is not None


def test_session_answers_are_never_stored_for_replay(client: FlaskClient, alice: User) -> None:
    open_session(client, alice)
    headers = {**SAME_ORIGIN, "Idempotency-Key": "console-token-1"}
    for _ in range(2):
        answer = client.post(TOKEN_PATH, headers=headers)
        assert answer.status_code == 200
        assert "Idempotent-Replayed" not in answer.headers
