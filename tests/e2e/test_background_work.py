"""Background work with real processes and a real SMTP server: the promises of API.md's
"Background work" and "Accounts" under a killed worker, a mail server away, a reset token
raced, a dead letter, and two instances with two workers on one database.

Every wait polls with a deadline that only a hang reaches; nothing is timed. Delivery is at
least once: a worker killed between the send and the record sends again, so duplicates are
reported (record_property, and printed), never failed.
"""

from __future__ import annotations

import contextlib
import random
import tempfile
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from tests.e2e.background import (
    DELIVERY_S,
    JobRow,
    Site,
    deployment,
    duplicates,
    mail_to,
    register,
    sign_in,
    token_of,
    wait_for_addresses,
    wait_for_jobs,
)
from tests.e2e.live import database_url
from tests.helpers import PASSWORD
from tests.mailserver import MailServer, make_certificate
from tests.redis_server import RedisServer

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("background")]

BACKENDS = ["sqlite", "postgresql"]
PUBLIC_URL = "https://shop.example.test"
KILLS = 10
WELCOME = "email.welcome"


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """None for the embedded SQLite default, else a fresh PostgreSQL database."""
    with database_url(request.param) as url:
        yield url


@pytest.fixture
def mail() -> Iterator[MailServer]:
    """A running SMTP server that records what it receives."""
    with MailServer() as server:
        yield server


def _all_succeeded(rows: list[JobRow]) -> bool:
    return bool(rows) and all(row.status == "succeeded" for row in rows)


# 1a. SIGKILL the worker while it sends, under a stream of registrations.


@dataclass
class Ledger:
    """What the registration stream was told: who got an account, who was refused."""

    accepted: dict[str, str] = field(default_factory=dict)  # email -> username
    refused: list[tuple[str, str]] = field(default_factory=list)  # (username, email)
    unexpected: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, username: str, email: str, answer: requests.Response | None) -> None:
        with self.lock:
            if answer is None:
                self.unexpected.append(f"{username}: no answer")
            elif answer.status_code == 201:
                self.accepted[email] = username
            elif answer.status_code == 409:
                self.refused.append((username, email))
            else:
                self.unexpected.append(f"{username}: {answer.status_code} {answer.text}")


def _attempt(base: str, username: str, email: str, ledger: Ledger) -> None:
    with requests.Session() as http:
        try:
            answer: requests.Response | None = register(http, base, username, email, PASSWORD)
        except requests.RequestException:
            answer = None
        ledger.record(username, email, answer)


def _registrations(base: str, stop: threading.Event, ledger: Ledger) -> None:
    """Register users with emails until `stop`; some are made to fail and roll back.

    Every 4th round a taken username with a new address (409 before any write); every 6th two
    users at once with one new address (one commits, the other's insert fails on the unique
    address and rolls back: 409).
    """
    serial = 0
    with ThreadPoolExecutor(2) as pool:
        while not stop.is_set():
            serial += 1
            if serial % 6 == 0:
                email = f"pair{serial}@example.test"
                both = [
                    pool.submit(_attempt, base, f"pair{serial}{side}", email, ledger)
                    for side in "ab"
                ]
                for future in both:
                    future.result()
            elif serial % 4 == 0 and serial > 1:
                _attempt(base, f"user{serial - 1}", f"refused{serial}@example.test", ledger)
            else:
                _attempt(base, f"user{serial}", f"user{serial}@example.test", ledger)


def _kill_while_sending(site: Site, mail: MailServer, rng: random.Random) -> int:
    """KILLS times: once the running worker's mail reaches the server, SIGKILL it (at once, or
    after a few ms) and start another. A worker that sends nothing for a while dies anyway."""
    kills = 0
    worker = site.start_worker()
    while kills < KILLS:
        seen = len(mail.received)
        # Nothing to send for a while: a kill at a random moment instead.
        with contextlib.suppress(AssertionError):
            mail.wait_for(seen + 1, timeout_s=3)
        if rng.random() < 0.5:
            threading.Event().wait(rng.uniform(0, 0.05))
        site.kill(worker)
        kills += 1
        worker = site.start_worker()
    return kills


