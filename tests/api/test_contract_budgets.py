"""Every client's request budgets: the RateLimit header fields, the 429, who is counted.

These apps are their own (small budgets) and never share a client with the session's app, whose
generous budgets count in the same table.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path

import pytest
import redis
from flask.testing import FlaskClient

from storekeeper.app import create_app
from storekeeper.db.session import Database
from storekeeper.domain.values import RateLimit
from tests.helpers import PASSWORD, ProvisionedDatabase, assert_problem, make_settings

POLICY = re.compile(r'^"default";q=(\d+);w=(\d+), "writes";q=(\d+);w=(\d+)$')
STANDING = re.compile(r'^"default";r=(\d+);t=(\d+), "writes";r=(\d+);t=(\d+)$')


def budget_client(
    test_database: ProvisionedDatabase,
    database: Database,
    tmp_path: Path,
    general: int = 20,
    writes: int = 5,
    redis_url: str | None = None,
    **settings: object,
) -> FlaskClient:
    """A client of an app whose budgets are `general` requests an hour, `writes` writes."""
    config = make_settings(
        test_database.url,
        tmp_path,
        rate_limit=RateLimit(general, 3600),
        write_rate_limit=RateLimit(writes, 3600),
        redis_url=redis_url,
        **settings,
    )
    return create_app(config, database).test_client()


def standing(answer: object) -> tuple[int, int, int, int]:
    """(general left, its reset, writes left, its reset) from an answer's RateLimit field."""
    headers = answer.headers  # type: ignore[attr-defined]
    assert POLICY.fullmatch(headers["RateLimit-Policy"]), headers["RateLimit-Policy"]
    found = STANDING.fullmatch(headers["RateLimit"])
    assert found, headers["RateLimit"]
    left, reset, writes_left, writes_reset = (int(g) for g in found.groups())
    assert 0 <= reset <= 3600 and 0 <= writes_reset <= 3600
    return left, reset, writes_left, writes_reset


def sign_in(client: FlaskClient, username: str, address: str) -> dict[str, str]:
    """Register and log in from `address`; the Authorization header."""
    body = {"username": username, "password": PASSWORD}
    env = {"REMOTE_ADDR": address}
    assert client.post("/register", json=body, environ_base=env).status_code == 201
    login = client.post("/login", json=body, environ_base=env)
    assert login.status_code == 200, login.get_json()
    return {"Authorization": f"Bearer {login.get_json()['access_token']}"}


@pytest.fixture(params=["database", "redis"])
def shared_store(request: pytest.FixtureRequest) -> str | None:
    """Where the budgets count: None for the database, else the URL of the run's own Redis."""
    if request.param == "database":
        return None
    url: str = request.getfixturevalue("redis_url")
    return url


def test_every_kind_of_answer_carries_the_fields_counting_down(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path, shared_store: str | None
) -> None:
    limited = budget_client(test_database, database, tmp_path, redis_url=shared_store)
    env = {"REMOTE_ADDR": "10.50.0.1"}
    answers = [
        limited.get("/store", environ_base=env),  # 200
        limited.get("/store/999", environ_base=env),  # 404 from the use case
        limited.get("/no/such/thing", environ_base=env),  # 404 from the router
        limited.get("/store//1", environ_base=env),  # 404 before routing
        limited.put("/store", environ_base=env),  # 405, a write
        limited.post("/store", json={"name": "x"}, environ_base=env),  # 401, a write
        limited.get("/item?limit=0", environ_base=env),  # 422
        limited.get("/openapi.json", environ_base=env),
    ]
    assert [a.status_code for a in answers[:7]] == [200, 404, 404, 404, 405, 401, 422]
    seen = [standing(a) for a in answers]
    assert [s[0] for s in seen] == list(range(19, 11, -1))
    # Only the two writes (PUT, POST) counted in the write budget.
    assert [s[2] for s in seen] == [5, 5, 5, 5, 4, 3, 3, 3]
    assert POLICY.fullmatch(answers[0].headers["RateLimit-Policy"]).groups() == (  # type: ignore[union-attr]
        "20",
        "3600",
        "5",
        "3600",
    )


def test_over_budget_is_a_429_with_retry_after_until_the_window_ends(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path, shared_store: str | None
) -> None:
    limited = budget_client(test_database, database, tmp_path, general=4, redis_url=shared_store)
    env = {"REMOTE_ADDR": "10.50.0.2"}
    answers = [limited.get("/store", environ_base=env) for _ in range(6)]
    assert [a.status_code for a in answers] == [200] * 4 + [429] * 2
    refused = answers[4]
    assert_problem(refused, 429)
    left, reset, _, _ = standing(refused)
    assert left == 0
    assert int(refused.headers["Retry-After"]) >= max(1, reset)
    # Another address has a budget of its own.
    assert limited.get("/store", environ_base={"REMOTE_ADDR": "10.50.0.3"}).status_code == 200
    if shared_store is not None:
        pattern = "storekeeper:budget:default:addr:10.50.0.2:*"
        keys = redis.Redis.from_url(shared_store).keys(pattern)
        assert len(keys) == 1


