"""Unit tests of the value rules, settings and security, without HTTP or a database."""

from __future__ import annotations

import os
import re
import stat
import time
import unicodedata
from decimal import Decimal
from pathlib import Path

import jwt
import pytest
from argon2 import PasswordHasher
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from storekeeper.domain import accounts
from storekeeper.domain.errors import Invalid
from storekeeper.domain.values import (
    NAME_TRIMMED,
    Money,
    RateLimit,
    check_storable,
    check_text,
    check_username,
    clean_name,
    name_key,
)
from storekeeper.http.items import ItemListParams, ItemPatch
from storekeeper.http.numbers import OversizedNumber, read_number, refuse_oversized
from storekeeper.http.schemas import (
    NAME_PATTERN,
    field_errors,
)
from storekeeper.http.stores import StoreCreate
from storekeeper.http.users import LoginIn, RegisterIn
from storekeeper.security import PASSWORD_HASHER, Passwords, TokenError, Tokens
from storekeeper.settings import (
    DEFAULT_PUBLIC_URL,
    SettingsError,
    load_settings,
    parse_rate_limit,
    public_url_for,
)

SECRET = "s" * 40


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Straße", "STRASSE"),
        ("café", "cafe\u0301"),
        ("ǅ", "ǆ"),
        ("ΣΊΣΥΦΟΣ", "σίσυφος"),
        ("ﬁ", "FI"),
    ],
)
def test_name_keys_fold_case_and_normalise(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)


def test_clean_name() -> None:
    assert clean_name("  Shop \n") == "Shop"
    assert clean_name("\u3000\t\u2028Shop\v\f\r\u00a0") == "Shop"
    assert clean_name("é" * 80) == "é" * 80
    for bad in (
        "",
        "   ",
        "x" * 81,
        "a\x00b",
        "a\x1fb",
        "a\x7fb",
        "a\x9fb",
        "\x1cShop",
        "Shop\x85",
    ):
        with pytest.raises(ValueError, match="must"):
            clean_name(bad)


def test_names_are_trimmed_of_unicode_white_space_but_no_other_control_character() -> None:
    # str.isspace() is Unicode's White_Space plus U+001C-U+001F; of those control characters,
    # only the five ASCII ones every tool calls white space are trimmed (not U+0085 either).
    expected = {
        char
        for char in map(chr, range(0x110000))
        if char.isspace() and (unicodedata.category(char) != "Cc" or char in "\t\n\v\f\r")
    }
    assert set(NAME_TRIMMED) == expected
    assert "\x85" not in NAME_TRIMMED
    assert not set(NAME_TRIMMED) & set("\x1c\x1d\x1e\x1f")


def _accepted(raw: str) -> bool:
    try:
        clean_name(raw)
    except ValueError:
        return False
    return True


_NAME_CHARS = st.sampled_from(
    [
        *NAME_TRIMMED,
        "\x00",
        "\x1c",
        "\x1f",
        "\x7f",
        "\x85",
        "\x9f",
        "\u200b",
        "a",
        "é",
        "\U0001f600",
    ]
)


@given(
    st.builds(
        lambda left, core, right: left + core + right,
        st.text(_NAME_CHARS, max_size=4),
        st.text(_NAME_CHARS, max_size=4)
        | st.text(st.sampled_from("ab é"), min_size=78, max_size=82),
        st.text(_NAME_CHARS, max_size=4),
    )
)
def test_the_documented_name_pattern_is_the_name_rule(raw: str) -> None:
    assert (re.search(NAME_PATTERN, raw) is not None) == _accepted(raw)


@pytest.mark.parametrize(
    ("text", "reason"),
    [("a\x00", "NUL"), ("\x00", "NUL"), ("\ud800", "surrogate"), ("a\udfffb", "surrogate")],
)
def test_text_no_database_stores_is_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        check_storable(text)


def test_storable_text_passes() -> None:
    for text in ("", "plain", "\U0001f600", "\ufffd", "\uffff", "\x01"):
        assert check_storable(text) == text


