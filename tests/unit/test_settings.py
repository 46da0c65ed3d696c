"""Settings read what an operator sets, and refuse an instance folder they cannot use."""

from __future__ import annotations

from pathlib import Path

import pytest

from storekeeper.domain.values import RateLimit
from storekeeper.settings import PREFIX, SettingsError, load_settings


@pytest.mark.parametrize(
    ("variable", "value", "field", "read"),
    [
        ("ACCESS_TOKEN_TTL", " 60 ", "access_token_ttl", 60),
        ("REFRESH_TOKEN_TTL", "86400", "refresh_token_ttl", 86400),
        ("DB_POOL_SIZE", "100", "db_pool_size", 100),
        ("DB_PREPARED_STATEMENTS", "off", "db_prepared_statements", False),
        ("WEBHOOK_ALLOW_PRIVATE", "true", "webhook_allow_private", True),
        ("WEBHOOK_RETRY_SCALE", " 0.001 ", "webhook_retry_scale", 0.001),
        ("WEBHOOK_RETRY_SCALE", "2", "webhook_retry_scale", 2.0),
        ("REDIS_URL", "redis://cache:6379/2", "redis_url", "redis://cache:6379/2"),
        ("LOG_LEVEL", "debug", "log_level", "DEBUG"),
        ("RATE_LIMIT", "30/second", "rate_limit", RateLimit(30, 1)),
        ("RATE_LIMIT", "off", "rate_limit", None),
        ("WRITE_RATE_LIMIT", " 1000 / hour ", "write_rate_limit", RateLimit(1000, 3600)),
        ("WRITE_RATE_LIMIT", "0", "write_rate_limit", None),
    ],
)
def test_a_variable_set_is_the_setting(
    tmp_path: Path, variable: str, value: str, field: str, read: object
) -> None:
    base = {PREFIX + "INSTANCE_PATH": str(tmp_path)}
    default = getattr(load_settings(base), field)
    assert default != read  # so the value below comes from the variable
    assert getattr(load_settings({**base, PREFIX + variable: value}), field) == read


@pytest.mark.parametrize(
    ("raw", "read"),
    [("1", True), ("true", True), ("Yes", True), (" ON ", True), ("0", False), ("No", False)],
)
def test_yes_and_no_have_their_usual_spellings(tmp_path: Path, raw: str, read: bool) -> None:
    env = {PREFIX + "INSTANCE_PATH": str(tmp_path), PREFIX + "DB_PREPARED_STATEMENTS": raw}
    assert load_settings(env).db_prepared_statements is read


def test_the_request_budgets_default_to_600_and_120_a_minute(tmp_path: Path) -> None:
    settings = load_settings({PREFIX + "INSTANCE_PATH": str(tmp_path)})
    assert settings.rate_limit == RateLimit(600, 60)
    assert settings.write_rate_limit == RateLimit(120, 60)


@pytest.mark.parametrize("raw", ["600", "600/day", "-1/minute", "none"])
def test_a_budget_that_is_no_budget_names_its_variable(tmp_path: Path, raw: str) -> None:
    env = {PREFIX + "INSTANCE_PATH": str(tmp_path), PREFIX + "RATE_LIMIT": raw}
    with pytest.raises(SettingsError, match=f"^{PREFIX}RATE_LIMIT: must look like"):
        load_settings(env)


def test_a_stored_secret_too_short_is_refused_not_used(tmp_path: Path) -> None:
    (tmp_path / "secret_key").write_text("short\n")
    with pytest.raises(SettingsError, match="stored secret is too short; delete it"):
        load_settings({PREFIX + "INSTANCE_PATH": str(tmp_path)})
    assert (tmp_path / "secret_key").read_text() == "short\n"


def test_an_instance_folder_that_cannot_be_made_names_the_variable(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("a file, where the instance folder would go")
    with pytest.raises(SettingsError, match=f"^{PREFIX}INSTANCE_PATH: cannot keep a secret in"):
        load_settings({PREFIX + "INSTANCE_PATH": str(tmp_path / "taken" / "instance")})


@pytest.mark.parametrize("raw", ["0", "0.0", "-1", "1e-3", "abc", "inf", "nan", "1001"])
def test_a_retry_scale_must_be_a_positive_number(tmp_path: Path, raw: str) -> None:
    env = {PREFIX + "INSTANCE_PATH": str(tmp_path), PREFIX + "WEBHOOK_RETRY_SCALE": raw}
    with pytest.raises(SettingsError, match=f"^{PREFIX}WEBHOOK_RETRY_SCALE: must be a number"):
        load_settings(env)
