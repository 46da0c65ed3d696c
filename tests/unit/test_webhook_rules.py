"""A webhook's own rules: its event types, its secret, which events it gets."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

from storekeeper.domain.webhooks import (
    Prechecked,
    Webhook,
    new_secret,
    normal_events,
    subscribed,
)

NOW = datetime(2026, 12, 7, 3, 0, tzinfo=UTC)


def test_event_types_are_stored_sorted_and_once() -> None:
    assert normal_events(["item.updated", "item.created", "item.updated"]) == (
        ("item.created", "item.updated"),
        [],
    )
    assert normal_events(["*"]) == (("*",), [])
    assert normal_events(["*", "*"]) == (("*",), [])


def test_unknown_mixed_or_no_event_types_are_refused() -> None:
    assert normal_events(["item.exploded", "item.created", "a.b"])[1] == [
        "unknown event type: a.b",
        "unknown event type: item.exploded",
    ]
    assert normal_events(["*", "item.created"])[1]
    assert normal_events([])[1]


def test_a_webhook_gets_the_types_it_names_or_all_of_them() -> None:
    assert subscribed(("item.created",), "item.created")
    assert not subscribed(("item.created",), "item.updated")
    assert subscribed(("*",), "webhook.deleted")


def test_secrets_are_standard_webhooks_secrets_and_never_alike() -> None:
    made = {new_secret() for _ in range(100)}
    assert len(made) == 100
    for secret in made:
        assert secret.startswith("whsec_")
        assert len(base64.b64decode(secret.removeprefix("whsec_"), validate=True)) == 32


def _hook(previous: str | None, expires: datetime | None) -> Webhook:
    return Webhook(
        1, 1, "https://a.example", "", ("*",), True, None, None, NOW, NOW, "whsec_new",
        previous, expires,
    )  # fmt: skip


def test_the_previous_secret_signs_until_it_expires_and_no_repr_shows_a_secret() -> None:
    kept = _hook("whsec_old", NOW + timedelta(hours=24))
    assert kept.signing_secrets(NOW) == ["whsec_new", "whsec_old"]
    assert kept.signing_secrets(NOW + timedelta(hours=24)) == ["whsec_new"]
    assert _hook(None, None).signing_secrets(NOW) == ["whsec_new"]
    assert "whsec" not in repr(kept)


class Counting:
    def __init__(self) -> None:
        self.seen: list[str] = []

    def check(self, url: str) -> str | None:
        self.seen.append(url)
        return None if url.startswith("https://") else "scheme must be https"


def test_prechecked_urls_are_not_checked_again() -> None:
    real = Counting()
    checked = Prechecked.of(real, "https://a.example", None, "http://b.example")
    assert checked.check("https://a.example") is None
    assert checked.check("http://b.example") == "scheme must be https"
    assert real.seen == ["https://a.example", "http://b.example"]
    assert checked.check("https://c.example") is None
    assert real.seen[-1] == "https://c.example"
