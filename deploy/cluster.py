"""`make cluster`: N Storekeeper instances and their background workers behind nginx, sharing one
PostgreSQL and one Redis.

Operator tooling to run the deployment of docs/deploy.md on one machine: the database is
created when missing and migrated once, before any instance starts (migrations are a
release step, never something each instance races to do); the instances share the secret,
the public URL and Redis, and trust nginx alone for client addresses. Ctrl-C stops all of
it within 5 seconds. The tests (tests/cluster) run nginx with the same `nginx_config`.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import psycopg

from deploy.databases import database_name, ensure_database
from deploy.processes import Address, spawn, stop_all, wait_healthy, wait_listening

SITE = Path(__file__).resolve().parent / "nginx" / "storekeeper.conf"
BIN = Path(sys.executable).parent
DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/storekeeper_cluster"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Ctrl-C must stop everything within 5 s: what has not exited by then is killed.
STOP_DEADLINE_S = 4.0
_UPSTREAM_SERVER = re.compile(
    r"^(?P<indent>[ \t]*)server\s+\S+:\d+(?P<options>[^;]*);[ \t]*\n", re.M
)
_LISTEN = re.compile(r"^(?P<indent>[ \t]*)listen\s+[^;]+;", re.M)


def nginx_binary() -> str:
    """The nginx executable (Debian keeps it in /usr/sbin, which may not be on PATH)."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")
    if found is None:
        raise RuntimeError(
            "nginx is not installed: run `make deploy-tools` (installs nginx and PgBouncer)"
        )
    return found


def nginx_config(site: str, listen: Address, upstreams: Sequence[Address], workdir: Path) -> str:
    """A complete nginx.conf around the shipped site: its upstream servers and listen address
    replaced, and every file nginx writes (pid, logs, temporary bodies, the photo cache) inside
    `workdir`.
    """
    servers = list(_UPSTREAM_SERVER.finditer(site))
    listens = list(_LISTEN.finditer(site))
    if not servers or len(listens) != 1:
        raise ValueError("the site needs upstream `server host:port` lines and one listen line")
    first = servers[0]
    replacement = "".join(
        f"{first['indent']}server {host}:{port}{first['options']};\n" for host, port in upstreams
    )
    site = _LISTEN.sub(f"{listens[0]['indent']}listen {listen[0]}:{listen[1]};", site)
    # Only the first server line becomes the new list; the others go.
    site = _UPSTREAM_SERVER.sub(lambda m: replacement if m.start() == first.start() else "", site)
    site = site.replace("/var/log/nginx/", f"{workdir}/")
    site = site.replace("/var/lib/nginx/", f"{workdir}/")
    temp = "\n".join(
        f"    {kind}_temp_path {workdir}/{kind}_temp;"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        f"worker_processes 1;\npid {workdir}/nginx.pid;\nerror_log {workdir}/error.log warn;\n"
        f"events {{\n    worker_connections 1024;\n}}\nhttp {{\n{temp}\n"
        f"    access_log {workdir}/access.log;\n{site}\n}}\n"
    )


def write_nginx_config(
    listen: Address, upstreams: Sequence[Address], workdir: Path, site: Path = SITE
) -> list[str]:
    """Write the generated nginx.conf into `workdir`; the command that runs it in the foreground."""
    # Run as root, nginx's workers are `nobody`: they must reach the temporary folders.
    workdir.chmod(0o755)
    conf = workdir / "nginx.conf"
    conf.write_text(nginx_config(site.read_text(), listen, upstreams, workdir))
    return [
        nginx_binary(),
        *("-p", str(workdir), "-e", str(workdir / "error.log"), "-c", str(conf)),
        *("-g", "daemon off;"),
    ]


def cluster_env(environ: Mapping[str, str], public_url: str) -> dict[str, str]:
    """The environment shared by every instance: the operator's STOREKEEPER_* where set, else
    the local PostgreSQL and Redis, one generated secret, nginx's address as the public URL
    and nginx (on this host) as the only trusted proxy.
    """
    env = dict(environ)
    defaults = {
        "STOREKEEPER_DATABASE_URL": DEFAULT_DATABASE_URL,
        "STOREKEEPER_REDIS_URL": DEFAULT_REDIS_URL,
        # Tokens signed by one instance must verify on every other: one secret for all.
        "STOREKEEPER_SECRET_KEY": secrets.token_urlsafe(48),
        # Links to further pages name nginx, whichever instance wrote them.
        "STOREKEEPER_PUBLIC_URL": public_url,
        "STOREKEEPER_TRUSTED_PROXIES": "127.0.0.1",
    }
    for name, value in defaults.items():
        if not env.get(name):
            env[name] = value
    return env


