"""Command line: storekeeper serve | worker | jobs | db upgrade | check | backup | restore |
create-admin."""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from storekeeper.db import backup, migrate
from storekeeper.db.accounts import end_every_session
from storekeeper.db.repositories import REPOSITORIES
from storekeeper.db.session import Database, DatabaseUnavailable, connection_problem
from storekeeper.db.unit_of_work import SqlUnitsOfWork
from storekeeper.domain import accounts
from storekeeper.domain.accounts import ACCOUNTS
from storekeeper.domain.errors import Conflict, DomainError
from storekeeper.domain.jobs import JOBS
from storekeeper.security import Passwords
from storekeeper.serving.handoff import hand_over
from storekeeper.settings import (
    PREFIX,
    Command,
    Settings,
    SettingsError,
    admin_password,
    load_settings,
    public_url_for,
    variables_help,
)

DEFAULT_WORKERS = 2
# What each worker of `storekeeper serve` calls with the settings: create_app(settings).
APP_FACTORY = "storekeeper.app:create_app"
PUBLIC_URL_ENV = PREFIX + "PUBLIC_URL"
WILDCARDS = ("0.0.0.0", "::", "[::]")  # noqa: S104 (recognised, not bound)


class Refusal(Exception):
    """A reason to stop with one line on stderr and exit code 2, without a traceback."""


def _fail(message: str) -> int:
    print(f"storekeeper: {message}", file=sys.stderr)
    return 2


@contextmanager
def _database(settings: Settings) -> Iterator[Database]:
    """The database, checked to answer first: a connection problem is a Refusal naming it."""
    try:
        db = Database(settings.database_url)
    except OSError as exc:  # the SQLite file's folder cannot be made
        raise Refusal(connection_problem(settings.database_url, exc)) from None
    try:
        try:
            db.ping()
        except DatabaseUnavailable as exc:
            raise Refusal(connection_problem(settings.database_url, exc)) from None
        yield db
    finally:
        db.dispose()


def _schema_current(settings: Settings) -> bool:
    with _database(settings) as db:
        return not migrate.pending(db.engine)


def serve(settings: Settings, host: str, port: int, workers: int) -> int:  # noqa: RET503
    """Run the production server (storekeeper.serving: gunicorn with gevent workers).

    This process becomes the server's arbiter (exec), so that each worker it forks imports
    the application only after gevent has patched that worker; the settings parsed here
    go with it (serving.handoff), and each worker builds the app from them. On SIGTERM it
    stops accepting connections, lets requests in flight finish (at most 20 s) and exits
    0; on Ctrl-C (SIGINT) the same within 5 s; a worker that dies is replaced at once.
    """
    if not _schema_current(settings):
        return _fail("the database schema is not up to date; run: storekeeper db upgrade")
    if settings.public_url is None:
        # Links to further pages name the address served here, never the client's Host.
        settings = settings.with_overrides(public_url=public_url_for(host, port))
        if host in WILDCARDS:
            print(
                f"storekeeper: links will name {host}; set {PUBLIC_URL_ENV} to the address "
                "clients use",
                file=sys.stderr,
            )
    print(f"storekeeper: serving on http://{host}:{port} with {workers} workers", file=sys.stderr)
    sys.stderr.flush()
    command = server_command(host, port, workers, APP_FACTORY, settings_fd=hand_over(settings))
    # Never returns (RET503 above): this process becomes the server.
    os.execv(sys.executable, [sys.executable, *command])  # noqa: S606


def server_command(
    host: str,
    port: int,
    workers: int,
    target: str = "storekeeper.wsgi:make_app",
    factory: bool = True,
    settings_fd: int | None = None,
) -> list[str]:
    """The interpreter arguments that serve a WSGI app as Storekeeper is served (benchmarks too).

    With `settings_fd` the target is called with the Settings handed over through that pipe.
    """
    handed = ["--settings-fd", str(settings_fd)] if settings_fd is not None else []
    return [
        "-m",
        "storekeeper.serving",
        target,
        *(["--factory"] if factory and settings_fd is None else []),
        *handed,
        *("--host", host, "--port", str(port), "--workers", str(workers)),
    ]


