"""The API through PgBouncer in transaction mode (deploy/pgbouncer/pgbouncer.ini): no
server-side prepared statement or session state may outlive its transaction.

PgBouncer gets fewer server connections than the app holds client connections, so
consecutive transactions of one app connection land on different server connections.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg
import pytest
import requests

from deploy.processes import free_port, spawn, stop, wait_listening
from storekeeper.db.session import STATEMENT_TIMEOUT_MS
from tests.e2e.live import BIN, login_token, server_env, server_process
from tests.helpers import PG_ADMIN_URL, postgres_available, postgres_database, require

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("pgbouncer")]
SHIPPED = Path(__file__).resolve().parents[2] / "deploy" / "pgbouncer" / "pgbouncer.ini"
SERVER_CONNECTIONS = 2


def pgbouncer_ini(shipped: str, database: str, port: int, folder: Path) -> str:
    """The shipped file with this test's database, port, trust authentication and paths."""
    pg = psycopg.conninfo.conninfo_to_dict(PG_ADMIN_URL)
    target = (
        f"storekeeper = host={pg.get('host') or '127.0.0.1'} port={pg.get('port') or 5432} "
        f"dbname={database} user={pg.get('user') or 'postgres'}"
    )
    values = {
        "listen_port": str(port),
        "auth_type": "trust",
        "auth_file": str(folder / "userlist.txt"),
        "logfile": str(folder / "pgbouncer.log"),
        "pidfile": str(folder / "pgbouncer.pid"),
        "default_pool_size": str(SERVER_CONNECTIONS),
        "reserve_pool_size": "0",
    }
    text, count = re.subn(r"^storekeeper = .*$", target, shipped, flags=re.M)
    assert count == 1
    for key, value in values.items():
        text, count = re.subn(rf"^{key} = .*$", f"{key} = {value}", text, flags=re.M)
        assert count == 1, key
    return text


@pytest.fixture
def pgbouncer_url() -> Iterator[str]:
    """A fresh, migrated database; the URL that reaches it through a PgBouncer of our own."""
    require(postgres_available(), "PostgreSQL")
    executable = shutil.which("pgbouncer") or shutil.which("pgbouncer", path="/usr/sbin")
    require(executable is not None, "pgbouncer (make deploy-tools)")
    assert executable is not None
    with (
        tempfile.TemporaryDirectory(prefix="storekeeper-pgbouncer-") as raw,
        postgres_database() as url,
    ):
        folder = Path(raw)
        env = server_env(raw, STOREKEEPER_DATABASE_URL=url)
        subprocess.run([BIN / "storekeeper", "db", "upgrade"], env=env, check=True, timeout=120)
        name = url.rsplit("/", 1)[1]
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            # What the app's startup options would have set: PgBouncer drops those.
            for setting in ("statement_timeout", "lock_timeout"):
                conn.execute(
                    f"ALTER DATABASE \"{name}\" SET {setting} = '{STATEMENT_TIMEOUT_MS}ms'"
                )
        port = free_port()
        (folder / "pgbouncer.ini").write_text(
            pgbouncer_ini(SHIPPED.read_text(), name, port, folder)
        )
        (folder / "userlist.txt").write_text('"postgres" ""\n')
        command = [executable, str(folder / "pgbouncer.ini")]
        if os.geteuid() == 0:  # PgBouncer refuses to run as root
            user = pwd.getpwnam("postgres" if _exists("postgres") else "nobody")
            os.chown(folder, user.pw_uid, user.pw_gid)
            command[1:1] = ["-u", user.pw_name]
        proc = spawn(command)
        try:
            wait_listening(("127.0.0.1", port), proc, "pgbouncer")
            yield f"postgresql://postgres@127.0.0.1:{port}/storekeeper"
        finally:
            stop(proc)


def _exists(user: str) -> bool:
    try:
        pwd.getpwnam(user)
    except KeyError:
        return False
    return True


def test_api_smoke_set_through_pgbouncer_in_transaction_mode(pgbouncer_url: str) -> None:
    with tempfile.TemporaryDirectory() as instance:
        env = server_env(
            instance,
            STOREKEEPER_DATABASE_URL=pgbouncer_url,
            STOREKEEPER_DB_PREPARED_STATEMENTS="false",
        )
        with server_process(instance, env, workers=1) as (base, _):
            _smoke(base)


def _smoke(base: str) -> None:
    token = login_token(base, "bouncer", "bouncer-password")
    auth = {"Authorization": f"Bearer {token}"}
    store = requests.post(f"{base}/store", json={"name": "Bounced"}, headers=auth, timeout=10)
    assert store.status_code == 201, store.text
    sid = store.json()["id"]
    item = requests.post(
        f"{base}/store/{sid}/item", json={"name": "Ball", "price": 9.99}, headers=auth, timeout=10
    )
    assert item.status_code == 201, item.text
    tag = requests.post(f"{base}/store/{sid}/tag", json={"name": "toys"}, headers=auth, timeout=10)
    assert tag.status_code == 201, tag.text
    iid, tid = item.json()["id"], tag.json()["id"]
    linked = requests.post(f"{base}/item/{iid}/tag/{tid}", headers=auth, timeout=10)
    assert linked.status_code == 201

    # The same statements many times over, from several app connections at once: past
    # psycopg's prepare threshold (5), over more client than server connections.
    def read(_: int) -> list[int]:
        with requests.Session() as http:
            return [
                http.get(f"{base}{path}", timeout=10).status_code
                for _ in range(6)
                for path in (
                    f"/store/{sid}",
                    f"/item/{iid}",
                    f"/tag/{tid}",
                    f"/item?store_id={sid}",
                )
            ]

    with ThreadPoolExecutor(6) as pool:
        assert {status for statuses in pool.map(read, range(6)) for status in statuses} == {200}

    etag = requests.get(f"{base}/item/{iid}", timeout=10).headers["ETag"]
    for attempt in range(6):
        changed = requests.patch(
            f"{base}/item/{iid}",
            json={"quantity": attempt + 1},
            headers={**auth, "If-Match": etag},
            timeout=10,
        )
        assert changed.status_code == 200, changed.text
        etag = changed.headers["ETag"]
    stale = requests.patch(
        f"{base}/item/{iid}",
        json={"quantity": 0},
        headers={**auth, "If-Match": '"stale"'},
        timeout=10,
    )
    assert stale.status_code == 412
    assert requests.get(f"{base}/item/{iid}", timeout=10).json()["quantity"] == 6

    assert requests.post(f"{base}/logout", headers=auth, timeout=10).status_code == 204
    assert requests.get(f"{base}/user/me", headers=auth, timeout=10).status_code == 401