@dataclass(frozen=True)
class Plan:
    """What `make cluster` starts."""

    instances: int
    workers: int
    host: str
    base_port: int
    nginx_port: int

    def instance_addresses(self) -> list[Address]:
        """Instance i listens on base_port + i."""
        return [(self.host, self.base_port + i) for i in range(self.instances)]


def _interrupt(_signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run(plan: Plan, environ: Mapping[str, str]) -> int:
    """Start the cluster, print its addresses and pids, and stop it on Ctrl-C or SIGTERM."""
    env = cluster_env(environ, f"http://{plan.host}:{plan.nginx_port}")
    if ensure_database(env["STOREKEEPER_DATABASE_URL"]):
        name = database_name(env["STOREKEEPER_DATABASE_URL"])
        print(f"cluster: created database {name}", file=sys.stderr)
    subprocess.run([BIN / "storekeeper", "db", "upgrade"], env=env, check=True, timeout=120)
    workdir = Path(tempfile.mkdtemp(prefix="storekeeper-cluster-"))
    procs: list[subprocess.Popen[bytes]] = []
    # Both set explicitly: a shell starting us in the background leaves SIGINT ignored.
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGINT, _interrupt)
    try:
        for number, (host, port) in enumerate(plan.instance_addresses(), start=1):
            command: list[str | Path] = [BIN / "storekeeper", "serve", "--host", host]
            command += ["--port", str(port), "--workers", str(plan.workers)]
            log = workdir / f"instance-{number}.log"
            # Each in its own process group: Ctrl-C reaches us alone, and we stop them in order.
            procs.append(spawn(command, env, log))
            wait_healthy(f"http://{host}:{port}", procs[-1], f"instance {number}", log)
            print(
                f"instance {number}: http://{host}:{port} pid {procs[-1].pid} "
                f"(metrics http://{host}:{port}/metrics)"
            )
        for number in range(1, plan.instances + 1):
            # One background worker beside each instance, as on a host of a deployment; they
            # share the queue (Redis here) and the jobs table, so any of them runs any job.
            log = workdir / f"worker-{number}.log"
            procs.append(spawn([BIN / "storekeeper", "worker"], env, log))
            print(f"worker {number}: pid {procs[-1].pid} (log {log})")
        nginx = write_nginx_config((plan.host, plan.nginx_port), plan.instance_addresses(), workdir)
        procs.append(spawn(nginx, log=workdir / "nginx.log"))
        wait_listening((plan.host, plan.nginx_port), procs[-1], "nginx", workdir / "nginx.log")
        print(f"nginx: http://{plan.host}:{plan.nginx_port} pid {procs[-1].pid}")
        print(f"logs in {workdir}; Ctrl-C stops everything", flush=True)
        while all(proc.poll() is None for proc in procs):
            time.sleep(0.5)
        print("cluster: a process exited; stopping the others", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        # A second Ctrl-C must not cut the stop short and leave instances running.
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        stop_all(procs, STOP_DEADLINE_S)
        print("cluster: stopped", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of `python -m deploy.cluster` (`make cluster N=3`)."""
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster", description=__doc__)
    parser.add_argument("-n", "--instances", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1, help="workers per instance")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--base-port", type=int, default=8001, help="instance i gets this + i")
    parser.add_argument("--port", type=int, default=8080, help="nginx's port")
    args = parser.parse_args(argv)
    if not 1 <= args.instances <= 32:
        parser.error("--instances must be between 1 and 32")
    plan = Plan(args.instances, args.workers, args.host, args.base_port, args.port)
    try:
        return run(plan, os.environ)
    except (RuntimeError, subprocess.CalledProcessError, psycopg.Error) as exc:
        print(f"cluster: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