def worker_command(settings: Settings) -> int:
    """Run the background worker once the schema is up to date."""
    if not _schema_current(settings):
        return _fail("the database schema is not up to date; run: storekeeper db upgrade")
    if settings.public_url is None and settings.env == "production":
        # Every emailed link starts with it; a guess (the default bind address) would send
        # users links that lead nowhere.
        return _fail(f"{PUBLIC_URL_ENV} is required in production: emailed links start with it")
    from storekeeper.background.worker import run_worker  # the worker's imports only here

    print(f"storekeeper: worker running {settings.worker_threads} threads", file=sys.stderr)
    return run_worker(settings)


def jobs_command(settings: Settings, action: str, ids: Sequence[int], limit: int) -> int:
    """List the failed jobs, or queue failed jobs again (by id)."""
    if action == "retry" and not ids:
        return _fail("jobs retry needs the ids of the jobs to retry")
    with _database(settings) as db:
        units = SqlUnitsOfWork(db, REPOSITORIES)
        if action == "list":
            with units() as work:
                failed = work[JOBS].failed(limit)
            for job in failed:
                finished = job.finished_at.isoformat() if job.finished_at else "-"
                print(
                    f"{job.id}\t{job.kind}\tattempts={job.attempts}\t{finished}\t"
                    f"{job.last_error or ''}"
                )
            print(f"storekeeper: {len(failed)} failed jobs shown", file=sys.stderr)
            return 0
        missing = []
        with units(write=True) as work:
            for job_id in ids:
                if not work[JOBS].retry(job_id, datetime.now(UTC)):
                    missing.append(job_id)
        print(f"storekeeper: {len(ids) - len(missing)} jobs queued again", file=sys.stderr)
        if missing:
            return _fail(f"not failed jobs (or no such job): {', '.join(map(str, missing))}")
        return 0


def backup_command(settings: Settings, path: Path, force: bool) -> int:
    """Copy the SQLite database, online, to PATH."""
    try:
        database = backup.sqlite_file(settings.database_url, "backup")
        copy = backup.backup(database, path, force)
    except backup.BackupRefused as exc:
        return _fail(str(exc))
    print(
        f"storekeeper: backed up {database} to {copy.path} ({copy.size} bytes, migration "
        f"revision {copy.revision}, integrity_check ok)",
        file=sys.stderr,
    )
    return 0


def restore_command(settings: Settings, path: Path, force: bool) -> int:
    """Replace the SQLite database with the backup at PATH."""
    try:
        database = backup.sqlite_file(settings.database_url, "restore")
        copy, kept = backup.restore(path, database, force)
    except backup.BackupRefused as exc:
        return _fail(str(exc))
    print(
        f"storekeeper: restored {database} from {path} (migration revision {copy.revision})",
        file=sys.stderr,
    )
    if kept is not None:
        print(f"storekeeper: the database it replaced is kept as {kept}", file=sys.stderr)
    if copy.revision not in migrate.head_revisions():
        # An older backup is a schema this release's server refuses to serve until migrated.
        print(
            "storekeeper: the backup's schema is older; run: storekeeper db upgrade",
            file=sys.stderr,
        )
    return 0


def db_command(settings: Settings, action: str) -> int:
    """Apply or check migrations."""
    with _database(settings) as db:
        if action == "upgrade":
            applied = migrate.upgrade(db.engine)
            for revision in applied:
                print(f"storekeeper: applied {revision.id} ({revision.message})", file=sys.stderr)
            state = "now up to date" if applied else "already up to date"
            print(f"storekeeper: database schema is {state}", file=sys.stderr)
        elif action == "end-sessions":
            if migrate.pending(db.engine):
                return _fail("the database schema is not up to date; run: storekeeper db upgrade")
            with db.engine.begin() as conn:
                users = end_every_session(conn)
            print(
                f"storekeeper: ended every session of {users} users; each signs in again",
                file=sys.stderr,
            )
        else:
            try:
                migrate.check(db.engine)
            except migrate.Disagreement as exc:
                return _fail(str(exc))
            print("storekeeper: models and migrations agree", file=sys.stderr)
    return 0


