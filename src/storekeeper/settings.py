"""Typed settings from STOREKEEPER_* variables; the only module that reads the environment."""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from storekeeper.domain.values import RateLimit
from storekeeper.mail.settings import parse_smtp_url

PREFIX = "STOREKEEPER_"
MIN_SECRET_BYTES = 32
_RATE = re.compile(r"^\s*(\d+)\s*/\s*(second|minute|hour)\s*$")
_PERIODS = {"second": 1, "minute": 60, "hour": 3600}
_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
# Where absolute links (Link: rel="next") point when STOREKEEPER_PUBLIC_URL is unset: the
# default bind address of `storekeeper serve`. Never the request's Host header, which any
# client (or a cache in front of us) can set to anything.
DEFAULT_PUBLIC_URL = "http://127.0.0.1:8000"
# prometheus_client's own variable, not a setting: the folder where every worker of
# `storekeeper serve` writes its metric samples. The server hands it to its workers
# (storekeeper.serving.application); metrics reads it to add up all of them.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

Environment = Literal["development", "production"]
Command = Literal["serve", "worker", "jobs", "db", "create-admin"]
_ALL: frozenset[Command] = frozenset(("serve", "worker", "jobs", "db", "create-admin"))
_SERVE: frozenset[Command] = frozenset(("serve",))
_WORKER: frozenset[Command] = frozenset(("worker",))
_BOTH: frozenset[Command] = frozenset(("serve", "worker"))
DEFAULT_MAIL_FROM = "Storekeeper <storekeeper@localhost>"


@dataclass(frozen=True)
class Variable:
    """One environment variable the program reads: the table behind `--help` and the README."""

    name: str
    default: str
    meaning: str
    # The commands whose behaviour it changes (every command checks every setting).
    used_by: frozenset[Command] = _SERVE


# Every variable read anywhere (a test holds load_settings to this list).
VARIABLES: tuple[Variable, ...] = (
    Variable(
        "DATABASE_URL",
        "sqlite:///<instance>/storekeeper.db",
        "sqlite:///path or postgresql://user@host/db",
        _ALL,
    ),
    Variable(
        "INSTANCE_PATH",
        "./instance",
        "where the SQLite file and the generated secret live",
        _ALL,
    ),
    Variable("ENV", "development", "production refuses to start without a secret", _ALL),
    Variable(
        "SECRET_KEY",
        "generated into <instance>/secret_key",
        "token and cursor signing secret, at least 32 bytes",
        _ALL,
    ),
    Variable("LOG_LEVEL", "INFO", "JSON log lines on stderr, one per request"),
    Variable("ACCESS_TOKEN_TTL", "900", "access token lifetime in seconds"),
    Variable("REFRESH_TOKEN_TTL", "2592000", "refresh token lifetime in seconds"),
    Variable(
        "LOGIN_RATE_LIMIT",
        "10/minute",
        "login attempts per client address; a username's failures from every address may "
        "reach 5 times as many",
    ),
    Variable(
        "REGISTER_RATE_LIMIT",
        "10/hour in production, 1000/hour in development",
        "registrations per client address",
    ),
    Variable(
        "RATE_LIMIT",
        "600/minute",
        "requests per client (its user when signed in, else its address), shared by every "
        "worker and instance; 0 or off: no budget",
    ),
    Variable(
        "WRITE_RATE_LIMIT",
        "120/minute",
        "writes (POST, PUT, PATCH, DELETE) per client, counted in RATE_LIMIT too; 0 or off: none",
    ),
    Variable(
        "REDIS_URL",
        "unset",
        "share the login limiter, the request budgets and the job queue between instances "
        "through Redis",
        _BOTH,
    ),
    Variable("TRUSTED_PROXIES", "unset", "proxies allowed to set X-Forwarded-For"),
    Variable(
        "DB_POOL_SIZE", "8", "PostgreSQL connections per worker process, twice this under load"
    ),
    Variable(
        "DB_PREPARED_STATEMENTS",
        "true",
        "false when the database URL goes through PgBouncer in transaction mode",
    ),
    Variable("CORS_ORIGINS", "unset (CORS off)", "origins allowed to call from a browser, or *"),
    Variable(
        "PUBLIC_URL",
        "the address serve binds",
        "the origin clients reach the API at (absolute links and emailed links start with it)",
        _BOTH,
    ),
    Variable(
        "SMTP_URL",
        "unset (mail is written to <instance>/mail/*.eml)",
        "smtp://[user:password@]host[:port] (STARTTLS when offered) or smtps://...",
        _WORKER,
    ),
    Variable("MAIL_FROM", DEFAULT_MAIL_FROM, "the sender of every email", _WORKER),
    Variable("WORKER_THREADS", "2", "jobs a worker process runs at once", _WORKER),
    Variable(
        "JOB_LEASE",
        "120",
        "seconds a worker holds a job; a job whose worker died runs again after it",
        _WORKER,
    ),
    Variable(
        "JOB_RETRY_DELAY",
        "10",
        "seconds before a failed job's first retry; doubled for each retry after, up to an hour",
        _WORKER,
    ),
    Variable("JOB_MAX_ATTEMPTS", "10", "tries before a job is failed for good", _WORKER),
    Variable(
        "WEBHOOK_ALLOW_PRIVATE",
        "false",
        "true lets webhooks reach loopback and private addresses (tests, a private network)",
        _BOTH,
    ),
    Variable(
        "WEBHOOK_RETRY_SCALE",
        "1",
        "multiplies webhook retry delays and the 3 days before a failing webhook is disabled"
        " (tests: 0.001)",
        _WORKER,
    ),
    Variable(
        "ADMIN_PASSWORD",
        "unset (asked on the terminal)",
        "the password create-admin sets",
        frozenset(("create-admin",)),
    ),
)


