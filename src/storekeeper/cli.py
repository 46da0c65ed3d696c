"""Command line: storekeeper serve | db upgrade | db check | create-admin."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
import tempfile
from collections.abc import Sequence

from sqlalchemy import inspect

from storekeeper.db import migrate
from storekeeper.db.accounts import AccountRepository
from storekeeper.db.session import Database
from storekeeper.domain import accounts
from storekeeper.domain.errors import DomainError
from storekeeper.security import Passwords
from storekeeper.settings import PREFIX, Settings, SettingsError, load_settings, public_url_for

DEFAULT_WORKERS = 2
PUBLIC_URL_ENV = PREFIX + "PUBLIC_URL"
WILDCARDS = ("0.0.0.0", "::", "[::]")  # noqa: S104 (recognised, not bound)
# Not imported from storekeeper.metrics: importing prometheus_client before this variable is
# set would fix this process (and forked workers) in single-process mode.
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def _fail(message: str) -> int:
    print(f"storekeeper: {message}", file=sys.stderr)
    return 2


def _schema_current(settings: Settings) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    db = Database(settings.database_url)
    try:
        with db.engine.connect() as conn:
            if not inspect(conn).has_table("alembic_version"):
                return False
            current = set(MigrationContext.configure(conn).get_current_heads())
        heads = set(ScriptDirectory.from_config(migrate.alembic_config(db.engine)).get_heads())
        return current == heads
    finally:
        db.dispose()


def serve(settings: Settings, host: str, port: int, workers: int) -> int:
    """Run the production server (storekeeper.serving: gunicorn with gevent workers).

    This process becomes the server's arbiter (exec), so that each worker it forks imports
    the application only after gevent has patched that worker. On SIGTERM it stops
    accepting connections, lets requests in flight finish (at most the graceful timeout)
    and exits 0; a worker that dies is replaced at once.
    """
    if not _schema_current(settings):
        return _fail("the database schema is not up to date; run: storekeeper db upgrade")
    # Every worker writes its metric samples here and /metrics adds up all of them; the
    # server removes the folder when it exits. Set before any worker imports
    # prometheus_client.
    os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="storekeeper-metrics-")
    if settings.public_url is None:
        # Links to further pages name the address served here, never the client's Host.
        os.environ[PUBLIC_URL_ENV] = public_url_for(host, port)
        if host in WILDCARDS:
            print(
                f"storekeeper: links will name {host}; set {PUBLIC_URL_ENV} to the address "
                "clients use",
                file=sys.stderr,
            )
    print(f"storekeeper: serving on http://{host}:{port} with {workers} workers", file=sys.stderr)
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, *server_command(host, port, workers)])  # noqa: S606
    return None


def server_command(
    host: str,
    port: int,
    workers: int,
    target: str = "storekeeper.wsgi:make_app",
    factory: bool = True,
) -> list[str]:
    """The interpreter arguments that serve a WSGI app as Storekeeper is served (benchmarks too)."""
    return [
        "-m",
        "storekeeper.serving",
        target,
        *(["--factory"] if factory else []),
        *("--host", host, "--port", str(port), "--workers", str(workers)),
    ]


def db_command(settings: Settings, action: str) -> int:
    """Apply or check migrations."""
    db = Database(settings.database_url)
    try:
        if action == "upgrade":
            migrate.upgrade(db.engine)
            print("storekeeper: database schema is up to date", file=sys.stderr)
        else:
            migrate.check(db.engine)
            print("storekeeper: models and migrations agree", file=sys.stderr)
    finally:
        db.dispose()
    return 0


def create_admin(settings: Settings, username: str) -> int:
    """Create or promote an admin; the password comes from the environment or a prompt."""
    password = os.environ.get("STOREKEEPER_ADMIN_PASSWORD") or getpass.getpass("Password: ")
    if not 8 <= len(password) <= 128:
        return _fail("the password must be 8 to 128 characters long")
    db = Database(settings.database_url)
    try:
        with db.unit_of_work(write=True) as conn:
            outcome = accounts.ensure_admin(
                AccountRepository(conn), Passwords(), username, password
            )
    except DomainError as exc:
        return _fail(exc.detail)
    finally:
        db.dispose()
    print(f"storekeeper: created admin {outcome.user.username!r} (id {outcome.user.id})")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="storekeeper", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("serve", help="serve the API with a production server")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--workers", type=int, default=DEFAULT_WORKERS)
    db = sub.add_parser("db", help="database schema")
    db.add_argument("action", choices=["upgrade", "check"])
    admin = sub.add_parser("create-admin", help="create an admin user")
    admin.add_argument("username")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `storekeeper` command."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        return _fail(str(exc))
    if args.command == "serve":
        if not 1 <= args.workers <= 64:
            return _fail("--workers must be between 1 and 64")
        return serve(settings, args.host, args.port, args.workers)
    if args.command == "db":
        return db_command(settings, args.action)
    return create_admin(settings, args.username)


if __name__ == "__main__":
    sys.exit(main())
