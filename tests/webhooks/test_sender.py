"""The webhook sender against real receivers on loopback: answers, refusals, deadlines, TLS."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import pytest

from deploy.processes import free_port
from storekeeper.webhooks.addresses import Destinations
from storekeeper.webhooks.sender import Outcome, Sender
from tests.mailserver import Certificate, make_certificate
from tests.webhooks.receiver import (
    Receiver,
    Resolver,
    Script,
    answer,
    drip,
    drip_tls,
    flood,
    raw,
    silent,
)

BODY = b'{"type": "item.created", "timestamp": "2026-12-07T02:00:00Z", "data": {}}'
SIGNATURE = "v1,c2VjcmV0LXNpZ25hdHVyZS1vZi10aGUtYm9keQ=="
HEADERS = {
    "content-type": "application/json",
    "user-agent": "Storekeeper-Webhooks/1",
    "webhook-id": "42",
    "webhook-timestamp": "1796608800",
    "webhook-signature": SIGNATURE,
}
PUBLIC = "93.184.216.34"


def sender(
    allow_private: bool = True,
    names: Mapping[str, Sequence[Sequence[str]]] | None = None,
    timeout_s: float = 10.0,
    ca_file: Path | None = None,
) -> Sender:
    """A sender whose resolver knows `names` (hooks.test and localhost are 127.0.0.1)."""
    resolve = Resolver(names or {"hooks.test": [["127.0.0.1"]], "localhost": [["127.0.0.1"]]})
    return Sender(Destinations(allow_private, resolve), timeout_s=timeout_s, ca_file=ca_file)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    """A self-signed certificate for localhost and 127.0.0.1."""
    return make_certificate(tmp_path_factory.mktemp("receiver-tls"))


def test_a_2xx_is_a_success_and_the_receiver_gets_the_body_and_headers() -> None:
    with Receiver(answer(204)) as receiver:
        outcome = sender().post(receiver.url("hooks.test", "/in?src=shop"), HEADERS, BODY)
    assert outcome.status == 204 and outcome.error is None and outcome.succeeded
    assert outcome.retry_after_s is None and outcome.duration_ms >= 0
    [request] = receiver.requests
    assert (request.method, request.target, request.body) == ("POST", "/in?src=shop", BODY)
    assert {k: request.headers[k] for k in HEADERS} == HEADERS
    assert request.headers["host"] == f"hooks.test:{receiver.port}"
    assert request.headers["content-length"] == str(len(BODY))
    assert request.headers["connection"] == "close"
    assert SIGNATURE not in repr(outcome)


def test_the_caller_cannot_set_the_framing_headers() -> None:
    framing = {"Host": "elsewhere.example", "Content-Length": "1", "Connection": "keep-alive"}
    with Receiver(answer(200)) as receiver:
        outcome = sender().post(receiver.url("hooks.test"), {**HEADERS, **framing}, BODY)
    assert outcome.succeeded
    [request] = receiver.requests
    assert request.headers["host"] == f"hooks.test:{receiver.port}"
    assert request.headers["content-length"] == str(len(BODY))
    assert request.body == BODY


@pytest.mark.parametrize("status", [500, 410, 404, 429])
def test_other_statuses_are_answers_not_errors(status: int) -> None:
    with Receiver(answer(status, body=b"no thanks")) as receiver:
        outcome = sender().post(receiver.url(), HEADERS, BODY)
    assert outcome.status == status and outcome.error is None and not outcome.succeeded


def test_retry_after_in_seconds() -> None:
    with Receiver(answer(503, {"Retry-After": "120"})) as receiver:
        outcome = sender().post(receiver.url(), HEADERS, BODY)
    assert (outcome.status, outcome.retry_after_s) == (503, 120.0)


def test_retry_after_as_an_http_date() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    with Receiver(answer(429, {"Retry-After": later})) as receiver:
        outcome = sender().post(receiver.url(), HEADERS, BODY)
    assert outcome.status == 429
    assert outcome.retry_after_s is not None and 3000 < outcome.retry_after_s <= 3600


def test_a_redirect_is_a_failure_and_is_not_followed() -> None:
    with Receiver(answer(302, {"Location": "/elsewhere"})) as receiver:
        outcome = sender().post(receiver.url(), HEADERS, BODY)
    assert outcome.status == 302 and not outcome.succeeded
    assert outcome.error == (
        "the receiver answered 302, a redirect to /elsewhere; redirects are not followed"
    )
    assert receiver.connections == 1 and len(receiver.requests) == 1


def test_an_error_is_one_short_line_whatever_the_receiver_sends() -> None:
    location = "https://elsewhere.example/" + "a" * 1000 + "\tb"
    with Receiver(answer(308, {"Location": location})) as receiver:
        outcome = sender().post(receiver.url(), HEADERS, BODY)
    assert outcome.error is not None and len(outcome.error) == 300
    assert outcome.error.startswith("the receiver answered 308, a redirect to https://elsewhere")
    assert outcome.error.endswith("a…")


def test_a_huge_answer_is_read_only_up_to_the_bound() -> None:
    total = 64 * 1024 * 1024  # far more than loopback's socket buffers hold
    with Receiver(flood(total)) as receiver:
        outcome = sender().post(receiver.url(), HEADERS, BODY)
        receiver.wait_done()
    assert outcome.status == 200 and outcome.succeeded
    [exchange] = receiver.exchanges
    assert not exchange.finished and exchange.sent < total


def test_a_receiver_that_never_answers_is_cut_at_the_deadline() -> None:
    with Receiver(silent) as receiver:
        outcome = sender(timeout_s=1).post(receiver.url(), HEADERS, BODY)
    assert outcome == Outcome(None, None, outcome.duration_ms, "timed out after 1 s")
    assert len(receiver.requests) == 1


def test_a_receiver_that_drips_its_answer_is_cut_at_the_deadline() -> None:
    # Each byte comes well within any per-read timeout; only a deadline for the whole
    # exchange stops it.
    with Receiver(drip) as receiver:
        outcome = sender(timeout_s=1).post(receiver.url(), HEADERS, BODY)
    assert (outcome.status, outcome.error) == (None, "timed out after 1 s")
    assert receiver.exchanges[0].sent >= 1


def test_a_receiver_that_drips_its_tls_handshake_is_cut_at_the_deadline() -> None:
    with Receiver(drip_tls, read_request=False) as receiver:
        url = receiver.url("localhost").replace("http:", "https:")
        outcome = sender(timeout_s=1).post(url, HEADERS, BODY)
    assert (outcome.status, outcome.error) == (None, "timed out after 1 s")
    assert receiver.exchanges[0].sent >= 5


def test_connection_refused() -> None:
    outcome = sender().post(f"http://127.0.0.1:{free_port()}/hooks", HEADERS, BODY)
    assert (outcome.status, outcome.error) == (None, "connection refused")


@pytest.mark.parametrize(
    ("script", "error"),
    [
        (raw(b""), "the receiver closed the connection without answering"),
        (raw(b"SMTP ready\r\n\r\n"), "the answer is not valid HTTP (BadStatusLine)"),
    ],
)
def test_a_broken_answer_is_an_error(script: Script, error: str) -> None:
    with Receiver(script) as receiver:
        outcome = sender().post(receiver.url(), HEADERS, BODY)
    assert (outcome.status, outcome.error) == (None, error)


def test_without_private_addresses_a_loopback_url_is_refused_before_connecting() -> None:
    with Receiver(answer(204)) as receiver:
        outcome = sender(allow_private=False).post(
            receiver.url().replace("http:", "https:"), HEADERS, BODY
        )
    assert outcome.status is None
    assert outcome.error == (
        "URL refused: host is a loopback address; webhooks go to public addresses only"
    )
    assert receiver.connections == 0


def test_a_name_rebound_to_loopback_after_the_check_is_refused_at_delivery() -> None:
    names = {"hooks.test": [[PUBLIC], ["127.0.0.1"]]}
    with Receiver(answer(204)) as receiver:
        url = receiver.url("hooks.test").replace("http:", "https:")
        rebinding = sender(allow_private=False, names=names)
        assert rebinding.destinations.check(url) is None
        outcome = rebinding.post(url, HEADERS, BODY)
    assert outcome.status is None
    assert outcome.error == (
        "URL refused: host name does not resolve, or resolves to a non-public address"
    )
    assert receiver.connections == 0


def test_the_name_is_looked_up_once_and_the_checked_address_is_the_one_used() -> None:
    # A second look-up would answer an address nothing listens on.
    resolve = Resolver({"hooks.test": [["127.0.0.1"], ["127.0.0.2"]]})
    with Receiver(answer(204)) as receiver:
        outcome = Sender(Destinations(True, resolve)).post(receiver.url("hooks.test"), {}, BODY)
    assert outcome.succeeded and resolve.lookups == ["hooks.test"]
    assert receiver.connections == 1


def test_every_vetted_address_is_tried_in_turn() -> None:
    with Receiver(answer(204)) as receiver:
        names = {"hooks.test": [["127.0.0.3", "127.0.0.1"]]}
        # 127.0.0.3 refuses the receiver's port: nothing listens there.
        outcome = sender(names=names).post(receiver.url("hooks.test"), HEADERS, BODY)
    assert outcome.succeeded and receiver.connections == 1


def test_https_verifies_the_certificate_for_the_host_name(certificate: Certificate) -> None:
    with Receiver(answer(200), tls=certificate.server_context()) as receiver:
        outcome = sender(ca_file=certificate.cert).post(receiver.url("localhost"), HEADERS, BODY)
    assert outcome.status == 200 and outcome.succeeded
    # The name, never the address it resolved to, in SNI and in Host.
    assert receiver.server_names == ["localhost"]
    assert receiver.requests[0].headers["host"] == f"localhost:{receiver.port}"


def test_https_refuses_a_certificate_it_does_not_trust(certificate: Certificate) -> None:
    with Receiver(answer(200), tls=certificate.server_context()) as receiver:
        outcome = sender().post(receiver.url("localhost"), HEADERS, BODY)
    assert outcome.status is None and outcome.error is not None
    assert outcome.error.startswith("TLS certificate not accepted: self")  # self-signed
    assert receiver.requests == []


def test_https_refuses_a_certificate_for_another_name(certificate: Certificate) -> None:
    with Receiver(answer(200), tls=certificate.server_context()) as receiver:
        outcome = sender(ca_file=certificate.cert).post(receiver.url("hooks.test"), HEADERS, BODY)
    assert outcome.status is None
    assert outcome.error is not None and "Hostname mismatch" in outcome.error
    assert receiver.server_names == ["hooks.test"] and receiver.requests == []


def test_https_to_an_address_verifies_the_address_and_sends_no_server_name(
    certificate: Certificate,
) -> None:
    with Receiver(answer(200), tls=certificate.server_context()) as receiver:
        outcome = sender(ca_file=certificate.cert).post(receiver.url(), HEADERS, BODY)
    assert outcome.succeeded
    assert receiver.server_names == [None]  # SNI carries names only
    assert receiver.requests[0].headers["host"] == f"127.0.0.1:{receiver.port}"


def test_https_to_a_plain_http_receiver_is_a_tls_failure() -> None:
    with Receiver(answer(200), read_request=False) as receiver:
        url = receiver.url("localhost").replace("http:", "https:")
        outcome = sender().post(url, HEADERS, BODY)
    assert outcome.status is None and outcome.error is not None
    assert outcome.error.startswith("TLS failed: ")