def variables_help(command: Command | None = None) -> str:
    """The variables a command reads (all of them for None), one per line, for `--help`."""
    chosen = [v for v in VARIABLES if command is None or command in v.used_by]
    width = max(len(PREFIX + v.name) for v in chosen)
    lines = [f"  {PREFIX + v.name:<{width}}  {v.meaning} [{v.default}]" for v in chosen]
    return "\n".join(lines)


class SettingsError(ValueError):
    """A setting has a value the program cannot run with; the message names it."""


@dataclass(frozen=True)
class Settings:
    """Everything the application needs to know about its environment."""

    database_url: str = field(repr=False)
    secret_key: str = field(repr=False)
    env: Environment = "development"
    log_level: str = "INFO"
    instance_path: Path = Path("instance")
    access_token_ttl: int = 15 * 60
    refresh_token_ttl: int = 30 * 24 * 3600
    login_rate_limit: RateLimit = RateLimit(10, 60)
    register_rate_limit: RateLimit = RateLimit(1000, 3600)
    # Every client's request budgets (http/budgets.py); None: that budget is off.
    rate_limit: RateLimit | None = RateLimit(600, 60)
    write_rate_limit: RateLimit | None = RateLimit(120, 60)
    redis_url: str | None = field(default=None, repr=False)
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    db_pool_size: int = 8
    # False when the database URL goes through a transaction-mode pooler (PgBouncer before
    # 1.21): a statement prepared on one server connection is unknown on the next one.
    db_prepared_statements: bool = True
    cors_origins: tuple[str, ...] = ()
    # None when the operator set none (`storekeeper serve` may then derive it from its bind
    # address); public_origin is what the app uses either way.
    public_url: str | None = None
    smtp_url: str | None = field(default=None, repr=False)
    mail_from: str = DEFAULT_MAIL_FROM
    worker_threads: int = 2
    job_lease_s: int = 120
    job_retry_delay_s: int = 10
    job_max_attempts: int = 10
    # Webhook URLs may name loopback, private and link-local addresses (checked when a webhook
    # is saved and again at each delivery), and plain http.
    webhook_allow_private: bool = False
    # Multiplies the webhook retry schedule and its 3-day disabling window (domain/deliveries.py).
    webhook_retry_scale: float = 1.0

    @property
    def public_origin(self) -> str:
        """The origin clients reach the API at, for absolute links in answers."""
        return self.public_url or DEFAULT_PUBLIC_URL

    def with_overrides(self, **changes: object) -> Settings:
        """A copy with some fields replaced (used by tests and the CLI)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def _int(env: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = env.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    if not re.fullmatch(r"\d+", raw.strip()):
        raise SettingsError(f"{PREFIX}{name}: must be a whole number, got {raw!r}")
    value = int(raw.strip())
    if not low <= value <= high:
        raise SettingsError(f"{PREFIX}{name}: must be between {low} and {high}, got {value}")
    return value


def _scale(env: Mapping[str, str], name: str, default: float) -> float:
    """A positive multiplier (a finite decimal number greater than 0, at most 1000)."""
    raw = env.get(PREFIX + name, "").strip()
    if raw == "":
        return default
    if not re.fullmatch(r"\d+(\.\d+)?|\.\d+", raw) or not 0 < float(raw) <= 1000:
        raise SettingsError(f"{PREFIX}{name}: must be a number above 0, at most 1000, got {raw!r}")
    return float(raw)


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(PREFIX + name, "").strip().lower()
    if raw == "":
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"{PREFIX}{name}: must be true or false, got {raw!r}")


def parse_rate_limit(raw: str, name: str = "LOGIN_RATE_LIMIT") -> RateLimit:
    """Parse '10/minute' style limits (of the variable `name`)."""
    match = _RATE.match(raw)
    if not match or int(match.group(1)) < 1:
        raise SettingsError(
            f"{PREFIX}{name}: must look like '10/minute' (second, minute or hour), got {raw!r}"
        )
    return RateLimit(int(match.group(1)), _PERIODS[match.group(2)])


def _budget(env: Mapping[str, str], name: str, default: RateLimit) -> RateLimit | None:
    """A request budget: '600/minute' style, unset for the default, `0` or `off` for none."""
    raw = env.get(PREFIX + name, "").strip()
    if raw == "":
        return default
    if raw.lower() in ("0", "off"):
        return None
    return parse_rate_limit(raw, name)


def normalise_database_url(url: str) -> str:
    """Accept plain postgres URLs and point them at the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith(("sqlite:///", "postgresql+psycopg://")) or url == "sqlite://":
        return url
    raise SettingsError(
        f"{PREFIX}DATABASE_URL: must be a sqlite:/// or postgresql:// URL, got scheme "
        f"{url.split(':', 1)[0]!r}"
    )


