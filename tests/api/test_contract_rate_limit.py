"""Login rate limits: per username and per client address, before any password hashing."""

from __future__ import annotations

import dataclasses
import ipaddress
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from storekeeper.app import create_app
from storekeeper.db.session import Database
from storekeeper.domain import accounts
from storekeeper.domain.values import RateLimit
from storekeeper.http.context import SERVICES
from storekeeper.security import Passwords
from tests.helpers import PASSWORD, ProvisionedDatabase, assert_problem, make_settings, register

# The tests on that Redis database empty it first: run them one at a time, in one worker
# (two at once under xdist counted each other's attempts, or lost them to the other's flush).


def limited_client(
    test_database: ProvisionedDatabase,
    database: Database,
    tmp_path: Path,
    period_s: int = 60,
    **settings: object,
) -> FlaskClient:
    """A client of an app whose login limit is 3 a minute (or a `period_s`)."""
    config = make_settings(
        test_database.url, tmp_path, login_rate_limit=RateLimit(3, period_s), **settings
    )
    return create_app(config, database).test_client()


def attempt(client: FlaskClient, username: str, address: str = "10.0.0.1", **headers: str) -> int:
    """One login attempt with a wrong password; its status."""
    answer = client.post(
        "/login",
        json={"username": username, "password": "wrong password"},
        environ_base={"REMOTE_ADDR": address},
        headers=headers,
    )
    if answer.status_code == 429:
        assert int(answer.headers["Retry-After"]) >= 1
        assert_problem(answer, 429)
    return answer.status_code