@pytest.mark.parametrize(
    ("model", "data", "field"),
    [
        (StoreCreate, {"name": "Shop\ud800"}, "name"),
        (ItemPatch, {"description": "\udc00"}, "description"),
        (LoginIn, {"username": "\ud83d", "password": "x"}, "username"),
        (RegisterIn, {"username": "abc", "password": "\udc00" * 8}, "password"),
        (ItemListParams, {"q": "\ud800"}, "q"),
        (ItemListParams, {"cursor": "\udfff"}, "cursor"),
    ],
)
def test_lone_surrogates_are_refused_by_every_request_model(
    model: type[BaseModel], data: dict[str, str], field: str
) -> None:
    # The JSON parser refuses lone surrogate escapes (400) and query strings are decoded with
    # replacement characters, so none arrives today: the models refuse them all the same.
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    assert field_errors(caught.value.errors()) == {field: ["must not contain unpaired surrogates"]}


def test_check_text() -> None:
    assert check_text("ok", 10) == "ok"
    with pytest.raises(ValueError, match="at most"):
        check_text("x" * 11, 10)
    with pytest.raises(ValueError, match="NUL"):
        check_text("a\x00", 10)


@pytest.mark.parametrize(
    ("value", "cents"),
    [
        (Decimal("9.99"), 999),
        (10, 1000),
        (Decimal("9.990"), 999),
        (Decimal("-0"), 0),
        (Decimal("999999999.99"), 99999999999),
        (0, 0),
        (Decimal("1E+2"), 10000),
    ],
)
def test_prices_convert_exactly(value: object, cents: int) -> None:
    assert Money.parse(value) == Money(cents)


@pytest.mark.parametrize(
    "value",
    [
        Decimal("9.999"),
        Decimal("-0.01"),
        Decimal("1000000000"),
        True,
        "9.99",
        None,
        9.99,
        Decimal("NaN"),
        Decimal("Infinity"),
        Decimal("1E+400"),
    ],
)
def test_non_prices_are_refused(value: object) -> None:
    with pytest.raises(ValueError, match="must"):
        Money.parse(value)


# Settings


def test_settings_defaults_make_and_keep_a_secret(tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    env = {"STOREKEEPER_INSTANCE_PATH": str(instance)}
    first = load_settings(env)
    assert first.database_url == f"sqlite:///{instance / 'storekeeper.db'}"
    assert stat.S_IMODE(os.stat(instance).st_mode) == 0o700
    secret_file = instance / "secret_key"
    assert stat.S_IMODE(os.stat(secret_file).st_mode) == 0o600
    assert load_settings(env).secret_key == first.secret_key
    assert len(first.secret_key.encode()) >= 32
    assert first.secret_key not in repr(first)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("STOREKEEPER_ENV", "staging"),
        ("STOREKEEPER_LOG_LEVEL", "LOUD"),
        ("STOREKEEPER_DATABASE_URL", "mysql://x"),
        ("STOREKEEPER_SECRET_KEY", "short"),
        ("STOREKEEPER_LOGIN_RATE_LIMIT", "10 per minute"),
        ("STOREKEEPER_LOGIN_RATE_LIMIT", "0/minute"),
        ("STOREKEEPER_ACCESS_TOKEN_TTL", "-5"),
        ("STOREKEEPER_ACCESS_TOKEN_TTL", "9999999"),
        ("STOREKEEPER_TRUSTED_PROXIES", "not-an-ip"),
        ("STOREKEEPER_CORS_ORIGINS", "javascript:alert(1)"),
        ("STOREKEEPER_DB_POOL_SIZE", "0"),
        ("STOREKEEPER_DB_PREPARED_STATEMENTS", "maybe"),
        ("STOREKEEPER_WEBHOOK_ALLOW_PRIVATE", "maybe"),
        ("STOREKEEPER_PUBLIC_URL", "api.example.com"),
        ("STOREKEEPER_PUBLIC_URL", "ftp://api.example.com"),
        ("STOREKEEPER_PUBLIC_URL", "https://api.example.com/v1"),
        ("STOREKEEPER_PUBLIC_URL", "https://api.example.com//"),
        ("STOREKEEPER_PUBLIC_URL", "https://api.example.com?x=1"),
        ("STOREKEEPER_PUBLIC_URL", "https://api.example.com#top"),
        ("STOREKEEPER_PUBLIC_URL", "https://user@api.example.com"),
        ("STOREKEEPER_PUBLIC_URL", "https://user:pw@api.example.com"),
        ("STOREKEEPER_PUBLIC_URL", "https://api.example.com:0"),
        ("STOREKEEPER_PUBLIC_URL", "https://api.example.com:65536"),
        ("STOREKEEPER_PUBLIC_URL", "https://api.example.com:"),
        ("STOREKEEPER_PUBLIC_URL", "https://"),
        ("STOREKEEPER_PUBLIC_URL", "https://exa mple.com"),
        ("STOREKEEPER_PUBLIC_URL", "https://-api.example.com"),
        ("STOREKEEPER_PUBLIC_URL", "https://api..example.com"),
        ("STOREKEEPER_PUBLIC_URL", "https://999.0.0.1"),
        ("STOREKEEPER_PUBLIC_URL", "https://[::1"),
        ("STOREKEEPER_PUBLIC_URL", "https://[1.2.3.4]"),
        ("STOREKEEPER_PUBLIC_URL", "https://\u0430pi.example.com"),
    ],
)
def test_bad_settings_name_the_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(SettingsError, match=name):
        load_settings({"STOREKEEPER_INSTANCE_PATH": str(tmp_path), name: value})


