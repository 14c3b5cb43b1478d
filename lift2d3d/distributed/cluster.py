"""Connecting to a Dask cluster: scheduler addresses and client lifetime.

One place turns what a user types after ``--scheduler`` into a
``distributed.Client``: a running scheduler (``tcp://HOST:PORT``), a scheduler
file written by ``dask scheduler --scheduler-file`` or dask-jobqueue/dask-mpi,
or a throw-away ``LocalCluster`` on loopback (``local`` / ``local:N``).
"""

from __future__ import annotations

import contextlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SchedulerSpec", "parse_scheduler", "open_client"]

# Seconds to wait for a remote scheduler before telling the user it is not there;
# a healthy scheduler answers in milliseconds, a wrong port never does.
CONNECT_TIMEOUT_S = 10

_ADDRESS = re.compile(r"^(tcp|tls|inproc|ucx|ws|wss)://[^\s/]+(:\d+)?/?$")
_HOST_PORT = re.compile(r"^[A-Za-z0-9_.\-\[\]:]+:\d+$")


@dataclass(frozen=True)
class SchedulerSpec:
    """Where the work runs.

    Attributes
    ----------
    kind : {"local", "address", "file"}
        A new LocalCluster, a running scheduler, or a scheduler JSON file.
    n_workers : int or None
        Worker processes of a local cluster (None: one per CPU core).
    address : str or None
        Scheduler address (``tcp://HOST:PORT``) or scheduler-file path.
    """

    kind: str
    n_workers: int | None = None
    address: str | None = None


def parse_scheduler(text: str) -> SchedulerSpec:
    """Parse a ``--scheduler`` value.

    Parameters
    ----------
    text : str
        ``local`` or ``local:N`` (a LocalCluster of N single-threaded worker
        processes on 127.0.0.1), ``tcp://HOST:PORT`` (or ``HOST:PORT``, or any
        dask comm address such as ``tls://``), or the path of a scheduler JSON file.

    Returns
    -------
    SchedulerSpec

    Raises
    ------
    ValueError
        With the accepted forms when ``text`` matches none of them.
    """
    value = str(text).strip()
    if value == "local":
        return SchedulerSpec("local", None)
    if value.startswith("local:"):
        count = value.split(":", 1)[1]
        if not count.isdigit() or int(count) < 1:
            raise ValueError(f"--scheduler {text!r}: the number of local workers must be a positive "
                             "integer, e.g. local:2")
        return SchedulerSpec("local", int(count))
    if _ADDRESS.match(value):
        return SchedulerSpec("address", address=value.rstrip("/"))
    if value.endswith(".json"):
        if not Path(value).is_file():
            raise ValueError(f"--scheduler {text!r}: scheduler file not found; pass the file written by "
                             "`dask scheduler --scheduler-file FILE`, or tcp://HOST:PORT")
        return SchedulerSpec("file", address=value)
    if _HOST_PORT.match(value):
        return SchedulerSpec("address", address="tcp://" + value)
    raise ValueError(f"--scheduler {text!r}: expected tcp://HOST:PORT (a running `dask scheduler`), "
                     "local or local:N (a LocalCluster of N workers on this machine), or a scheduler "
                     "JSON file")


@contextlib.contextmanager
def open_client(scheduler, *, n_threads_per_worker: int = 1, quiet: bool = True):
    """Yield a ``distributed.Client`` for ``scheduler`` and clean up after.

    Parameters
    ----------
    scheduler : str, SchedulerSpec or distributed.Client
        What :func:`parse_scheduler` accepts, or a client the caller already
        holds (yielded as is and left open).
    n_threads_per_worker : int
        Threads of each local worker.  One is right for lifting: the solver
        is compiled numerical code, so parallelism comes from processes.
    quiet : bool
        Keep a local cluster's start-up chatter (INFO logs) off the terminal.

    Yields
    ------
    distributed.Client
    """
    from distributed import Client, LocalCluster

    if isinstance(scheduler, Client):
        yield scheduler
        return
    spec = scheduler if isinstance(scheduler, SchedulerSpec) else parse_scheduler(scheduler)
    if spec.kind == "local":
        n_workers = spec.n_workers or max(1, os.cpu_count() or 1)
        # Loopback only and no dashboard: a throw-away cluster must not open
        # ports to the network or clash with a dashboard already on :8787.
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=n_threads_per_worker,
                               processes=True, host="127.0.0.1", dashboard_address=None,
                               silence_logs=40 if quiet else 20)
        try:
            with Client(cluster) as client:
                yield client
        finally:
            cluster.close()
        return
    try:
        if spec.kind == "file":
            client = Client(scheduler_file=spec.address, timeout=CONNECT_TIMEOUT_S)
        else:
            client = Client(spec.address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError) as exc:
        raise ConnectionError(f"could not reach the Dask scheduler at {spec.address} within "
                              f"{CONNECT_TIMEOUT_S} s ({exc}); check that `dask scheduler` is running there "
                              "and that the address and port are right, or use --scheduler local:N") from None
    with client:
        yield client
