"""Running winner's tasks on Dask (dask.distributed): on local worker processes, or on a cluster
given by its scheduler's address.

The only module that imports Dask, and only when a many-file predict or a
sweep runs, so that winner without the `dask` extra stays as it is. A task
is a plain function of paths and small values (model directory, input and
output file, config file, run directory) that returns small results; no
model or data set is ever pickled. The shape is the one spaCy's maintainers
give for tagging at scale: files of a few tens of megabytes cut beforehand,
one task per file, the model loaded once per worker, and failures recovered
by running again the tasks whose output is missing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Sequence

from winner.errors import WinnerError

INSTALL = "pip install -e '.[dask]' in winner's source checkout"
# Local worker processes start without the MALLOC_TRIM_THRESHOLD_=65536 of Dask's default environment
# (distributed.nanny.pre-spawn-environ; None unsets a variable there). Setting it fixes glibc's mmap
# threshold at 128 KiB, so every large NumPy temporary is mapped and unmapped anew: `winner train
# configs/bench.yaml` took 4.0-4.8 s under it instead of 3.1-3.6 s. Dask's one BLAS thread is kept.
WORKER_ENVIRON = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}


def require(what: str) -> None:
    """A WinnerError saying how to install the extra when dask.distributed is not importable."""
    try:
        import distributed  # noqa: F401
    except ImportError:
        raise WinnerError(f"{what} needs the Dask extra: {INSTALL}") from None


def cores() -> int:
    """The cores this process may run on: the default number of local workers."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


@contextlib.contextmanager
def client(what: str, workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A dask.distributed.Client for the duration of the block: connected to `scheduler` (an address
    such as tcp://10.0.0.5:8786) when given, else to a LocalCluster of `workers` processes (default:
    one per core) of one thread each, started here and closed on leaving. `what` names the command in
    the error raised when Dask is not installed."""
    require(what)
    from distributed import Client, LocalCluster

    if workers is not None and workers < 1:
        raise WinnerError(f"--workers {workers}: expected 1 or more")
    if scheduler is not None:
        try:
            connected = Client(scheduler, timeout="30s")
        except (OSError, TimeoutError, ValueError) as exc:
            raise WinnerError(f"--scheduler {scheduler}: cannot connect to a Dask scheduler "
                              f"({' '.join(str(exc).split())})") from None
        with connected:
            yield connected
        return
    import dask

    # One thread per worker: winner's tasks hold the GIL in Python code between their NumPy calls,
    # so a process per core is what runs them side by side. The dashboard on a free port, never a taken one.
    with dask.config.set(WORKER_ENVIRON), \
            LocalCluster(n_workers=workers or cores(), threads_per_worker=1, processes=True, dashboard_address=":0",
                         silence_logs=logging.ERROR) as cluster, Client(cluster) as local:
        yield local


@dataclass(frozen=True)
class Outcome:
    """One task's end: its index in the list of calls, and its result or its error as one line."""

    index: int
    result: Any = None
    error: str | None = None


def _guarded(function: Callable, *args) -> tuple[bool, Any]:
    """(True, result), or (False, message) for a WinnerError: a user's error is returned rather than
    raised, so that the worker does not log it with a traceback; a bug still raises."""
    try:
        return True, function(*args)
    except WinnerError as exc:
        return False, str(exc)


def run(dask_client, calls: Sequence[tuple[str, Callable, tuple]]) -> Iterator[Outcome]:
    """Submit every call (label, function, arguments) as one task and yield each Outcome as it ends,
    in the order they end. A task that raises, or whose worker dies (Dask retries it on another
    worker up to distributed.scheduler.allowed-failures times), ends with its error; the others go
    on. The label, with a token unique to this run, is the task's key, as the dashboard shows it."""
    from distributed import as_completed

    token = uuid.uuid4().hex[:8]
    futures = {dask_client.submit(_guarded, function, *args, key=f"{label} {token}-{i}", pure=False): i
               for i, (label, function, args) in enumerate(calls)}
    try:
        for future in as_completed(list(futures)):
            index = futures[future]
            try:
                ok, value = future.result()
            except Exception as exc:  # a bug in the task, or distributed's KilledWorker
                ok, value = False, f"{type(exc).__name__}: {' '.join(str(exc).split())}"
            yield Outcome(index, result=value) if ok else Outcome(index, error=" ".join(value.split()))
            future.release()
    finally:  # Ctrl-C or an error in the caller: nothing left running for this run
        dask_client.cancel([f for f in futures if not f.done()])