def test_production_needs_a_real_secret(tmp_path: Path) -> None:
    base = {"STOREKEEPER_INSTANCE_PATH": str(tmp_path), "STOREKEEPER_ENV": "production"}
    with pytest.raises(SettingsError, match="STOREKEEPER_SECRET_KEY"):
        load_settings(base)
    assert not (tmp_path / "secret_key").exists()
    settings = load_settings({**base, "STOREKEEPER_SECRET_KEY": "k" * 32})
    assert settings.env == "production"


def test_postgres_urls_use_psycopg_and_rate_limits_parse(tmp_path: Path) -> None:
    env = {
        "STOREKEEPER_INSTANCE_PATH": str(tmp_path),
        "STOREKEEPER_DATABASE_URL": "postgres://u@h/db",
    }
    assert load_settings(env).database_url == "postgresql+psycopg://u@h/db"
    assert parse_rate_limit("5/second") == RateLimit(5, 1)
    assert parse_rate_limit(" 100 / hour ") == RateLimit(100, 3600)


def test_registrations_default_to_10_an_hour_in_production_1000_in_development(
    tmp_path: Path,
) -> None:
    base = {"STOREKEEPER_INSTANCE_PATH": str(tmp_path), "STOREKEEPER_SECRET_KEY": "k" * 32}
    assert load_settings(base).register_rate_limit == RateLimit(1000, 3600)
    production = {**base, "STOREKEEPER_ENV": "production"}
    assert load_settings(production).register_rate_limit == RateLimit(10, 3600)
    chosen = {**production, "STOREKEEPER_REGISTER_RATE_LIMIT": "3/minute"}
    assert load_settings(chosen).register_rate_limit == RateLimit(3, 60)
    with pytest.raises(SettingsError, match="STOREKEEPER_REGISTER_RATE_LIMIT"):
        load_settings({**base, "STOREKEEPER_REGISTER_RATE_LIMIT": "often"})


@pytest.mark.parametrize(
    ("raw", "origin"),
    [
        ("https://api.example.com", "https://api.example.com"),
        ("HTTPS://API.Example.com/", "https://api.example.com"),
        (" http://127.0.0.1:8000 ", "http://127.0.0.1:8000"),
        ("http://localhost:08080", "http://localhost:8080"),
        ("http://[::1]:8000", "http://[::1]:8000"),
        ("http://[FE80::1]", "http://[fe80::1]"),
    ],
)
def test_public_url_is_an_origin_kept_canonical(tmp_path: Path, raw: str, origin: str) -> None:
    env = {"STOREKEEPER_INSTANCE_PATH": str(tmp_path), "STOREKEEPER_PUBLIC_URL": raw}
    settings = load_settings(env)
    assert settings.public_url == origin
    assert settings.public_origin == origin


