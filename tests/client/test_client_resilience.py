"""What the client does on its own: renew expired tokens, and retry 429 and 503 as told."""

from __future__ import annotations

import math
import subprocess
import tempfile
import time

import httpx
import pytest

from storekeeper_client import RetryPolicy, Storekeeper, TooManyRequests
from tests.client.helpers import Recorder, unique
from tests.e2e.live import BIN, live_server, proxied_postgres_database, server_env, server_process
from tests.helpers import PASSWORD

pytestmark = pytest.mark.slow
TTL_S = 10  # the shortest access token lifetime the server accepts


def test_an_expired_access_token_is_refreshed_before_or_after_the_server_says_so() -> None:
    recorder = Recorder()
    with (
        live_server(workers=1, STOREKEEPER_ACCESS_TOKEN_TTL=str(TTL_S)) as base,
        Storekeeper(base, transport=recorder) as sk,
    ):
        sk.register("ada", PASSWORD)
        sk.login("ada", PASSWORD)
        session = sk.session
        assert session is not None
        # A client whose clock says the token is fresh while the server's says it expired
        # (a suspended laptop): the server's 401 makes it refresh and send again.
        session.expires_at = math.inf
        time.sleep(TTL_S + 1)
        sk.create_store("After the 401")
        assert [(e.path, e.status) for e in recorder.seen[-3:]] == [
            ("/store", 401),
            ("/refresh", 200),
            ("/store", 201),
        ]
        # Once its own clock says the token has expired, it refreshes before sending.
        session.expires_at = time.monotonic()
        sk.create_store("Refreshed first")
        assert [(e.path, e.status) for e in recorder.seen[-2:]] == [
            ("/refresh", 200),
            ("/store", 201),
        ]
        assert recorder.seen[-1].headers["Authorization"] == f"Bearer {session.access_token}"


def _log_in_repeatedly(client: Storekeeper) -> None:
    for _ in range(6):  # three times the limit of 2 a second: some are refused
        assert client.login("ada", PASSWORD).access_token


def test_login_rate_limit_429_is_waited_out_as_retry_after_says() -> None:
    recorder = Recorder()
    with (
        live_server(workers=1, STOREKEEPER_LOGIN_RATE_LIMIT="2/second") as base,
        Storekeeper(base, transport=recorder) as sk,
    ):
        sk.register("ada", PASSWORD)
        _log_in_repeatedly(sk)  # never raises: the 429s are waited out
        statuses = recorder.calls("POST", "/login")
        assert 429 in statuses and statuses[-1] == 200
        refused = [e for e in recorder.seen if e.status == 429]
        assert all(e.path == "/login" for e in refused)

        impatient = Storekeeper(base, retry=RetryPolicy(max_wait=0))
        with pytest.raises(TooManyRequests) as limited:
            _log_in_repeatedly(impatient)
        assert limited.value.status == 429
        assert limited.value.retry_after is not None and limited.value.retry_after >= 1
        impatient.close()


def _list_repeatedly(client: Storekeeper) -> None:
    for _ in range(10):  # 2.5 times the budget of a second: some are refused
        client.list_stores()


def test_a_spent_request_budget_is_waited_out_and_its_state_read_from_the_headers() -> None:
    recorder = Recorder()
    with (
        live_server(workers=1, STOREKEEPER_RATE_LIMIT="4/second") as base,
        Storekeeper(base, transport=recorder) as sk,
    ):
        assert sk.rate_limit is None
        _list_repeatedly(sk)  # never raises: each 429 is waited out
        statuses = recorder.calls("GET", "/store")
        assert 429 in statuses and statuses[-1] == 200
        state = sk.rate_limit
        assert state is not None
        assert (state.limit, state.general.window) == (4, 1)
        assert 0 <= state.remaining < 4 and state.reset is not None and state.reset <= 1
        assert state.quotas["writes"].window == 60  # the tests' generous write budget

        impatient = Storekeeper(base, retry=RetryPolicy(max_wait=0))
        with pytest.raises(TooManyRequests) as limited:
            _list_repeatedly(impatient)
        assert limited.value.retry_after is not None and limited.value.retry_after >= 1
        assert impatient.rate_limit is not None and impatient.rate_limit.remaining == 0
        impatient.close()


def test_a_503_while_the_database_is_away_is_retried_until_it_answers() -> None:
    with proxied_postgres_database() as (proxy, url), tempfile.TemporaryDirectory() as instance:
        env = server_env(instance, STOREKEEPER_DATABASE_URL=url)
        subprocess.run([BIN / "storekeeper", "db", "upgrade"], env=env, check=True, timeout=120)
        with server_process(instance, env, workers=1) as (base, _):
            setup = Storekeeper(base)
            setup.register("ada", PASSWORD)
            setup.login("ada", PASSWORD)
            store = setup.create_store(unique("Outage"))
            setup.close()

            def database_back(response: httpx.Response) -> None:
                if response.status_code == 503:
                    proxy.restore()

            recorder = Recorder(on_response=database_back)
            with Storekeeper(base, transport=recorder) as sk:
                proxy.cut()
                assert sk.get_store(store.id).value.name == store.name
            statuses = recorder.calls("GET", f"/store/{store.id}")
            assert statuses[0] == 503 and statuses[-1] == 200
