"""Two instances, one database, one Redis, nginx in front: what one instance does, the other
knows. Every test uses each instance directly and nginx (`cluster.targets`), in turn.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

import pytest
import requests

from tests.cluster.helpers import Cluster, new_source, session_from
from tests.e2e.live import login_token
from tests.helpers import auth

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("cluster")]
PASSWORD = "cluster-password"
LOGIN_LIMIT = 10  # the contract's default, per minute
NGINX_FAIL_TIMEOUT_S = 2  # deploy/nginx/storekeeper.conf, fail_timeout


def _user() -> str:
    return f"u{uuid.uuid4().hex[:12]}"


def _token(cluster: Cluster, http: requests.Session) -> str:
    return login_token(cluster.bases[0], _user(), PASSWORD, http)


def _concurrently(count: int, call: Callable[[int], int]) -> list[int]:
    """`call(0..count-1)` at once from as many threads, released together; their results."""
    barrier = threading.Barrier(count)

    def run(index: int) -> int:
        barrier.wait(10)
        return call(index)

    with ThreadPoolExecutor(count) as pool:
        return list(pool.map(run, range(count)))


def test_logout_on_one_instance_is_refused_by_every_other(
    cluster: Cluster, http: requests.Session
) -> None:
    a, b, nginx = cluster.targets
    body = {"username": _user(), "password": PASSWORD}
    assert http.post(f"{a}/register", json=body, timeout=10).status_code == 201
    tokens = http.post(f"{a}/login", json=body, timeout=10).json()
    access, refresh = tokens["access_token"], tokens["refresh_token"]
    assert http.get(f"{b}/user/me", headers=auth(access), timeout=10).status_code == 200

    assert http.post(f"{a}/logout", headers=auth(access), timeout=10).status_code == 204
    for base in (b, nginx, a):
        refused = http.get(f"{base}/user/me", headers=auth(access), timeout=10)
        assert refused.status_code == 401, base
        assert "Bearer" in refused.headers["WWW-Authenticate"]
        assert http.post(f"{base}/refresh", headers=auth(refresh), timeout=10).status_code == 401


def test_login_limit_counts_attempts_on_every_instance_together(
    cluster: Cluster, http: requests.Session
) -> None:
    username = _user()
    body = {"username": username, "password": PASSWORD}
    assert http.post(f"{cluster.bases[0]}/register", json=body, timeout=10).status_code == 201
    wrong = {"username": username, "password": "not-the-password"}
    targets = cluster.targets
    for attempt in range(LOGIN_LIMIT):
        answer = http.post(f"{targets[attempt % 3]}/login", json=wrong, timeout=10)
        assert answer.status_code == 401, (attempt, answer.text)
    for base in targets:
        limited = http.post(f"{base}/login", json=body, timeout=10)
        assert limited.status_code == 429, base
        assert int(limited.headers["Retry-After"]) > 0


def test_limiter_counts_the_address_nginx_saw_never_a_forwarded_for_the_client_sent(
    cluster: Cluster, http: requests.Session
) -> None:
    nginx = cluster.nginx
    me = http.get_adapter(nginx)._source  # type: ignore[attr-defined]
    for attempt in range(LOGIN_LIMIT):
        # A different user and a different made-up address each time: only the address nginx
        # saw is the same, and it alone must count.
        spoofed = {"X-Forwarded-For": f"203.0.113.{attempt + 1}"}
        body = {"username": _user(), "password": PASSWORD}
        answer = http.post(f"{nginx}/login", json=body, headers=spoofed, timeout=10)
        assert answer.status_code == 401, (attempt, answer.text)
    limited = http.post(
        f"{nginx}/login",
        json={"username": _user(), "password": PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.7"},
        timeout=10,
    )
    assert limited.status_code == 429

    # Another client claiming to be the limited one is judged by its own address, through
    # nginx and directly (it is no trusted proxy).
    with session_from(new_source()) as other:
        for base in cluster.targets:
            answer = other.post(
                f"{base}/login",
                json={"username": _user(), "password": PASSWORD},
                headers={"X-Forwarded-For": me},
                timeout=10,
            )
            assert answer.status_code == 401, base


def test_idempotent_retry_answered_by_another_instance_replays_and_creates_nothing(
    cluster: Cluster, http: requests.Session
) -> None:
    token = _token(cluster, http)
    name = f"Idem {uuid.uuid4().hex[:8]}"
    headers = {**auth(token), "Idempotency-Key": uuid.uuid4().hex}
    answers = [
        http.post(f"{base}/store", json={"name": name}, headers=headers, timeout=10)
        for base in cluster.targets
    ]
    assert [a.status_code for a in answers] == [201, 201, 201]
    assert "Idempotent-Replayed" not in answers[0].headers
    for replay in answers[1:]:
        assert replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json() == answers[0].json()
    found = http.get(f"{cluster.bases[1]}/store", params={"name": name}, timeout=10).json()
    assert [store["id"] for store in found] == [answers[0].json()["id"]]


def test_concurrent_conditional_writes_on_every_instance_have_one_winner(
    cluster: Cluster, http: requests.Session
) -> None:
    token = _token(cluster, http)
    created = http.post(
        f"{cluster.bases[0]}/store",
        json={"name": f"Cas {uuid.uuid4().hex[:8]}"},
        headers=auth(token),
        timeout=10,
    )
    store = created.json()["id"]
    etag = http.get(f"{cluster.bases[1]}/store/{store}", timeout=10).headers["ETag"]
    names = [f"Cas winner {i} {uuid.uuid4().hex[:6]}" for i in range(20)]

    def write(index: int) -> int:
        with requests.Session() as own:
            return own.patch(
                f"{cluster.targets[index % 3]}/store/{store}",
                json={"name": names[index]},
                headers={**auth(token), "If-Match": etag},
                timeout=30,
            ).status_code

    statuses = _concurrently(20, write)
    assert Counter(statuses) == {200: 1, 412: 19}, statuses
    final = http.get(f"{cluster.bases[0]}/store/{store}", timeout=10).json()
    assert final["name"] == names[statuses.index(200)]


def test_concurrent_creates_of_one_name_on_every_instance_make_one_store(
    cluster: Cluster, http: requests.Session
) -> None:
    token = _token(cluster, http)
    name = f"Race {uuid.uuid4().hex[:8]}"

    def create(index: int) -> int:
        with requests.Session() as own:
            return own.post(
                f"{cluster.targets[index % 3]}/store",
                json={"name": name if index % 2 else name.upper()},  # one name, any case
                headers=auth(token),
                timeout=30,
            ).status_code

    statuses = _concurrently(12, create)
    assert Counter(statuses) == {201: 1, 409: 11}, statuses


def test_cursors_and_etags_from_one_instance_work_on_the_others(
    cluster: Cluster, http: requests.Session
) -> None:
    a, b, nginx = cluster.targets
    token = _token(cluster, http)
    prefix = f"Page{uuid.uuid4().hex[:8]}"
    ids = [
        http.post(
            f"{a}/store", json={"name": f"{prefix} {n}"}, headers=auth(token), timeout=10
        ).json()["id"]
        for n in range(5)
    ]

    seen: list[int] = []
    url: str | None = f"{a}/store?q={prefix}&limit=2"
    for base in (b, nginx, a):  # each page asked of the next instance
        assert url is not None
        page = http.get(url, timeout=10)
        assert page.status_code == 200
        seen += [store["id"] for store in page.json()]
        following = page.links.get("next", {}).get("url")
        if following is None:
            url = None
            break
        # Every instance names the shared public address (nginx) in its links.
        assert following.startswith(f"{nginx}/store?")
        parts = urlsplit(following)
        url = f"{base}{parts.path}?{parts.query}"
    assert url is None and seen == ids

    etag = http.get(f"{a}/store/{ids[0]}", timeout=10).headers["ETag"]
    unchanged = http.get(f"{b}/store/{ids[0]}", headers={"If-None-Match": etag}, timeout=10)
    assert unchanged.status_code == 304
    renamed = http.patch(
        f"{nginx}/store/{ids[0]}",
        json={"name": f"{prefix} renamed"},
        headers={**auth(token), "If-Match": etag},
        timeout=10,
    )
    assert renamed.status_code == 200
    stale = http.patch(
        f"{b}/store/{ids[0]}",
        json={"name": f"{prefix} again"},
        headers={**auth(token), "If-Match": etag},
        timeout=10,
    )
    assert stale.status_code == 412
    fresh = http.get(f"{b}/store/{ids[0]}", headers={"If-None-Match": etag}, timeout=10)
    assert fresh.status_code == 200 and fresh.headers["ETag"] == renamed.headers["ETag"]


def test_nginx_passes_request_ids_limits_bodies_and_keeps_metrics_per_instance(
    cluster: Cluster, http: requests.Session
) -> None:
    nginx = cluster.nginx
    given = http.get(f"{nginx}/health", headers={"X-Request-ID": "cluster-check-1"}, timeout=10)
    assert given.headers["X-Request-ID"] == "cluster-check-1"
    made = http.get(f"{nginx}/health", timeout=10).headers["X-Request-ID"]
    assert made and made != "cluster-check-1"

    token = _token(cluster, http)
    huge = http.post(
        f"{nginx}/store",
        data=b'{"name":"' + b"x" * (1024 * 1024) + b'"}',
        headers={**auth(token), "Content-Type": "application/json"},
        timeout=10,
    )
    assert huge.status_code == 413
    assert huge.headers["Content-Type"].startswith("application/problem+json")
    assert huge.json()["status"] == 413

    assert http.get(f"{nginx}/ready", timeout=10).status_code == 200
    assert http.get(f"{nginx}/metrics", timeout=10).status_code == 404
    for base in cluster.bases:
        assert http.get(f"{base}/metrics", timeout=10).status_code == 200


def test_rolling_restart_under_load_loses_no_acknowledged_request(
    cluster: Cluster, http: requests.Session
) -> None:
    token = _token(cluster, http)
    prefix = f"Roll{uuid.uuid4().hex[:8]}"
    stop = threading.Event()
    acknowledged: list[str] = []
    refusals: list[int | str] = []
    lock = threading.Lock()

    def load(worker: int) -> None:
        # A fresh connection per request: a refused or reset connection is then one the
        # server never answered, so "acknowledged" means exactly "answered 201".
        for sent in range(400):  # bounded, whatever happens
            if stop.is_set():
                return
            name = f"{prefix} {worker}-{sent}"
            base = cluster.targets[(worker + sent) % 3]
            try:
                answer = requests.post(
                    f"{base}/store",
                    json={"name": name},
                    headers={**auth(token), "Connection": "close"},
                    timeout=30,
                )
            except requests.ConnectionError:
                with lock:
                    refusals.append("connection")
                time.sleep(0.05)
                continue
            with lock:
                if answer.status_code == 201:
                    acknowledged.append(name)
                else:
                    refusals.append(answer.status_code)
                    assert answer.headers["Content-Type"].startswith("application/problem+json")
            time.sleep(0.02)

    with ThreadPoolExecutor(3) as pool:
        running = [pool.submit(load, worker) for worker in range(3)]
        time.sleep(0.5)
        for index in range(len(cluster.ports)):
            cluster.stop_instance(index)
            time.sleep(0.3)  # load meets the instance while it is down
            cluster.start_instance(index)  # returns once it is healthy
            # nginx checks passively: it tries an instance it saw fail only after
            # fail_timeout. Stopping the next one sooner leaves it no live instance (a 503).
            time.sleep(NGINX_FAIL_TIMEOUT_S + 0.5)
        time.sleep(0.5)
        stop.set()
        for future in running:
            future.result()

    assert acknowledged
    assert set(refusals) <= {"connection", 503}, Counter(refusals)
    stored: set[str] = set()
    url: str | None = f"{cluster.nginx}/store?q={prefix}&limit=200"
    while url is not None:
        page = http.get(url, timeout=10)
        stored |= {store["name"] for store in page.json()}
        url = page.links.get("next", {}).get("url")
    assert set(acknowledged) <= stored


def test_redis_outage_refuses_sign_ins_only_and_recovers(
    cluster: Cluster, http: requests.Session
) -> None:
    """Without its counters, no login or registration goes unlimited; everything else is served."""
    token = _token(cluster, http)
    cluster.redis.stop()
    try:
        for base in cluster.targets:
            body = {"username": _user(), "password": PASSWORD}
            for path in ("/register", "/login"):
                refused = http.post(f"{base}{path}", json=body, timeout=10)
                assert refused.status_code == 503, (base, path, refused.text)
                assert int(refused.headers["Retry-After"]) > 0
                assert refused.headers["Content-Type"].startswith("application/problem+json")
            created = http.post(
                f"{base}/store",
                json={"name": f"Outage {uuid.uuid4().hex[:8]}"},
                headers=auth(token),
                timeout=10,
            )
            assert created.status_code == 201, created.text
            assert http.get(f"{base}/store/{created.json()['id']}", timeout=10).status_code == 200
            assert http.get(f"{base}/user/me", headers=auth(token), timeout=10).status_code == 200
            assert http.get(f"{base}/ready", timeout=10).status_code == 200
    finally:
        cluster.redis.start()

    body = {"username": _user(), "password": PASSWORD}
    for base in cluster.targets:
        for path, ok in (("/register", (201, 409)), ("/login", (200,))):
            deadline = time.monotonic() + 20  # a hang detector, not a speed claim
            while (status := http.post(f"{base}{path}", json=body, timeout=10).status_code) == 503:
                assert time.monotonic() < deadline, f"{base}{path} did not recover"
                time.sleep(0.2)
            assert status in ok, (base, path, status)


def test_nginx_caches_versioned_photos_and_refuses_large_ones_itself(
    cluster: Cluster, http: requests.Session
) -> None:
    from tests.images import picture

    a, _, nginx = cluster.targets
    headers = auth(_token(cluster, http))
    shop = http.post(f"{a}/store", json={"name": _user()}, headers=headers, timeout=10).json()
    made = http.post(
        f"{a}/store/{shop['id']}/item",
        json={"name": "Lamp", "price": 5},
        headers=headers,
        timeout=10,
    ).json()
    upload = http.put(
        f"{nginx}/item/{made['id']}/image",
        data=picture(300, 200),
        headers={**headers, "Content-Type": "image/jpeg"},
        timeout=10,
    )
    assert upload.status_code == 201, upload.text
    url = nginx + upload.json()["image"]["url"]
    first = http.get(url, timeout=10)
    second = http.get(url, timeout=10)
    assert first.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert (first.headers["X-Cache-Status"], second.headers["X-Cache-Status"]) == ("MISS", "HIT")
    assert second.content == first.content
    assert second.headers["ETag"] == first.headers["ETag"]
    revalidated = http.get(url, headers={"If-None-Match": first.headers["ETag"]}, timeout=10)
    assert revalidated.status_code == 304
    # 10 MiB of photo passes nginx (the app refuses what is not an image); 12 MiB does not.
    big = http.put(
        f"{nginx}/item/{made['id']}/image",
        data=b"\xff" * (10 * 1024 * 1024),
        headers={**headers, "Content-Type": "image/jpeg"},
        timeout=30,
    )
    assert big.status_code == 422, big.text
    huge = http.put(
        f"{nginx}/item/{made['id']}/image",
        data=b"\xff" * (12 * 1024 * 1024),
        headers={**headers, "Content-Type": "image/jpeg"},
        timeout=30,
    )
    assert huge.status_code == 413
    assert huge.headers["Content-Type"].startswith("application/problem+json")
