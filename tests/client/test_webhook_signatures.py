"""verify_webhook accepts what Standard Webhooks signers produce and refuses everything else."""

from __future__ import annotations

import base64
import email.message
import json
import secrets
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from storekeeper.background.webhook_delivery import delivery_body
from storekeeper.webhooks import signing
from storekeeper_client import WebhookVerificationError, verify_webhook

NOW = 1_790_000_000
BODY = json.dumps(
    {"type": "item.updated", "timestamp": "2026-09-21T10:13:20Z", "data": {"id": 7}}
).encode()


def new_secret() -> str:
    """A secret as Storekeeper makes them: whsec_ and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def signed(
    secret: str, body: bytes = BODY, at: int = NOW, message_id: str = "31"
) -> dict[str, str]:
    """Headers of a delivery signed by the standardwebhooks library."""
    signature = Webhook(secret).sign(message_id, datetime.fromtimestamp(at, UTC), body)
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(at),
        "webhook-signature": signature,
    }


def test_a_delivery_signed_by_the_standard_library_is_accepted_and_parsed() -> None:
    secret = new_secret()
    payload = verify_webhook(secret, signed(secret), BODY, now=NOW)
    assert payload == json.loads(BODY)
    # A str body is the same bytes.
    assert verify_webhook(secret, signed(secret), BODY.decode(), now=NOW) == payload


def test_what_the_worker_signs_is_accepted_with_either_secret_of_a_rotation() -> None:
    old, new = new_secret(), new_secret()
    body = delivery_body(
        "item.updated", datetime.fromtimestamp(NOW, UTC), {"id": 31, "store_id": 4}
    )
    headers = signing.headers([new, old], "31", NOW + 5, body)
    for secret in (new, old):
        payload = verify_webhook(secret, headers, body, now=NOW + 5)
        assert payload == {
            "type": "item.updated",
            "timestamp": "2026-09-21T14:13:20Z",
            "data": {"id": 31, "store_id": 4},
        }
    with pytest.raises(WebhookVerificationError):
        verify_webhook(new_secret(), headers, body, now=NOW + 5)


def test_the_standards_own_example_verifies() -> None:
    # The example of the Standard Webhooks specification's reference libraries.
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert verify_webhook(secret, headers, body, now=1614265330) == {"test": 2432232314}


def test_either_secret_of_a_rotation_verifies_a_delivery_signed_by_both() -> None:
    old, new = new_secret(), new_secret()
    headers = signed(new)
    headers["webhook-signature"] += " " + signed(old)["webhook-signature"]
    assert verify_webhook(new, headers, BODY, now=NOW)
    assert verify_webhook(old, headers, BODY, now=NOW)
    with pytest.raises(WebhookVerificationError, match="no signature matches"):
        verify_webhook(new_secret(), headers, BODY, now=NOW)


def test_header_names_are_read_whatever_their_case_from_http_server_headers() -> None:
    secret = new_secret()
    message = email.message.Message()  # what http.server's handler has as self.headers
    for name, value in signed(secret).items():
        message[name.title()] = value
    message["Content-Type"] = "application/json"
    assert verify_webhook(secret, message, BODY, now=NOW)["data"] == {"id": 7}


def test_signatures_of_other_versions_are_skipped() -> None:
    secret = new_secret()
    headers = signed(secret)
    headers["webhook-signature"] = "v1a,c29tZXRoaW5nIGVsc2U= " + headers["webhook-signature"]
    assert verify_webhook(secret, headers, BODY, now=NOW)
    headers["webhook-signature"] = "v2," + headers["webhook-signature"].split(",")[-1]
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, headers, BODY, now=NOW)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda h, b: (h, b + b" "), id="a changed body"),
        pytest.param(lambda h, b: ({**h, "webhook-id": "32"}, b), id="another id"),
        pytest.param(
            lambda h, b: ({**h, "webhook-timestamp": str(NOW + 1)}, b), id="another timestamp"
        ),
        pytest.param(
            lambda h, b: ({**h, "webhook-signature": "v1," + "A" * 43 + "="}, b),
            id="a forged signature",
        ),
    ],
)
def test_anything_changed_after_signing_is_refused(change: object) -> None:
    secret = new_secret()
    headers, body = change(signed(secret), BODY)  # type: ignore[operator]
    with pytest.raises(WebhookVerificationError):
        verify_webhook(secret, headers, body, now=NOW)


def test_a_timestamp_outside_the_tolerance_is_refused_both_ways() -> None:
    secret = new_secret()
    assert verify_webhook(secret, signed(secret, at=NOW - 300), BODY, now=NOW)
    assert verify_webhook(secret, signed(secret, at=NOW + 300), BODY, now=NOW)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify_webhook(secret, signed(secret, at=NOW - 301), BODY, now=NOW)
    with pytest.raises(WebhookVerificationError, match="future"):
        verify_webhook(secret, signed(secret, at=NOW + 301), BODY, now=NOW)
    # A tolerance of its own: a receiver that queues deliveries may allow more.
    assert verify_webhook(secret, signed(secret, at=NOW - 3600), BODY, now=NOW, tolerance=3600)


def test_the_clock_is_the_default_now() -> None:
    secret = new_secret()
    at = int(datetime.now(UTC).timestamp())
    assert verify_webhook(secret, signed(secret, at=at), BODY)
    with pytest.raises(WebhookVerificationError, match="too old"):
        verify_webhook(secret, signed(secret, at=NOW - 10**6), BODY)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_named(missing: str) -> None:
    secret = new_secret()
    headers = signed(secret)
    del headers[missing]
    with pytest.raises(WebhookVerificationError, match=missing):
        verify_webhook(secret, headers, BODY, now=NOW)


def test_a_malformed_timestamp_and_a_body_that_is_no_object_are_refused() -> None:
    secret = new_secret()
    with pytest.raises(WebhookVerificationError, match="not a number"):
        verify_webhook(secret, {**signed(secret), "webhook-timestamp": "soon"}, BODY, now=NOW)
    with pytest.raises(WebhookVerificationError, match="not a JSON object"):
        verify_webhook(secret, signed(secret, body=b"[1]"), b"[1]", now=NOW)
    with pytest.raises(WebhookVerificationError, match="not JSON"):
        verify_webhook(secret, signed(secret, body=b"{"), b"{", now=NOW)


def test_a_secret_is_checked_before_anything_is_compared() -> None:
    with pytest.raises(ValueError, match="whsec_"):
        verify_webhook("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", {}, BODY, now=NOW)
    with pytest.raises(ValueError, match="base64"):
        verify_webhook("whsec_not base64!", {}, BODY, now=NOW)
    # Unpadded base64 is as good as padded (the standard allows both).
    secret = new_secret()
    assert verify_webhook(secret.rstrip("="), signed(secret), BODY, now=NOW)