def test_worker_sigkilled_while_sending_loses_no_email_and_sends_none_for_a_rollback(
    db_url: str | None,
    mail: MailServer,
    tmp_path: Path,
    record_property: Callable[[str, object], None],
) -> None:
    rng = random.Random(20)
    settings = {"STOREKEEPER_PUBLIC_URL": PUBLIC_URL}
    with deployment(tmp_path, db_url, mail.url, settings=settings) as site:
        ledger = Ledger()
        stop = threading.Event()
        stream = threading.Thread(target=_registrations, args=(site.base, stop, ledger))
        stream.start()
        try:
            kills = _kill_while_sending(site, mail, rng)
        finally:
            stop.set()
            stream.join(60)
        assert kills == KILLS
        assert ledger.unexpected == []
        assert ledger.refused, "no registration was refused: the rollback path went untested"
        assert any(email.startswith("pair") for email in ledger.accepted)

        # The last worker (started by the loop) finishes everything.
        counts = wait_for_addresses(mail, ledger.accepted)
        rows = wait_for_jobs(site, _all_succeeded, DELIVERY_S)
        site.stop_workers()

    # Every mail went to an accepted address and names the account that was created there.
    for received in mail.received:
        (to,) = received.rcpt_tos
        assert to in ledger.accepted, f"mail to {to}, whose registration was refused"
        assert f"Hello {ledger.accepted[to]}," in received.text, received.text
        assert token_of(received, "/console/verify")
        assert f"{PUBLIC_URL}/console/verify#token=" in received.text
    refused_only = {email for _, email in ledger.refused} - set(ledger.accepted)
    assert not any(mail_to(mail, email) for email in refused_only)
    # The outbox: one job per committed registration, none for a rolled-back one.
    welcome = [row for row in rows if row.kind == WELCOME]
    assert Counter(row.payload["email"] for row in welcome) == Counter(set(ledger.accepted))
    assert all(row.status == "succeeded" for row in rows)

    extra = duplicates(counts)
    reran = sum(1 for row in welcome if row.attempts > 1)
    record_property("accepted", len(ledger.accepted))
    record_property("refused", len(ledger.refused))
    record_property("duplicate_emails", len(extra))
    record_property("jobs_run_again", reran)
    print(
        f"\n{len(ledger.accepted)} accepted, {len(ledger.refused)} refused, {KILLS} kills: "
        f"{reran} jobs ran again, {len(extra)} addresses got more than one mail {extra}"
    )


# 1b. The SMTP server away for a while, then back on the same port.

USERS = 5


def test_mail_server_down_then_back_every_email_arrives(db_url: str | None, tmp_path: Path) -> None:
    mail = MailServer()  # its port chosen, nothing listening yet
    try:
        with deployment(tmp_path, db_url, mail.url) as site:
            site.start_worker()
            addresses = [f"late{n}@example.test" for n in range(USERS)]
            with requests.Session() as http:
                for n, email in enumerate(addresses):
                    answer = register(http, site.base, f"late{n}", email, PASSWORD)
                    assert answer.status_code == 201, answer.text

            def retrying(rows: list[JobRow]) -> bool:
                return len(rows) == USERS and all(
                    row.status in ("queued", "running") and row.attempts >= 1 for row in rows
                )

            rows = wait_for_jobs(site, retrying, DELIVERY_S)
            assert all(row.last_error for row in rows if row.status == "queued")
            listed = site.cli("jobs", "list")
            assert listed.returncode == 0, listed.stderr
            assert listed.stdout == ""
            assert "0 failed jobs shown" in listed.stderr

            mail.start()
            counts = wait_for_addresses(mail, addresses)
            rows = wait_for_jobs(site, _all_succeeded, DELIVERY_S)
            assert all(row.attempts >= 2 for row in rows), rows
            assert sorted(counts) == sorted(addresses)
    finally:
        mail.stop()


# 1c. A reset token used twice at once: exactly one use succeeds.

RACERS = 6
NEW_PASSWORD = "a brand new passphrase"


def test_a_reset_token_used_concurrently_succeeds_exactly_once(
    db_url: str | None, mail: MailServer, tmp_path: Path
) -> None:
    settings = {"STOREKEEPER_PUBLIC_URL": PUBLIC_URL}
    with (
        deployment(tmp_path, db_url, mail.url, server_workers=3, settings=settings) as site,
        requests.Session() as http,
    ):
        site.start_worker()
        base = site.base
        email = "racer@example.test"
        assert register(http, base, "racer", email, PASSWORD).status_code == 201
        [welcome] = mail.wait_for(1, DELIVERY_S)
        login = sign_in(http, base, "racer", PASSWORD)
        assert login.status_code == 200, login.text
        auth = {"Authorization": f"Bearer {login.json()['access_token']}"}
        verified = http.post(
            f"{base}/user/me/email/verify",
            json={"token": token_of(welcome, "/console/verify")},
            headers=auth,
            timeout=30,
        )
        assert verified.status_code == 204, verified.text

        asked = http.post(f"{base}/password-reset", json={"email": email}, timeout=30)
        assert asked.status_code == 202, asked.text
        reset = mail.wait_for(2, DELIVERY_S)[1]
        assert reset.rcpt_tos == (email,)
        token = token_of(reset, "/console/reset")
        assert f"{PUBLIC_URL}/console/reset#token={token}" in reset.text

        barrier = threading.Barrier(RACERS)

        def confirm() -> int:
            with requests.Session() as own:
                body = {"token": token, "new_password": NEW_PASSWORD}
                # Connect first, so the barrier lines up the requests, not the handshakes.
                own.get(f"{base}/health", timeout=30)
                barrier.wait(30)
                return own.post(f"{base}/password-reset/confirm", json=body, timeout=30).status_code

        with ThreadPoolExecutor(RACERS) as pool:
            statuses = Counter(pool.map(lambda _: confirm(), range(RACERS)))
        assert statuses == Counter({204: 1, 422: RACERS - 1})

        assert sign_in(http, base, "racer", NEW_PASSWORD).status_code == 200
        assert sign_in(http, base, "racer", PASSWORD).status_code == 401
        # The one use recorded one confirmation email.
        mail.wait_for(3, DELIVERY_S)
        rows = wait_for_jobs(site, _all_succeeded, DELIVERY_S)
        assert Counter(row.kind for row in rows)["email.password_reset_done"] == 1