def test_public_url_unset_falls_back_to_the_default_bind_address(tmp_path: Path) -> None:
    for env in ({}, {"STOREKEEPER_PUBLIC_URL": ""}, {"STOREKEEPER_PUBLIC_URL": "  "}):
        settings = load_settings({"STOREKEEPER_INSTANCE_PATH": str(tmp_path), **env})
        assert settings.public_url is None  # so `storekeeper serve` can tell it was not set
        assert settings.public_origin == DEFAULT_PUBLIC_URL == "http://127.0.0.1:8000"


def test_public_url_for_a_bind_address() -> None:
    assert public_url_for("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert public_url_for("localhost", 9000) == "http://localhost:9000"
    assert public_url_for("::1", 8000) == "http://[::1]:8000"
    assert public_url_for("[::1]", 8000) == "http://[::1]:8000"
    assert public_url_for("0.0.0.0", 80) == "http://0.0.0.0:80"  # noqa: S104 - a value, not a bind
    assert public_url_for("api.example.com", 443, "https") == "https://api.example.com:443"
    with pytest.raises(SettingsError, match="STOREKEEPER_PUBLIC_URL"):
        public_url_for("bad host", 8000)


# Security


def test_tokens_round_trip_and_are_typed() -> None:
    tokens = Tokens(SECRET, 60, 3600)
    pair = tokens.issue_pair(7, "stamp-1")
    access = tokens.verify(pair.access, "access")
    refresh = tokens.verify(pair.refresh, "refresh")
    assert (access.user_id, access.session_id, access.stamp) == (7, pair.session_id, "stamp-1")
    assert refresh.stamp == "stamp-1"
    assert refresh.session_id == pair.session_id
    with pytest.raises(TokenError):
        tokens.verify(pair.access, "refresh")
    with pytest.raises(TokenError):
        tokens.verify(pair.refresh, "access")
    assert (
        tokens.verify(tokens.issue_access(7, pair.session_id, "stamp-1"), "access").session_id
        == pair.session_id
    )


def test_tokens_refuse_expired_unsigned_and_foreign() -> None:
    tokens = Tokens(SECRET, 60, 3600)
    now = int(time.time())
    base = {
        "sub": "7",
        "type": "access",
        "sid": "s",
        "stm": "t",
        "jti": "j",
        "iat": now,
        "exp": now + 60,
    }
    assert tokens.verify(jwt.encode(base, SECRET, algorithm="HS256"), "access").user_id == 7
    for bad in (
        jwt.encode({**base, "exp": now - 1}, SECRET, algorithm="HS256"),
        jwt.encode(base, None, algorithm="none"),
        jwt.encode(base, "t" * 40, algorithm="HS256"),
        jwt.encode({k: v for k, v in base.items() if k != "sid"}, SECRET, algorithm="HS256"),
        jwt.encode({k: v for k, v in base.items() if k != "stm"}, SECRET, algorithm="HS256"),
        jwt.encode({**base, "sub": "x"}, SECRET, algorithm="HS256"),
        # Digits to str.isdigit() that int() refuses: once a 500 (issue 18).
        jwt.encode({**base, "sub": "²"}, SECRET, algorithm="HS256"),
        jwt.encode({**base, "sub": "٣"}, SECRET, algorithm="HS256"),
        jwt.encode({**base, "sub": "07"}, SECRET, algorithm="HS256"),
        jwt.encode({**base, "sub": 7}, SECRET, algorithm="HS256"),
        jwt.encode({**base, "stm": ["t"]}, SECRET, algorithm="HS256"),
        jwt.encode({**base, "stm": "x" * 65}, SECRET, algorithm="HS256"),
        jwt.encode({**base, "sid": "é"}, SECRET, algorithm="HS256"),
    ):
        with pytest.raises(TokenError):
            tokens.verify(bad, "access")


def test_a_verified_token_is_kept_but_still_expires_and_keeps_its_kind(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tokens = Tokens(SECRET, 60, 3600)
    pair = tokens.issue_pair(7, "stamp")
    decoded: list[str] = []
    real = jwt.decode

    def counting(token: str, *args: object, **kwargs: object) -> object:
        decoded.append(token)
        return real(token, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(jwt, "decode", counting)
    for _ in range(3):
        assert tokens.verify(pair.access, "access").user_id == 7
    assert decoded == [pair.access]  # the signature was checked once
    with pytest.raises(TokenError):
        tokens.verify(pair.access, "refresh")  # a kept token is still of its own kind only
    assert Tokens("o" * 40, 60, 3600)._verified.cache_info().currsize == 0  # per secret
    later = time.time() + 61
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(TokenError):
        tokens.verify(pair.access, "access")  # kept, yet refused once expired
    forged = pair.access[:-2] + ("AA" if not pair.access.endswith("AA") else "BB")
    for _ in range(2):
        with pytest.raises(TokenError):
            tokens.verify(forged, "access")
    assert tokens._verified.cache_info().currsize == 1  # a refused token is never kept


def test_password_hashing_meets_owasp_and_rehashes() -> None:
    assert PASSWORD_HASHER.memory_cost >= 19 * 1024
    assert PASSWORD_HASHER.time_cost >= 2
    assert PASSWORD_HASHER.parallelism >= 1
    passwords = Passwords()
    stored = passwords.hash("correct horse")
    assert stored.startswith("$argon2id$")
    assert passwords.verify(stored, "correct horse")
    assert not passwords.verify(stored, "wrong horse")
    assert not passwords.verify(None, "correct horse")
    assert not passwords.verify("not a hash", "x")
    assert not passwords.needs_rehash(stored)
    weaker = PasswordHasher(time_cost=1, memory_cost=8 * 1024, parallelism=1).hash("x")
    assert passwords.needs_rehash(weaker)


@pytest.mark.parametrize(
    ("literal", "value"),
    [
        ("0", 0),
        ("-0", 0),
        ("9223372036854775807", 2**63 - 1),
        ("9" * 64, int("9" * 64)),
        ("9.990", Decimal("9.99")),
        ("1e999", Decimal("1e999")),
        ("-1E-999", Decimal("-1e-999")),
        ("1e0000000000005", Decimal("1e5")),
        ("0." + "0" * 61 + "1", Decimal("1e-62")),
    ],
)
def test_number_literals_of_bounded_size_are_read_exactly(literal: str, value: object) -> None:
    read = read_number(literal)
    assert read == value
    assert type(read) is type(value)


@pytest.mark.parametrize(
    "literal", ["9" * 65, "1e1000", "1E+1000000", "1e-1000", "0e01000", "1." + "0" * 63]
)
def test_larger_number_literals_stay_text(literal: str) -> None:
    assert read_number(literal) == OversizedNumber(len(literal))
    with pytest.raises(ValueError, match="at most 64 characters"):
        refuse_oversized(read_number(literal))


@pytest.mark.parametrize(
    ("username", "reason"),
    [
        ("ab", "must be 3 to 40 characters long"),
        ("x" * 41, "must be 3 to 40 characters long"),
        ("bad name!", "may hold only the letters A-Z and a-z, digits, '_', '.' and '-'"),
        ("émile", "may hold only the letters A-Z and a-z, digits, '_', '.' and '-'"),
    ],
)
def test_usernames_keep_one_rule_wherever_they_are_made(username: str, reason: str) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        check_username(username)
    # The domain holds it too, so `storekeeper create-admin` cannot make what /register refuses.
    with pytest.raises(Invalid) as refused:
        accounts.register(None, None, username, "correct horse", None)  # type: ignore[arg-type]
    assert refused.value.errors == {"username": [reason]}
    assert check_username("ada_lovelace-1.0") == "ada_lovelace-1.0"
