"""The settings `storekeeper serve` parsed, handed to the server process it execs.

`storekeeper serve` parses and checks the settings once, then execs the server (so that each
forked worker imports the application only after gevent has patched it). The parsed object
crosses the exec through an inherited pipe, and the server's workers receive it by fork:
nothing parses the environment again, and nothing is written into it. Pickle, because both
ends are this program in one process (execv keeps the pid); a pipe rather than a variable,
because a generated development secret would otherwise sit in /proc/<pid>/environ.
"""

from __future__ import annotations

import os
import pickle

from storekeeper.settings import Settings

# What a pipe holds before anyone reads it (Linux's default capacity is 64 KiB); the
# settings pickle is about 1 KiB, and a write beyond this would block the exec forever.
_PIPE_CAPACITY = 64 * 1024


def hand_over(settings: Settings) -> int:
    """A pipe's read end, inherited across exec, that holds `settings`."""
    data = pickle.dumps(settings)
    if len(data) >= _PIPE_CAPACITY:
        raise ValueError(f"the settings take {len(data)} bytes, more than a pipe holds")
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, data)
    finally:
        os.close(write_end)
    os.set_inheritable(read_end, True)
    return read_end


def take_over(fd: int) -> Settings:
    """The settings handed over through the pipe `fd` (which is closed)."""
    with os.fdopen(fd, "rb") as pipe:
        settings = pickle.load(pipe)  # noqa: S301 (written by this process before its exec)
    if not isinstance(settings, Settings):
        raise TypeError(f"expected Settings through fd {fd}, got {type(settings).__name__}")
    return settings
