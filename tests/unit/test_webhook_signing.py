"""Webhook signatures and bodies, held to the `standardwebhooks` library (the reference
implementation of Standard Webhooks 1.0) as a receiver would use it."""

from __future__ import annotations

import base64
import secrets
import time
from datetime import UTC, datetime

import orjson
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from storekeeper.background.webhook_delivery import delivery_body
from storekeeper.webhooks import signing


def _secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


BODY = delivery_body(
    "item.created",
    datetime(2026, 11, 30, 9, 15, tzinfo=UTC),
    {"id": 31, "type": "item.created", "changes": {"name": [None, "Café"]}, "store_id": 4},
)


def test_the_library_verifies_what_we_sign_and_reads_the_body_back() -> None:
    secret = _secret()
    now = int(time.time())
    headers = signing.headers([secret], "31", now, BODY)
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(BODY, headers) == orjson.loads(BODY)
    # Byte for byte what the library itself signs, given the same UTC instant.
    expected = Webhook(secret).sign("31", datetime.fromtimestamp(now, UTC), BODY.decode())
    assert headers["webhook-signature"] == expected


def test_the_body_is_the_envelope_with_times_in_utc_z() -> None:
    assert orjson.loads(BODY) == {
        "type": "item.created",
        "timestamp": "2026-11-30T09:15:00Z",
        "data": {
            "id": 31,
            "type": "item.created",
            "changes": {"name": [None, "Café"]},
            "store_id": 4,
        },
    }


def test_during_a_rotation_either_secret_verifies() -> None:
    new, old, other = _secret(), _secret(), _secret()
    now = int(time.time())
    headers = signing.headers([new, old], "ping_9", now, BODY)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        Webhook(secret).verify(BODY, headers)
        assert signing.verify(secret, "ping_9", now, BODY, headers["webhook-signature"])
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(BODY, headers)
    assert not signing.verify(other, "ping_9", now, BODY, headers["webhook-signature"])


@pytest.mark.parametrize(
    ("field", "value"),
    [("webhook-id", "32"), ("webhook-timestamp", "1"), ("webhook-signature", "v1,AAAA")],
)
def test_a_changed_header_fails_verification(field: str, value: str) -> None:
    secret = _secret()
    headers = signing.headers([secret], "31", int(time.time()), BODY)
    headers[field] = value
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY, headers)


def test_a_changed_body_fails_verification() -> None:
    secret = _secret()
    headers = signing.headers([secret], "31", int(time.time()), BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(BODY.replace(b"Caf", b"caf"), headers)


def test_a_secret_that_is_not_base64_is_refused() -> None:
    with pytest.raises(ValueError, match="whsec_"):
        signing.signature("whsec_not*base64", "1", 1, b"{}")