def test_failures_from_one_address_never_lock_the_owner_out(
    client: FlaskClient, test_database: ProvisionedDatabase, database: Database, tmp_path: Path
) -> None:
    limited = limited_client(test_database, database, tmp_path)
    register(client, "target")
    # Someone else guesses from their address: they are slowed down, and only they are.
    assert [attempt(limited, "target", "10.6.6.6") for _ in range(5)] == [401] * 3 + [429] * 2
    right = limited.post(
        "/login",
        json={"username": "TARGET", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.9.9.9"},
    )
    assert right.status_code == 200


@pytest.mark.parametrize("limiter", ["database", "redis"])
def test_guessing_one_username_from_many_addresses_meets_a_ceiling(
    client: FlaskClient,
    test_database: ProvisionedDatabase,
    database: Database,
    tmp_path: Path,
    limiter: str,
    request: pytest.FixtureRequest,
) -> None:
    settings: dict[str, object] = {}
    if limiter == "redis":
        settings["redis_url"] = request.getfixturevalue("redis_url")
    # An hour's window: a loaded machine may take over a minute for these hashed attempts,
    # and the first would leave the window before the last is counted.
    limited = limited_client(test_database, database, tmp_path, period_s=3600, **settings)
    register(client, "target")
    ceiling = 3 * accounts.USERNAME_CEILING
    # Two failures from each address, under the per-address limit of 3.
    spread = [attempt(limited, "target", f"10.0.{n // 2}.1") for n in range(ceiling)]
    assert spread == [401] * ceiling
    assert attempt(limited, "target", "10.0.200.1") == 429
    # The trade-off (docs/api.md): while the ceiling holds, the owner waits too.
    right = limited.post(
        "/login",
        json={"username": "target", "password": PASSWORD},
        environ_base={"REMOTE_ADDR": "10.9.9.9"},
    )
    assert right.status_code == 429
    # Another username is not affected.
    assert attempt(limited, "someone-else", "10.0.201.1") == 401


def test_per_address(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path
) -> None:
    limited = limited_client(test_database, database, tmp_path)
    statuses = [attempt(limited, f"user{n}") for n in range(5)]
    assert statuses == [401, 401, 401, 429, 429]
    assert attempt(limited, "user9", "10.0.0.2") == 401


def test_checked_before_hashing(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path
) -> None:
    limited = limited_client(test_database, database, tmp_path)
    checks = CountingPasswords()
    assert isinstance(limited.application, Flask)
    wired = limited.application.extensions[SERVICES]
    limited.application.extensions[SERVICES] = dataclasses.replace(wired, passwords=checks)
    for n in range(3):
        attempt(limited, f"user{n}")
    assert checks.verified == 3
    for _ in range(20):
        assert attempt(limited, "someone") == 429
    # Refused by the limiter before any password was hashed.
    assert checks.verified == 3


class CountingPasswords(Passwords):
    """Passwords that count how many checks and hashes (argon2 runs) they made."""

    verified = 0
    hashed = 0

    def verify(self, stored: str | None, password: str) -> bool:
        self.verified += 1
        return super().verify(stored, password)

    def hash(self, password: str) -> str:
        self.hashed += 1
        return super().hash(password)


def test_forwarded_for_is_ignored_without_trusted_proxies(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path
) -> None:
    limited = limited_client(test_database, database, tmp_path)
    statuses = [
        attempt(limited, f"u{n}", "10.0.0.1", **{"X-Forwarded-For": f"192.0.2.{n}"})
        for n in range(4)
    ]
    assert statuses[-1] == 429


def test_forwarded_for_counts_behind_a_trusted_proxy(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path
) -> None:
    proxies = (ipaddress.ip_network("10.0.0.0/24"),)
    limited = limited_client(test_database, database, tmp_path, trusted_proxies=proxies)
    spread = [
        attempt(limited, f"u{n}", "10.0.0.1", **{"X-Forwarded-For": f"192.0.2.{n}"})
        for n in range(5)
    ]
    assert spread == [401] * 5
    # A client cannot forge its way out: only the hop the trusted proxy saw counts.
    forged = [
        attempt(limited, f"v{n}", "10.0.0.1", **{"X-Forwarded-For": f"1.1.1.{n}, 198.51.100.7"})
        for n in range(4)
    ]
    assert forged == [401, 401, 401, 429]


def test_redis_limiter(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path, redis_url: str
) -> None:
    limited = limited_client(test_database, database, tmp_path, redis_url=redis_url)
    statuses = [attempt(limited, f"redisuser{n}", "10.1.0.1") for n in range(5)]
    assert statuses == [401, 401, 401, 429, 429]


def test_unreachable_redis_makes_login_503_only(
    client: FlaskClient, test_database: ProvisionedDatabase, database: Database, tmp_path: Path
) -> None:
    limited = limited_client(test_database, database, tmp_path, redis_url="redis://127.0.0.1:1/0")
    answer = limited.post("/login", json={"username": "anyone", "password": PASSWORD})
    assert_problem(answer, 503)
    assert answer.headers["Retry-After"]
    assert limited.get("/store").status_code == 200
    assert limited.get("/health").status_code == 200


def test_a_forwarded_hop_that_is_no_address_never_becomes_the_client(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path
) -> None:
    # A trusted proxy that passes on what the client wrote must not turn garbage (or 1,000
    # characters of it, longer than the limiter's key column) into a client identity.
    proxies = (ipaddress.ip_network("10.0.0.0/24"),)
    limited = limited_client(test_database, database, tmp_path, trusted_proxies=proxies)
    statuses = [
        attempt(limited, f"w{n}", "10.0.0.1", **{"X-Forwarded-For": "x" * 1000 + str(n)})
        for n in range(4)
    ]
    # Counted as the proxy itself: the fourth attempt from it is over the limit of 3.
    assert statuses == [401, 401, 401, 429]


def test_registrations_are_limited_per_address(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path
) -> None:
    config = make_settings(test_database.url, tmp_path, register_rate_limit=RateLimit(3, 3600))
    limited = create_app(config, database).test_client()

    def sign_up(name: str, address: str) -> int:
        body = {"username": name, "password": PASSWORD}
        answer = limited.post("/register", json=body, environ_base={"REMOTE_ADDR": address})
        if answer.status_code == 429:
            assert int(answer.headers["Retry-After"]) >= 1
            assert_problem(answer, 429)
        return answer.status_code

    assert [sign_up(f"user{n}", "10.0.0.1") for n in range(5)] == [201] * 3 + [429] * 2
    assert sign_up("user9", "10.0.0.2") == 201


def test_a_taken_username_or_email_is_refused_before_any_hashing(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path
) -> None:
    app = create_app(make_settings(test_database.url, tmp_path), database)
    counting = CountingPasswords()
    app.extensions[SERVICES] = dataclasses.replace(app.extensions[SERVICES], passwords=counting)
    http = app.test_client()
    first = {"username": "ada", "password": PASSWORD, "email": "ada@example.com"}
    assert http.post("/register", json=first).status_code == 201
    assert counting.hashed == 1
    for again in (
        {**first, "username": "ADA", "email": None},
        {**first, "username": "ada2", "email": "ADA@example.com"},
    ):
        answer = http.post("/register", json=again)
        assert_problem(answer, 409)
    assert counting.hashed == 1


def test_a_trusted_proxy_seen_as_an_ipv4_mapped_ipv6_peer_is_still_trusted(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path
) -> None:
    # A dual-stack listener reports an IPv4 proxy as ::ffff:10.0.0.5; once, that matched no
    # trusted network, and every client behind the proxy shared its one login bucket.
    proxies = (ipaddress.ip_network("10.0.0.0/24"),)
    limited = limited_client(test_database, database, tmp_path, trusted_proxies=proxies)
    spread = [
        attempt(limited, f"m{n}", "::ffff:10.0.0.5", **{"X-Forwarded-For": f"192.0.2.{n}"})
        for n in range(5)
    ]
    assert spread == [401] * 5
    # And the mapped spelling of an address counts in the same bucket as the plain one.
    same = [attempt(limited, f"p{n}", "10.0.1.7") for n in range(2)]
    same.append(attempt(limited, "p2", "::ffff:10.0.1.7"))
    same.append(attempt(limited, "p3", "10.0.1.7"))
    assert same == [401, 401, 401, 429]


def test_wrong_current_passwords_count_in_the_usernames_login_ceiling(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path
) -> None:
    limited = limited_client(test_database, database, tmp_path)
    register(limited, "target")
    login = limited.post("/login", json={"username": "target", "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.get_json()['access_token']}"}
    ceiling = 3 * accounts.USERNAME_CEILING

    def change(current: str) -> int:
        body = {"current_password": current, "new_password": "a new password here"}
        return limited.put("/user/me/password", json=body, headers=headers).status_code

    assert [change("not the password") for _ in range(ceiling)] == [422] * ceiling
    # The ceiling is full: the right password waits too, here and at /login.
    assert change(PASSWORD) == 429
    assert attempt(limited, "target", "10.9.9.9") == 429
