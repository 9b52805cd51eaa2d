"""How many BLAS threads the matrix products use, decided before numpy loads.

A BLAS library reads its thread count from the environment once, when numpy
is imported, and each reads its own variable before OMP_NUM_THREADS
(OpenBLAS: OPENBLAS_NUM_THREADS, then OMP_NUM_THREADS; MKL: MKL_NUM_THREADS,
then OMP_NUM_THREADS). So a user's OMP_NUM_THREADS=1 would do nothing if
winner set OPENBLAS_NUM_THREADS itself; instead winner picks one count and
writes it to all three:

1. --threads N (or WINNER_THREADS=N), if given;
2. else the first of OPENBLAS_NUM_THREADS, MKL_NUM_THREADS, OMP_NUM_THREADS
   the user set to a positive whole number (for OMP_NUM_THREADS, its first
   level: "4,2" means 4), in the order the libraries read them;
3. else 1.

One thread by default: OpenBLAS threads spin-wait for a core, so with
another CPU-bound process on the machine two threads made training several
times slower than one, while on an idle machine two gained little (README,
Performance).

Tagging hardly uses BLAS, and its processes (winner.workers, which share
out a large input) never spin-wait: beside a busy process they share a core,
and lose no more than its share. So tagging takes the count of rule 1 or 2
when the user gave one, and otherwise every core this process may run on, as
its processes, each with one BLAS thread: N processes of N spinning threads
each made `winner --threads 2 predict` on 800k tokens 2.3 times slower than
the same processes with one thread each.
This module imports nothing heavy: the CLI calls it before numpy loads.
"""

from __future__ import annotations

import os
from typing import MutableMapping

VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")  # in the order BLAS libraries read them
DEFAULT = 1


def _count(value: str | None) -> int | None:
    """A positive thread count from a variable's value, or None (unset, empty, 0 or not a number)."""
    first = (value or "").split(",")[0].strip()
    return int(first) if first.isascii() and first.isdigit() and int(first) > 0 else None


def given(threads: int | None, environ: MutableMapping[str, str]) -> int | None:
    """The count the user gave, by rule 1 or 2 above: `threads` from --threads, else their variables; else None."""
    if threads is not None:
        return threads
    for name in VARIABLES:
        count = _count(environ.get(name))
        if count is not None:
            return count
    return None


_configured: list[int | None] = []  # the count the user gave when configure() ran (None: none given)
_wrote: list[tuple[MutableMapping[str, str], dict[str, str]]] = []  # (mapping, its variables) configure() last wrote
TAGGING = ("predict", "eval")  # the commands whose cores go to processes (winner.workers, winner.forked)


def _users(threads: int | None, environ: MutableMapping[str, str]) -> int | None:
    """given(), except that variables holding what configure() itself last wrote there are not the user's:
    a second call in one process (the CLI run from Python after a script configured) keeps the count the
    user gave the first."""
    if threads is None and _wrote and _configured and _wrote[0][0] is environ and \
            all(environ.get(name) == value for name, value in _wrote[0][1].items()):
        return _configured[0]
    return given(threads, environ)


def configure(threads: int | None = None, environ: MutableMapping[str, str] = os.environ,
              tagging: bool = False) -> int:
    """Write the BLAS thread count to every variable in VARIABLES; returns it. Call before numpy is imported.

    The count is the user's by rule 1 or 2 (given(); in a second call, not the variables the first
    wrote: _users()), else DEFAULT by rule 3; or 1 for a command that tags (`tagging`: one of
    TAGGING), whose processes (for_tagging()) take the cores instead."""
    user = _users(threads, environ)
    _configured[:] = [user]
    count = 1 if tagging else (DEFAULT if user is None else user)
    _wrote[:] = [(environ, {name: str(count) for name in VARIABLES})]
    for name in VARIABLES:
        environ[name] = str(count)
    return count


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def for_tagging() -> int:
    """Processes for tagging: the count the user gave (to configure(), or in the environment when it has
    not run), else cores()."""
    count = _configured[0] if _configured else given(None, os.environ)
    return cores() if count is None else count
