"""One array's worth of numpy work shared out between forked processes, its results in shared memory.

Tagging's fast path (winner.fastscore) spends most of its time in short
numpy calls; two threads running them wait on each other for the
interpreter lock, so a second core serves only a second process. Forking is
the cheap way to one: the child sees the parent's arrays (the model, the
cache of rows, the windows) as they are, copied only if written, and writes
its part of the output to an anonymous shared mapping. A fork costs a few
milliseconds (README, "Tagging's fast path"), so callers share out only
work of some hundred milliseconds.

Forking is safe only when this process runs one thread (a lock held by
another thread stays locked in the child), so with more threads, or without
os.fork (Windows), the parent does all the work itself; it does the part of
a child that failed too, so a result is never lost, only late.
"""

from __future__ import annotations

import mmap
import os
import signal
import threading
from typing import Callable

import numpy as np


def available() -> bool:
    """Can this process fork a worker safely now?"""
    return hasattr(os, "fork") and threading.active_count() == 1


def share(work: Callable[[int, int, np.ndarray], None], out: np.ndarray, processes: int) -> None:
    """work(first, last, out[first:last]) for the rows [0, len(out)) of `out`, cut into `processes`
    equal parts: the parent does the first, a forked child each other one (into shared memory, then
    copied into `out`). work must only read the parent's state and write its output part."""
    n = len(out)
    cuts = np.linspace(0, n, max(1, processes) + 1).astype(int).tolist()
    if processes < 2 or not available():
        work(0, n, out)
        return
    rest = out[cuts[1]:]  # the children's rows
    shared = mmap.mmap(-1, max(1, rest.nbytes))  # MAP_SHARED | MAP_ANONYMOUS: seen by the children
    results = np.frombuffer(shared, out.dtype, rest.size).reshape(rest.shape)
    children = []
    try:
        for first, last in zip(cuts[1:-1], cuts[2:]):
            pid = os.fork()
            if pid == 0:  # the child: its part, then leave without the parent's exit handlers
                status = 1
                try:
                    work(first, last, results[first - cuts[1]: last - cuts[1]])
                    status = 0
                finally:
                    os._exit(status)
            children.append((pid, first, last))
        work(0, cuts[1], out[: cuts[1]])
        while children:
            pid, first, last = children.pop(0)
            _, status = os.waitpid(pid, 0)
            if status == 0:
                out[first: last] = results[first - cuts[1]: last - cuts[1]]
            else:  # killed, or out of memory: done here instead
                work(first, last, out[first: last])
    finally:
        for pid, _, _ in children:  # the parent was interrupted: its children's work is not wanted
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        del results
        shared.close()