def revision_command(message: str | None) -> int:
    """Write the next migration from the models (a contributor's command)."""
    if not message or not message.strip():
        return _fail("db revision needs -m MESSAGE, what the migration does (e.g. 'add orders')")
    try:
        path = migrate.revision(message.strip())
    except migrate.NothingToWrite as exc:
        return _fail(f"{exc}; nothing was written")
    print(f"storekeeper: wrote {path}; review it, then run make test", file=sys.stderr)
    return 0


def _admin_password() -> str:
    """STOREKEEPER_ADMIN_PASSWORD, else asked twice on the terminal; never echoed."""
    password = admin_password()
    if password is not None:
        return password
    if not sys.stdin.isatty():
        raise Refusal(f"no terminal to ask for the password on; set {PREFIX}ADMIN_PASSWORD instead")
    try:
        first = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != first:
            raise Refusal("the two passwords differ; nothing was changed")
    except (EOFError, KeyboardInterrupt):
        print(file=sys.stderr)
        raise Refusal("no password given; nothing was changed") from None
    return first


def create_admin(settings: Settings, username: str, reset_password: bool) -> int:
    """Create an admin, or with --reset-password reset an existing user's password."""
    password = _admin_password()
    if not 8 <= len(password) <= 128:
        return _fail("the password must be 8 to 128 characters long")
    with _database(settings) as db:
        try:
            with SqlUnitsOfWork(db, REPOSITORIES)(write=True) as work:
                outcome = accounts.ensure_admin(
                    work[ACCOUNTS], Passwords(), username, password, reset_password
                )
        except Conflict:
            return _fail(
                f"a user named {username!r} exists already; nothing was changed. To give them "
                "this password, make them an admin and end their sessions, pass --reset-password"
            )
        except DomainError as exc:
            return _fail(exc.detail)
    user = outcome.user
    if outcome.created:
        print(f"storekeeper: created admin {user.username!r} (id {user.id})")
        return 0
    print(
        f"storekeeper: reset the password of {user.username!r} (id {user.id}), made them an "
        "admin and ended their sessions"
    )
    return 0


_ENVIRONMENT = (
    "Every command checks every STOREKEEPER_* setting at start-up and stops with one line "
    "naming a bad one (`storekeeper --help` lists them all). This command reads:"
)
_EXIT = (
    "Exit codes: 0 done; 2 refused (a bad setting or argument, the database unreachable, a "
    "backup or restore refused)."
)


def _epilog(command: Command | None) -> str:
    intro = "Environment variables [default]:" if command is None else _ENVIRONMENT
    return f"{intro}\n{variables_help(command)}\n\n{_EXIT}"