def test_writes_have_a_budget_of_their_own_that_reads_do_not_spend(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path, shared_store: str | None
) -> None:
    limited = budget_client(
        test_database, database, tmp_path, general=50, writes=3, redis_url=shared_store
    )
    headers = sign_in(limited, "writer", "10.50.1.1")  # two writes from the address
    writes = [
        limited.post("/store", json={"name": f"s{n}"}, headers=headers).status_code
        for n in range(4)
    ]
    assert writes == [201, 201, 201, 429]
    # Reads still go through, and say the write budget is spent.
    read = limited.get("/store", headers=headers)
    assert read.status_code == 200
    left, _, writes_left, _ = standing(read)
    assert writes_left == 0
    # A write counts in the general budget too: 3 writes and this read (the refusal is free).
    assert left == 50 - 4


def test_health_ready_metrics_and_the_consoles_files_are_neither_counted_nor_refused(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path
) -> None:
    limited = budget_client(test_database, database, tmp_path, general=2)
    env = {"REMOTE_ADDR": "10.50.2.1"}
    for _ in range(3):
        for path in ("/health", "/ready", "/metrics"):
            answer = limited.get(path, environ_base=env)
            assert answer.status_code == 200, path
            assert "RateLimit" not in answer.headers
    # Nor are the console's own files (a spent budget's wait must still be shown).
    for _ in range(3):
        icon = limited.get("/console/assets/favicon.svg", environ_base=env)
        assert icon.status_code == 200 and "RateLimit" not in icon.headers
    assert [limited.get("/store", environ_base=env).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]


def test_a_signed_in_user_has_one_budget_from_every_address(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path, shared_store: str | None
) -> None:
    proxies = (ipaddress.ip_network("10.0.0.0/8"),)
    limited = budget_client(
        test_database,
        database,
        tmp_path,
        general=10,
        trusted_proxies=proxies,
        redis_url=shared_store,
    )
    headers = sign_in(limited, "roamer", "192.0.2.200")
    spent = []
    for n in range(12):
        # Behind the trusted proxy, from two client addresses in turn.
        forwarded = {"X-Forwarded-For": f"198.51.100.{n % 2 + 1}", **headers}
        answer = limited.get("/store", headers=forwarded, environ_base={"REMOTE_ADDR": "10.0.0.9"})
        spent.append(answer.status_code)
    assert spent == [200] * 10 + [429] * 2
    # Those addresses' own budgets were not touched: anonymous requests from them still pass.
    anonymous = limited.get(
        "/store",
        headers={"X-Forwarded-For": "198.51.100.1"},
        environ_base={"REMOTE_ADDR": "10.0.0.9"},
    )
    assert anonymous.status_code == 200
    assert standing(anonymous)[0] == 9


def test_two_users_from_one_address_have_separate_budgets(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path, shared_store: str | None
) -> None:
    limited = budget_client(
        test_database, database, tmp_path, general=30, writes=30, redis_url=shared_store
    )
    env = {"REMOTE_ADDR": "10.50.3.1"}
    first = sign_in(limited, "first", "10.50.3.2")
    second = sign_in(limited, "second", "10.50.3.3")
    for _ in range(30):
        assert limited.get("/store", headers=first, environ_base=env).status_code == 200
    assert limited.get("/store", headers=first, environ_base=env).status_code == 429
    answer = limited.get("/store", headers=second, environ_base=env)
    assert answer.status_code == 200
    assert standing(answer)[0] == 29
    # And the address's own budget is untouched by either.
    assert standing(limited.get("/store", environ_base=env))[0] == 29


def test_budgets_off_send_no_fields(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path
) -> None:
    config = make_settings(test_database.url, tmp_path, rate_limit=None, write_rate_limit=None)
    answer = create_app(config, database).test_client().get("/store")
    assert answer.status_code == 200
    assert "RateLimit" not in answer.headers and "RateLimit-Policy" not in answer.headers


def test_the_openapi_document_describes_the_fields_once_and_429_everywhere(
    client: FlaskClient,
) -> None:
    document = client.get("/openapi.json").get_json()
    described = document["components"]["headers"]
    assert set(described) == {"RateLimit", "RateLimit-Policy"}
    assert "draft-ietf-httpapi-ratelimit-headers-11" in described["RateLimit"]["description"]
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            exempt = path in ("/health", "/ready", "/metrics")
            assert ("429" in operation["responses"]) is not exempt, (method, path)
            for answer in operation["responses"].values():
                refs = {h.get("$ref") for h in answer.get("headers", {}).values()}
                assert ("#/components/headers/RateLimit" in refs) is not exempt, (method, path)


def test_a_store_that_does_not_answer_refuses_no_one(
    test_database: ProvisionedDatabase, database: Database, tmp_path: Path
) -> None:
    # Nothing listens on port 1: the budgets count in memory, the sign-in limits stay closed.
    limited = budget_client(
        test_database, database, tmp_path, general=4, redis_url="redis://127.0.0.1:1/0"
    )
    env = {"REMOTE_ADDR": "10.50.4.1"}
    answers = [limited.get("/store", environ_base=env) for _ in range(3)]
    assert [a.status_code for a in answers] == [200, 200, 200]
    assert [standing(a)[0] for a in answers] == [3, 2, 1]
    body = {"username": "nobody", "password": PASSWORD}
    assert limited.post("/login", json=body, environ_base=env).status_code == 503
