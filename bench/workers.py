"""Each worker's share of a run: the connections it holds and the requests it answers.

A tail that builds up inside one worker looks, from wrk, like a tail of the whole server; the
shares tell the two apart. Connections are read from /proc (the worker's socket inodes among
the established TCP sockets on the server's port), sampled while the load runs; answered
requests from the worker's own prometheus_client multiprocess file (counter_<pid>.db), read
before and after the run; and from /proc/<pid>/schedstat, the time each worker ran on a CPU and
the time it was ready to run but waited for one (the kernel's run queue), across the run.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from prometheus_client.mmap_dict import MmapedDict

REQUESTS_SAMPLE = "storekeeper_http_requests_total"
_ESTABLISHED = "01"


def worker_pids(server_pid: int) -> list[int]:
    """The worker processes of a `storekeeper serve` (its arbiter's Python children)."""
    found = []
    for child in Path("/proc").glob("[0-9]*"):
        try:
            status = (child / "status").read_text()
            command = (child / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        ppid = int(re.search(r"PPid:\s+(\d+)", status).group(1))  # type: ignore[union-attr]
        # `storekeeper serve` execs the arbiter, or runs it as its child.
        if (ppid == server_pid or _parent(ppid) == server_pid) and "python" in command:
            found.append(int(child.name))
    return sorted(found)


def _parent(pid: int) -> int:
    try:
        found = re.search(r"PPid:\s+(\d+)", Path(f"/proc/{pid}/status").read_text())
    except OSError:
        return -1
    return int(found.group(1)) if found else -1


def connections(pids: list[int], port: int) -> dict[int, int]:
    """How many established connections on `port` each process holds."""
    inodes: dict[str, int] = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            local_port = int(fields[1].rsplit(":", 1)[1], 16)
            if local_port == port and fields[3] == _ESTABLISHED:
                inodes[fields[9]] = 0
    held = {}
    for pid in pids:
        count = 0
        try:
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                try:
                    target = fd.readlink().name
                except OSError:
                    continue
                if target.startswith("socket:[") and target[8:-1] in inodes:
                    count += 1
        except OSError:
            pass
        held[pid] = count
    return held


def answered(metrics: Path, pids: list[int]) -> dict[int, int]:
    """How many requests each process has answered since it started."""
    counts = {}
    for pid in pids:
        total = 0.0
        path = metrics / f"counter_{pid}.db"
        if path.exists():
            values = MmapedDict.read_all_values_from_file(str(path))  # type: ignore[no-untyped-call]
            for key, value, _, _ in values:
                if json.loads(key)[1] == REQUESTS_SAMPLE:
                    total += value
        counts[pid] = int(total)
    return counts


def schedstat(pids: list[int]) -> dict[int, tuple[float, float]]:
    """Each process's seconds on a CPU and seconds waiting for one, since it started."""
    found = {}
    for pid in pids:
        try:
            ran, waited, _ = Path(f"/proc/{pid}/schedstat").read_text().split()
        except (OSError, ValueError):
            ran = waited = "0"
        found[pid] = (int(ran) / 1e9, int(waited) / 1e9)
    return found


@dataclass
class Shares:
    """What each worker held, answered, ran and waited during one run (workers in pid order)."""

    connections: list[int] = field(default_factory=list)
    requests: list[int] = field(default_factory=list)
    # Seconds on a CPU, and seconds ready to run while every CPU was busy with others.
    cpu_s: list[float] = field(default_factory=list)
    runqueue_s: list[float] = field(default_factory=list)


@dataclass
class Watch:
    """Where to look for one server's workers: its arbiter, its port, its metrics folder."""

    server_pid: int
    port: int
    metrics: Path

    @contextmanager
    def run(self, seconds: float) -> Iterator[Shares]:
        """Watch one run of `seconds`: connections sampled mid-run, requests counted across."""
        pids = worker_pids(self.server_pid)
        shares = Shares()
        before = answered(self.metrics, pids)
        sched = schedstat(pids)
        done = threading.Event()

        def sample() -> None:
            # The most each worker held at any of a few moments of the run.
            peak = dict.fromkeys(pids, 0)
            for _ in range(4):
                if done.wait(seconds / 5):
                    break
                for pid, held in connections(pids, self.port).items():
                    peak[pid] = max(peak[pid], held)
            shares.connections = [peak[p] for p in pids]

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            yield shares
        finally:
            done.set()
            sampler.join()
            after = answered(self.metrics, pids)
            shares.requests = [after[p] - before[p] for p in pids]
            later = schedstat(pids)
            shares.cpu_s = [round(later[p][0] - sched[p][0], 3) for p in pids]
            shares.runqueue_s = [round(later[p][1] - sched[p][1], 3) for p in pids]


def metrics_folder(instance: Path) -> Path:
    """The multiprocess folder of a server whose TMPDIR is `instance` (one server each)."""
    found = sorted(instance.glob("storekeeper-metrics-*"))
    if len(found) != 1:
        raise RuntimeError(f"expected one metrics folder in {instance}, found {found}")
    return found[0]
