"""Where CPU-bound work runs, and how many sign-ins are let in at once (storekeeper.offload)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from storekeeper.domain.errors import Unavailable
from storekeeper.offload import Admission, inline, off_the_loop


def test_without_gevent_work_runs_inline() -> None:
    assert off_the_loop() is inline
    assert inline(lambda: 42) == 42


def test_admission_lets_in_as_many_as_it_has_slots_and_refuses_after_its_wait() -> None:
    admit = Admission(slots=2, wait_s=0)
    with admit(), admit(), pytest.raises(Unavailable), admit():
        pass  # pragma: no cover - never admitted
    with admit():  # the slots came back
        pass


def test_under_gevent_a_hash_runs_in_a_pool_thread_while_the_loop_goes_on() -> None:
    # In a process of its own: gevent must patch the standard library before anything else.
    script = textwrap.dedent(
        """
        from gevent import monkey
        monkey.patch_all()
        import gevent
        from storekeeper.offload import off_the_loop
        from storekeeper.security import Passwords

        passwords = Passwords(run=off_the_loop())
        ticks = 0

        def ticker():
            global ticks
            while True:
                ticks += 1
                gevent.sleep(0)

        spinning = gevent.spawn(ticker)
        gevent.sleep(0)
        before = ticks
        stored = passwords.hash("correct horse battery")
        during = ticks - before
        assert passwords.verify(stored, "correct horse battery")
        spinning.kill()
        print(during)
        """
    )
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    # The loop ran other greenlets while the hash was computed: in the loop, it could not.
    assert int(ran.stdout.strip()) > 0