def _secret(env: Mapping[str, str], environment: Environment, instance: Path) -> str:
    raw = env.get(PREFIX + "SECRET_KEY", "")
    if raw:
        if len(raw.encode()) < MIN_SECRET_BYTES:
            raise SettingsError(
                f"{PREFIX}SECRET_KEY: must be at least {MIN_SECRET_BYTES} bytes long"
            )
        return raw
    if environment == "production":
        raise SettingsError(
            f"{PREFIX}SECRET_KEY: required in production (at least {MIN_SECRET_BYTES} bytes; "
            "generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
        )
    return instance_secret(instance)


def instance_secret(instance: Path) -> str:
    """The development secret kept in the instance folder, made on first use (mode 0600)."""
    path = instance / "secret_key"
    try:
        instance.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            value = path.read_text().strip()
            if len(value.encode()) < MIN_SECRET_BYTES:
                raise SettingsError(f"{path}: the stored secret is too short; delete it") from None
            return value
        value = secrets.token_urlsafe(48)
        with os.fdopen(fd, "w") as handle:
            handle.write(value + "\n")
        return value
    except OSError as exc:
        raise SettingsError(
            f"{PREFIX}INSTANCE_PATH: cannot keep a secret in {instance}: {exc.strerror}"
        ) from None


def _proxies(raw: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for part in raw.split(","):
        if part.strip():
            try:
                nets.append(ipaddress.ip_network(part.strip(), strict=False))
            except ValueError:
                raise SettingsError(
                    f"{PREFIX}TRUSTED_PROXIES: {part.strip()!r} is not an IP address or network"
                ) from None
    return tuple(nets)


_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?$")


def _origins(raw: str) -> tuple[str, ...]:
    origins = tuple(part.strip() for part in raw.split(",") if part.strip())
    for origin in origins:
        if origin != "*" and not _ORIGIN.match(origin):
            raise SettingsError(
                f"{PREFIX}CORS_ORIGINS: {origin!r} is not '*' or an origin like https://example.com"
            )
    return origins


_PUBLIC_URL = re.compile(
    r"(?P<scheme>https?)://(?P<host>\[[0-9a-f:.]+\]|[a-z0-9.-]+)(?::(?P<port>[0-9]{1,5}))?/?",
    re.ASCII | re.IGNORECASE,
)
_DNS_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)", re.ASCII)


