"""Who may write an output: one run per output path, never onto an input, paths as the user meant them.

* :func:`output_lock`: a lock file ``<output>.lock`` held with ``flock`` for
  the whole run and naming its holder (pid, host, start time, command); a
  second run on the same output refuses, naming the first.  The operating
  system drops the lock of a process that dies, so the lock of a killed run is
  taken over by the next run (which says so).  On a network file system
  without ``flock`` the file still names the holder but cannot exclude it.
* :func:`normal_output`: ``a/../../x`` as ``../x``, so that creating the
  output's folder never leaves a stray ``a/``.
* :func:`check_not_an_input`: an output that would overwrite an input (or
  land inside an input folder) is refused.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from contextlib import contextmanager
from pathlib import Path

__all__ = ["OutputBusyError", "output_lock", "normal_output", "check_not_an_input", "lock_path"]


class OutputBusyError(ValueError):
    """Another run is writing the same output (the message names it)."""


def normal_output(path) -> Path:
    """``path`` with ``.`` and ``..`` resolved lexically (``a/../../x`` -> ``../x``), as the shell user meant it."""
    return Path(os.path.normpath(os.fspath(path)))


def check_not_an_input(output, inputs) -> None:
    """Raise ValueError when ``output`` is one of ``inputs`` or inside an input folder.

    Compared after resolving links and ``..``, so ``./x.csv`` and a link to
    ``x.csv`` are ``x.csv``.
    """
    target = Path(output).resolve()
    for item in inputs:
        source = Path(item).resolve()
        if target == source:
            raise ValueError(f"the output {output} is the input {item}: lifting would overwrite the keypoints; "
                             "choose another -o")
        if source.is_dir() and source in target.parents:
            raise ValueError(f"the output {output} is inside the input folder {item}, where it would be read as "
                             "input next time; choose another -o")


def lock_path(output) -> Path:
    """The lock file of ``output``."""
    output = Path(output)
    return output.with_name(output.name + ".lock")


def _holder(fd) -> dict:
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        text = os.read(fd, 65536).decode("utf-8", errors="replace")
        holder = json.loads(text) if text.strip() else {}
        return holder if isinstance(holder, dict) else {}
    except (OSError, ValueError):
        return {}


def _describe(holder: dict) -> str:
    if not holder:
        return "a run that left no details"
    started = holder.get("started")
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(started)) if isinstance(started, (int, float)) else "?"
    command = holder.get("command") or "?"
    return f"pid {holder.get('pid', '?')} on {holder.get('host', '?')}, started {when}: {command}"


@contextmanager
def output_lock(output, log=None):
    """Hold ``<output>.lock`` while the body runs.

    Raises
    ------
    OutputBusyError
        Another live process holds the lock (the message names it).
    """
    try:
        import fcntl
    except ImportError:            # no flock (Windows): nothing to hold, the run goes ahead
        yield None
        return
    path = lock_path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = _holder(fd)
            os.close(fd)
            raise OutputBusyError(f"{output} is being written by another run ({_describe(holder)}); wait for it to "
                                  f"finish or choose another output (if no such run is alive, delete {path})") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(path).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        # the previous holder removed the file between our open and our lock: lock the new one
        os.close(fd)
    previous = _holder(fd)
    if previous and log is not None:
        log(f"took over the lock of an earlier run on {output} that is no longer running ({_describe(previous)})")
    info = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
            "command": " ".join([Path(sys.argv[0]).name] + sys.argv[1:]) if sys.argv and sys.argv[0] else ""}
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, json.dumps(info).encode("utf-8"))
    try:
        yield info
    finally:
        try:
            os.unlink(path)         # while still holding it: a waiting run then locks a new file
        except OSError:
            pass
        os.close(fd)