def _parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(
        prog="storekeeper",
        description="Storekeeper: serve the API, migrate its database, create admins.",
        epilog=_epilog(None),
        formatter_class=raw,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = sub.add_parser(
        "serve",
        help="serve the API with the production server (gunicorn, gevent workers)",
        description="Serve the API once the schema is up to date (else refuse: run `storekeeper "
        "db upgrade`). SIGTERM stops gracefully: requests in flight get 20 s. Ctrl-C (SIGINT) "
        "gives them 2.5 s and returns within 5 s; a second Ctrl-C stops at once.",
        epilog=_epilog("serve"),
        formatter_class=raw,
    )
    run.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    run.add_argument("--port", type=int, default=8000, help="port to bind (default: %(default)s)")
    run.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help="worker processes, 1 to 64 (default: %(default)s)",
    )
    sub.add_parser(
        "worker",
        help="run the background work: emails and every other job (make run starts it)",
        description="Run the background worker: a relay hands the jobs requests recorded to the "
        "queue, and worker threads run them, retrying failures with back-off. `storekeeper "
        "serve` does none of this work. SIGTERM stops it once the jobs being run finish; "
        "Ctrl-C (SIGINT) at once, and a job it cut short runs again once its lease ends.",
        epilog=_epilog("worker"),
        formatter_class=raw,
    )
    jobs = sub.add_parser(
        "jobs",
        help="list the failed jobs, or queue them again",
        description="list: the jobs that failed for good (every retry spent), newest first, "
        "with their last error. retry ID...: queue those failed jobs again, their attempts "
        "counted afresh.",
        epilog=_epilog("jobs"),
        formatter_class=raw,
    )
    jobs.add_argument("action", choices=["list", "retry"], help="what to do")
    jobs.add_argument("ids", nargs="*", type=int, help="retry: the ids of the jobs")
    jobs.add_argument(
        "--limit", type=int, default=100, help="list: at most this many (default: %(default)s)"
    )
    db = sub.add_parser(
        "db",
        help="apply migrations (upgrade), check them (check), back up or restore SQLite, end "
        "every session (end-sessions)",
        description="upgrade: apply every migration not yet applied, naming each one (the only "
        "way a schema changes). check: fail when the schema is behind or the models and the "
        "migrations disagree. "
        "backup PATH: copy the SQLite database to PATH while the server runs (sqlite3's backup "
        "API, checked with integrity_check, written atomically, mode 0600); PostgreSQL: use "
        "pg_dump -Fc. restore PATH: stop the server first; replace the SQLite database with "
        "the backup at PATH once it is checked (a Storekeeper database at a known migration "
        "revision), keeping the old one as <name>.before-restore; then run `storekeeper db "
        "upgrade` if the backup is older. A database still open elsewhere is refused. Every "
        "token issued before a restore is refused after it. end-sessions: refuse every token "
        "issued so far (run it after restoring a PostgreSQL database with pg_restore). "
        "revision -m MESSAGE (for contributors): write the next migration, from the "
        "migrations so far to the models, into the package's migrations folder.",
        epilog=_epilog("db"),
        formatter_class=raw,
    )
    db.add_argument(
        "action",
        choices=["upgrade", "check", "backup", "restore", "end-sessions", "revision"],
        help="what to do",
    )
    db.add_argument("path", nargs="?", type=Path, help="backup and restore: the backup file")
    db.add_argument("-m", "--message", help="revision: what the migration does, e.g. 'add orders'")
    db.add_argument(
        "--force",
        action="store_true",
        help="backup: replace an existing file at PATH; restore: replace an existing "
        "<name>.before-restore",
    )
    admin = sub.add_parser(
        "create-admin",
        help="create an admin user (admins only come from here)",
        description="Create an admin. The password comes from STOREKEEPER_ADMIN_PASSWORD, or "
        "is asked twice on the terminal. An existing username is refused unless "
        "--reset-password is given.",
        epilog=_epilog("create-admin"),
        formatter_class=raw,
    )
    admin.add_argument("username", help="the new admin's username")
    admin.add_argument(
        "--reset-password",
        action="store_true",
        help="the user exists: give them this password, make them an admin and end every "
        "session they have (their tokens are refused from now on)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `storekeeper` command."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        if args.command == "serve":
            if not 1 <= args.workers <= 64:
                return _fail("--workers must be between 1 and 64")
            return serve(settings, args.host, args.port, args.workers)
        if args.command == "worker":
            return worker_command(settings)
        if args.command == "jobs":
            return jobs_command(settings, args.action, args.ids, args.limit)
        if args.command == "db":
            if args.action in ("backup", "restore"):
                if args.path is None:
                    return _fail(f"db {args.action} needs the PATH of the backup file")
                run = backup_command if args.action == "backup" else restore_command
                return run(settings, args.path.resolve(), args.force)
            if args.action == "revision":
                return revision_command(args.message)
            if args.path is not None or args.force or args.message:
                return _fail(f"db {args.action} takes no PATH, --force or --message")
            return db_command(settings, args.action)
        return create_admin(settings, args.username, args.reset_password)
    except (SettingsError, Refusal) as exc:
        return _fail(str(exc))


if __name__ == "__main__":
    sys.exit(main())
