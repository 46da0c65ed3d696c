"""Accounts of 1.1 (API.md "Accounts", "Background work"): email verification, email change,
password change and reset, and jobs; the emails made by the worker's own handlers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import update

from storekeeper.db import models
from storekeeper.db.session import Database
from tests.helpers import PASSWORD, User, assert_problem, auth, login
from tests.jobs.inbox import messages, run_jobs, text_of, token_in

NEW_PASSWORD = "a brand new password"


def _register(client: FlaskClient, username: str, email: str | None) -> int:
    body = {"username": username, "password": PASSWORD}
    if email is not None:
        body["email"] = email
    answer = client.post("/register", json=body)
    assert answer.status_code == 201, answer.get_json()
    return int(answer.get_json()["id"])


def _jobs(database: Database) -> list[tuple[str, str]]:
    with database.unit_of_work(False) as conn:
        rows = conn.execute(models.Job.__table__.select().order_by(models.Job.__table__.c.id))
        return [(row.kind, row.status) for row in rows]


@pytest.fixture
def mail_dir(tmp_path: Path) -> Path:
    return tmp_path / "mail"


def _verified_user(client: FlaskClient, app: Flask, mail_dir: Path, name: str) -> User:
    _register(client, name, f"{name}@example.com")
    run_jobs(app, mail_dir)
    tokens = login(client, name)
    user = User(
        client.get("/user/me", headers=auth(tokens["access_token"])).get_json()["id"],
        name,
        auth(tokens["access_token"]),
        tokens,
    )
    token = token_in(messages(mail_dir)[-1], "/console/verify")
    answer = client.post("/user/me/email/verify", json={"token": token}, headers=user.headers)
    assert answer.status_code == 204
    return user


def test_registration_with_an_email_sends_a_welcome_with_a_verify_link(
    client: FlaskClient, app: Flask, database: Database, mail_dir: Path
) -> None:
    _register(client, "ada", "Ada@Example.com")
    _register(client, "bea", None)
    # Recorded with the registration; a refused registration records nothing.
    assert (
        client.post(
            "/register", json={"username": "cid", "password": PASSWORD, "email": "ada@example.com"}
        ).status_code
        == 409
    )
    assert _jobs(database) == [("email.welcome", "queued")]
    assert run_jobs(app, mail_dir) == ["succeeded"]
    [welcome] = messages(mail_dir)
    assert welcome["To"] == "Ada@example.com"
    assert "http://127.0.0.1:8000/console/verify#token=" in text_of(welcome)
    tokens = login(client, "ada")
    me = client.get("/user/me", headers=auth(tokens["access_token"])).get_json()
    assert me["email_verified"] is False
    token = token_in(welcome, "/console/verify")
    # Only the user it was sent to may use it.
    bea = login(client, "bea")
    other = client.post(
        "/user/me/email/verify", json={"token": token}, headers=auth(bea["access_token"])
    )
    assert assert_problem(other, 422)["errors"] == {"token": ["is invalid, used or expired"]}
    headers = auth(tokens["access_token"])
    assert (
        client.post("/user/me/email/verify", json={"token": token}, headers=headers).status_code
        == 204
    )
    assert client.get("/user/me", headers=headers).get_json()["email_verified"] is True
    again = client.post("/user/me/email/verify", json={"token": token}, headers=headers)
    assert_problem(again, 422)
    assert _jobs(database) == [("email.welcome", "succeeded")]


def test_changing_the_email_asks_to_verify_the_new_one_and_tells_the_old(
    client: FlaskClient, app: Flask, database: Database, mail_dir: Path
) -> None:
    ada = _verified_user(client, app, mail_dir, "ada")
    _register(client, "bea", "bea@example.com")
    taken = client.patch("/user/me", json={"email": "BEA@example.com"}, headers=ada.headers)
    assert_problem(taken, 409)
    etag = client.get("/user/me", headers=ada.headers).headers["ETag"]
    changed = client.patch(
        "/user/me", json={"email": "ada@new.example"}, headers={**ada.headers, "If-Match": etag}
    )
    assert changed.status_code == 200
    assert (changed.get_json()["email"], changed.get_json()["email_verified"]) == (
        "ada@new.example",
        False,
    )
    stale = client.patch(
        "/user/me", json={"email": "ada@other.example"}, headers={**ada.headers, "If-Match": etag}
    )
    assert_problem(stale, 412)
    empty = client.patch("/user/me", json={}, headers={**ada.headers, "If-Match": etag})
    assert_problem(empty, 412)  # changes nothing, yet its precondition holds it too
    before = len(messages(mail_dir))
    run_jobs(app, mail_dir)
    sent = {m["To"]: m for m in messages(mail_dir)[before:]}
    assert "ada@new.example" in text_of(sent["ada@example.com"])  # the notice to the old address
    token = token_in(sent["ada@new.example"], "/console/verify")
    # The same unverified address again sends a fresh link; the first one still works once.
    assert (
        client.patch("/user/me", json={"email": "ada@new.example"}, headers=ada.headers).status_code
        == 200
    )
    run_jobs(app, mail_dir)
    assert (
        client.post("/user/me/email/verify", json={"token": token}, headers=ada.headers).status_code
        == 204
    )
    assert client.get("/user/me", headers=ada.headers).get_json()["email_verified"] is True
    removed = client.patch("/user/me", json={"email": None}, headers=ada.headers)
    assert (removed.get_json()["email"], removed.get_json()["email_verified"]) == (None, False)


def test_a_verify_link_for_an_address_since_replaced_verifies_nothing(
    client: FlaskClient, app: Flask, mail_dir: Path
) -> None:
    _register(client, "ada", "ada@example.com")
    run_jobs(app, mail_dir)
    token = token_in(messages(mail_dir)[-1], "/console/verify")
    headers = auth(login(client, "ada")["access_token"])
    client.patch("/user/me", json={"email": "ada@new.example"}, headers=headers)
    assert_problem(
        client.post("/user/me/email/verify", json={"token": token}, headers=headers), 422
    )
    assert client.get("/user/me", headers=headers).get_json()["email_verified"] is False


def test_a_password_change_ends_every_other_session_and_keeps_the_callers(
    client: FlaskClient, app: Flask, mail_dir: Path
) -> None:
    ada = _verified_user(client, app, mail_dir, "ada")
    other = login(client, "ada")
    wrong = client.put(
        "/user/me/password",
        json={"current_password": "not it at all", "new_password": NEW_PASSWORD},
        headers=ada.headers,
    )
    assert assert_problem(wrong, 422)["errors"] == {"current_password": ["is wrong"]}
    answer = client.put(
        "/user/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=ada.headers,
    )
    assert answer.status_code == 204
    assert client.get("/user/me", headers=ada.headers).status_code == 200
    refreshed = client.post("/refresh", headers=auth(ada.tokens["refresh_token"]))
    assert refreshed.status_code == 200
    assert (
        client.get("/user/me", headers=auth(refreshed.get_json()["access_token"])).status_code
        == 200
    )
    assert_problem(client.get("/user/me", headers=auth(other["access_token"])), 401)
    assert_problem(client.post("/refresh", headers=auth(other["refresh_token"])), 401)
    assert client.post("/login", json={"username": "ada", "password": PASSWORD}).status_code == 401
    assert (
        client.post("/login", json={"username": "ada", "password": NEW_PASSWORD}).status_code == 200
    )
    run_jobs(app, mail_dir)
    assert "password" in messages(mail_dir)[-1]["Subject"].lower()


def test_a_password_reset_answers_alike_for_any_address_and_its_link_works_once(
    client: FlaskClient, app: Flask, database: Database, mail_dir: Path
) -> None:
    ada = _verified_user(client, app, mail_dir, "ada")
    _register(client, "bea", "bea@example.com")  # never verified: no reset link for her
    answers = [
        client.post("/password-reset", json={"email": email})
        for email in ("ADA@example.com", "bea@example.com", "nobody@example.com")
    ]
    assert {a.status_code for a in answers} == {202}
    assert {a.headers["Cache-Control"] for a in answers} == {"private, no-store"}
    assert len({a.data for a in answers}) == 1
    before = len(messages(mail_dir))
    run_jobs(app, mail_dir)
    [reset] = [m for m in messages(mail_dir)[before:] if "reset" in m["Subject"].lower()]
    assert reset["To"] == "ada@example.com"
    token = token_in(reset, "/console/reset")
    confirm = {"token": token, "new_password": NEW_PASSWORD}
    assert client.post("/password-reset/confirm", json=confirm).status_code == 204
    used = client.post("/password-reset/confirm", json=confirm)
    assert assert_problem(used, 422)["errors"] == {"token": ["is invalid, used or expired"]}
    assert_problem(client.get("/user/me", headers=ada.headers), 401)  # every session ended
    assert (
        client.post("/login", json={"username": "ada", "password": NEW_PASSWORD}).status_code == 200
    )
    run_jobs(app, mail_dir)
    assert messages(mail_dir)[-1]["To"] == "ada@example.com"  # the confirmation


def test_an_expired_reset_link_is_refused(
    client: FlaskClient, app: Flask, database: Database, mail_dir: Path
) -> None:
    _verified_user(client, app, mail_dir, "ada")
    client.post("/password-reset", json={"email": "ada@example.com"})
    run_jobs(app, mail_dir)
    token = token_in(messages(mail_dir)[-1], "/console/reset")
    with database.unit_of_work(write=True) as conn:
        conn.execute(
            update(models.UserToken.__table__).values(  # type: ignore[arg-type]
                expires_at=datetime.now(UTC) - timedelta(seconds=1)
            )
        )
    answer = client.post(
        "/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert_problem(answer, 422)


def test_reset_requests_are_limited_per_address(client: FlaskClient) -> None:
    for _ in range(5):
        assert client.post("/password-reset", json={"email": "ada@example.com"}).status_code == 202
    refused = client.post("/password-reset", json={"email": "ADA@example.com"})
    assert_problem(refused, 429)
    assert int(refused.headers["Retry-After"]) > 0
    assert client.post("/password-reset", json={"email": "bea@example.com"}).status_code == 202


def test_reset_requests_are_limited_per_client(client: FlaskClient) -> None:
    asked = [
        client.post("/password-reset", json={"email": f"user{n}@example.com"}).status_code
        for n in range(21)
    ]
    assert asked == [202] * 20 + [429]
    other = client.post(
        "/password-reset",
        json={"email": "user0@example.com"},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert other.status_code == 202


def test_a_job_is_seen_by_its_starter_and_admins_only(
    client: FlaskClient, app: Flask, database: Database, alice: User, bob: User, admin: User
) -> None:
    answer = client.patch("/user/me", json={"email": "alice@example.com"}, headers=alice.headers)
    assert answer.status_code == 200
    with database.unit_of_work(False) as conn:
        job_id = conn.execute(models.Job.__table__.select()).first().id  # type: ignore[union-attr]
    mine = client.get(f"/job/{job_id}", headers=alice.headers)
    assert mine.status_code == 200
    assert mine.get_json() == {
        "id": job_id,
        "kind": "email.verify",
        "status": "queued",
        "created_at": mine.get_json()["created_at"],
        "started_at": None,
        "finished_at": None,
        "result": None,
    }
    assert mine.headers["Cache-Control"] == "private, no-store"
    assert client.get(f"/job/{job_id}", headers=admin.headers).status_code == 200
    assert_problem(client.get(f"/job/{job_id}", headers=bob.headers), 403)
    assert_problem(client.get(f"/job/{job_id}"), 401)
    assert_problem(client.get(f"/job/{job_id + 1}", headers=alice.headers), 404)


def test_metrics_count_jobs_by_kind_and_status_and_their_latency(
    client: FlaskClient, app: Flask, mail_dir: Path
) -> None:
    _register(client, "ada", "ada@example.com")
    _register(client, "bea", "bea@example.com")
    before = client.get("/metrics").get_data(as_text=True)
    assert 'storekeeper_jobs{kind="email.welcome",status="queued"} 2.0' in before
    assert "storekeeper_job_queue_wait_seconds " in before
    run_jobs(app, mail_dir)
    after = client.get("/metrics").get_data(as_text=True)
    assert 'storekeeper_jobs{kind="email.welcome",status="succeeded"} 2.0' in after
    assert 'storekeeper_job_latency_seconds{kind="email.welcome",quantile="0.99"}' in after
    assert "storekeeper_job_queue_wait_seconds 0.0" in after