def _valid_host(host: str) -> bool:
    if host.startswith("["):
        try:
            ipaddress.IPv6Address(host[1:-1])
        except ValueError:
            return False
        return True
    if re.fullmatch(r"[0-9.]+", host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False
        return True
    labels = host.split(".")
    return len(host) <= 253 and all(_DNS_LABEL.fullmatch(label) for label in labels)


def parse_public_url(raw: str) -> str:
    """The canonical form of a STOREKEEPER_PUBLIC_URL value; SettingsError when it is no origin.

    An origin is http or https, a host and an optional port; it is kept in lower case and
    without the root path's "/". A path, query, fragment or user name is refused: links are
    this origin followed by the API's own paths.
    """
    match = _PUBLIC_URL.fullmatch(raw.strip())
    port = match.group("port") if match else None
    if (
        match is None
        or not _valid_host(match.group("host").lower())
        or (port is not None and not 1 <= int(port) <= 65535)
    ):
        raise SettingsError(
            f"{PREFIX}PUBLIC_URL: must be an origin like https://api.example.com (http or "
            f"https, a host, an optional port; no path, query or user), got {raw!r}"
        )
    origin = f"{match.group('scheme').lower()}://{match.group('host').lower()}"
    return origin if port is None else f"{origin}:{int(port)}"


def public_url_for(host: str, port: int, scheme: str = "http") -> str:
    """The origin of a bind address, for a STOREKEEPER_PUBLIC_URL the operator did not set.

    An IPv6 address gets its brackets. A wildcard address (0.0.0.0, ::) is kept: it names no
    host a client can reach, which is the operator's cue to set the variable.
    """
    bare = host.strip("[]")
    shown = f"[{bare}]" if ":" in bare else bare
    return parse_public_url(f"{scheme}://{shown}:{port}")


def _smtp_url(raw: str) -> str | None:
    """The SMTP URL, checked now so that a typo stops the worker at start, not at a send."""
    if not raw.strip():
        return None
    try:
        parse_smtp_url(raw.strip())
    except ValueError as exc:  # its message names the variable, never the password
        raise SettingsError(str(exc)) from None
    return raw.strip()


def admin_password(env: Mapping[str, str] | None = None) -> str | None:
    """STOREKEEPER_ADMIN_PASSWORD, or None when it is unset or empty."""
    env = os.environ if env is None else env
    return env.get(PREFIX + "ADMIN_PASSWORD") or None


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read and validate settings; raise SettingsError naming the first bad variable."""
    env = os.environ if env is None else env
    environment = env.get(PREFIX + "ENV", "development").strip().lower() or "development"
    if environment not in ("development", "production"):
        raise SettingsError(
            f"{PREFIX}ENV: must be 'development' or 'production', got {environment!r}"
        )
    instance = Path(env.get(PREFIX + "INSTANCE_PATH", "") or "instance").resolve()
    default_db = f"sqlite:///{instance / 'storekeeper.db'}"
    database_url = normalise_database_url(env.get(PREFIX + "DATABASE_URL", "") or default_db)
    level = (env.get(PREFIX + "LOG_LEVEL", "") or "INFO").strip().upper()
    if level not in _LEVELS:
        raise SettingsError(
            f"{PREFIX}LOG_LEVEL: must be one of {', '.join(_LEVELS)}, got {level!r}"
        )
    rate = env.get(PREFIX + "LOGIN_RATE_LIMIT", "")
    # Production keeps sign-ups slow for a script; development lets the tutorial, the
    # Postman collection and the tests be rerun from one address.
    registrations = env.get(PREFIX + "REGISTER_RATE_LIMIT", "")
    default_registrations = RateLimit(10 if environment == "production" else 1000, 3600)
    public_url = env.get(PREFIX + "PUBLIC_URL", "")
    return Settings(
        database_url=database_url,
        secret_key=_secret(env, environment, instance),  # type: ignore[arg-type]
        env=environment,  # type: ignore[arg-type]
        log_level=level,
        instance_path=instance,
        access_token_ttl=_int(env, "ACCESS_TOKEN_TTL", 15 * 60, 10, 24 * 3600),
        refresh_token_ttl=_int(env, "REFRESH_TOKEN_TTL", 30 * 24 * 3600, 60, 365 * 24 * 3600),
        login_rate_limit=parse_rate_limit(rate) if rate.strip() else RateLimit(10, 60),
        register_rate_limit=(
            parse_rate_limit(registrations, "REGISTER_RATE_LIMIT")
            if registrations.strip()
            else default_registrations
        ),
        rate_limit=_budget(env, "RATE_LIMIT", RateLimit(600, 60)),
        write_rate_limit=_budget(env, "WRITE_RATE_LIMIT", RateLimit(120, 60)),
        redis_url=(env.get(PREFIX + "REDIS_URL", "") or None),
        trusted_proxies=_proxies(env.get(PREFIX + "TRUSTED_PROXIES", "")),
        db_pool_size=_int(env, "DB_POOL_SIZE", 8, 1, 100),
        db_prepared_statements=_bool(env, "DB_PREPARED_STATEMENTS", True),
        cors_origins=_origins(env.get(PREFIX + "CORS_ORIGINS", "")),
        public_url=parse_public_url(public_url) if public_url.strip() else None,
        smtp_url=_smtp_url(env.get(PREFIX + "SMTP_URL", "")),
        mail_from=(env.get(PREFIX + "MAIL_FROM", "").strip() or DEFAULT_MAIL_FROM),
        worker_threads=_int(env, "WORKER_THREADS", 2, 1, 64),
        job_lease_s=_int(env, "JOB_LEASE", 120, 1, 24 * 3600),
        job_retry_delay_s=_int(env, "JOB_RETRY_DELAY", 10, 1, 3600),
        job_max_attempts=_int(env, "JOB_MAX_ATTEMPTS", 10, 1, 100),
        webhook_allow_private=_bool(env, "WEBHOOK_ALLOW_PRIVATE", False),
        webhook_retry_scale=_scale(env, "WEBHOOK_RETRY_SCALE", 1.0),
    )