# 1d. A dead letter, listed without the SMTP password, and retried by the operator.

SMTP_PASSWORD = "smtp-Pa55word-never-shown"


def test_a_dead_letter_is_listed_without_the_password_and_delivered_when_retried(
    db_url: str | None, tmp_path: Path
) -> None:
    certificate = make_certificate(tmp_path / "tls")
    mail = MailServer(
        tls="starttls", certificate=certificate, credentials=("mailer", SMTP_PASSWORD)
    )
    assert SMTP_PASSWORD in mail.url
    settings = {"STOREKEEPER_JOB_MAX_ATTEMPTS": "2"}
    try:
        with deployment(tmp_path / "site", db_url, mail.url, settings=settings) as site:
            # The worker trusts the test's certificate the way any OpenSSL client can be told to.
            site.start_worker(SSL_CERT_FILE=str(certificate.cert))
            email = "dead@example.test"
            with requests.Session() as http:
                assert register(http, site.base, "dead", email, PASSWORD).status_code == 201

            def dead(rows: list[JobRow]) -> bool:
                return len(rows) == 1 and rows[0].status == "failed"

            [row] = wait_for_jobs(site, dead, DELIVERY_S)
            assert row.attempts == 2
            listed = site.cli("jobs", "list")
            assert listed.returncode == 0, listed.stderr
            [line] = listed.stdout.splitlines()
            job_id, kind, attempts, _finished, error = line.split("\t")
            assert (int(job_id), kind, attempts) == (row.id, WELCOME, "attempts=2")
            assert "sending mail through" in error and "refused" in error.lower(), error
            assert "1 failed jobs shown" in listed.stderr
            for output in (listed.stdout, listed.stderr, row.last_error or "", site.logs()):
                assert SMTP_PASSWORD not in output

            mail.start()
            retried = site.cli("jobs", "retry", str(row.id))
            assert retried.returncode == 0, retried.stderr
            assert "1 jobs queued again" in retried.stderr
            [delivered] = mail.wait_for(1, DELIVERY_S)
            assert delivered.rcpt_tos == (email,)
            assert delivered.tls and delivered.login == "mailer"
            [row] = wait_for_jobs(site, _all_succeeded, DELIVERY_S)
            assert row.attempts == 1  # counted afresh after the operator's retry
            again = site.cli("jobs", "list")
            assert again.stdout == "" and "0 failed jobs shown" in again.stderr
            assert SMTP_PASSWORD not in site.logs()
    finally:
        mail.stop()


# 2. Two instances and two workers on one PostgreSQL database.

MANY = 40


@pytest.mark.parametrize("queue", ["postgresql", "redis"])
def test_two_instances_and_two_workers_send_every_email_once(
    queue: str, mail: MailServer, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    with database_url("postgresql") as url, tempfile.TemporaryDirectory() as raw:
        redis_server = RedisServer(Path(raw))
        settings: dict[str, str] = {}
        if queue == "redis":
            redis_server.start()
            settings["STOREKEEPER_REDIS_URL"] = redis_server.url
        try:
            with deployment(
                tmp_path, url, mail.url, servers=2, server_workers=1, settings=settings
            ) as site:
                site.start_worker()
                site.start_worker()
                addresses = [f"many{n}@example.test" for n in range(MANY)]

                def one(n: int) -> int:
                    with requests.Session() as http:
                        base = site.bases[n % 2]
                        return register(http, base, f"many{n}", addresses[n], PASSWORD).status_code

                with ThreadPoolExecutor(4) as pool:
                    assert Counter(pool.map(one, range(MANY))) == Counter({201: MANY})
                counts = wait_for_addresses(mail, addresses)
                rows = wait_for_jobs(site, _all_succeeded, DELIVERY_S)
                # Both workers took part (each logs the jobs it ran).
                ran = [site.worker_log(n).read_text().count('"job succeeded"') for n in (0, 1)]
        finally:
            redis_server.stop()
    assert len(rows) == MANY
    assert all(row.attempts == 1 for row in rows), [r for r in rows if r.attempts != 1]
    extra = duplicates(counts)
    record_property("duplicate_emails", len(extra))
    record_property("jobs_per_worker", ran)
    print(f"\njobs run per worker: {ran}; addresses with more than one mail: {extra}")
    assert sum(ran) == MANY
    assert extra == {}, "a job ran twice with no worker killed: the claim did not gate it"
