"""BLAS thread settings: the rule of winner.threads, and the count the BLAS numpy loads really runs
with (read by threadpoolctl in a fresh process, since a BLAS reads its variables once, when numpy loads).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from winner import threads
from winner.threads import VARIABLES, given

threadpoolctl = pytest.importorskip("threadpoolctl")

CLEAN = {k: v for k, v in os.environ.items() if k not in VARIABLES + ("WINNER_THREADS",)}

# The CLI's own callback runs (the command, on a missing file, fails after it), then numpy is loaded and
# threadpoolctl asked how many threads its BLAS uses, and winner.threads how many processes tagging takes.
PROBE = """
import json, sys
from winner.cli import app
try:
    app(sys.argv[1:], standalone_mode=False)
except BaseException:
    pass
import numpy
from threadpoolctl import threadpool_info
from winner import threads
print(json.dumps([[pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"],
                  threads.for_tagging()]))
"""
TRAIN = ("train", "no-such-config.yaml")
COMMANDS = {"train": TRAIN, "eval": ("eval", "no-such-model", "no-such-file"),
            "predict": ("predict", "--model", "no-such-model", "a sentence")}


def probe(*args: str, command=TRAIN, **env: str) -> tuple[list[int], int]:
    """(threads of every BLAS numpy loaded, processes for tagging) in a `winner ARGS COMMAND ...` process,
    `env` added to a clean environment."""
    proc = subprocess.run([sys.executable, "-c", PROBE, *args, *command], env={**CLEAN, **env},
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    counts, processes = json.loads(proc.stdout)
    assert counts, "threadpoolctl found no BLAS"
    return counts, processes


def blas_threads(*args: str, **env: str) -> list[int]:
    """Threads of every BLAS numpy loaded in a `winner ARGS train ...` process, `env` added to a clean environment."""
    return probe(*args, **env)[0]


def test_default_is_one_thread():
    assert blas_threads() == [1] * len(blas_threads())


@pytest.mark.parametrize("name", VARIABLES)
def test_a_users_variable_is_honoured(name):
    assert set(blas_threads(**{name: "2"})) == {2}


def test_omp_num_threads_alone_is_honoured_by_openblas():
    """The old CLI set OPENBLAS_NUM_THREADS itself, which OpenBLAS reads first: OMP_NUM_THREADS=1 did nothing."""
    assert set(blas_threads(OMP_NUM_THREADS="1")) == {1}
    assert set(blas_threads(OMP_NUM_THREADS="2")) == {2}


def test_threads_option_and_winner_threads_override_the_variables():
    assert set(blas_threads("--threads", "2", OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")) == {2}
    assert set(blas_threads(WINNER_THREADS="2", OPENBLAS_NUM_THREADS="1")) == {2}


def test_rule_order_and_values_that_are_not_counts(monkeypatch):
    monkeypatch.setattr(threads, "_configured", [])  # configure() below records its count for the process
    monkeypatch.setattr(threads, "_wrote", [])
    assert given(None, {}) is None and threads.configure(None, {}) == threads.DEFAULT == 1
    assert given(3, {"OPENBLAS_NUM_THREADS": "2"}) == 3
    assert given(None, {"OMP_NUM_THREADS": "4", "OPENBLAS_NUM_THREADS": "2"}) == 2  # OpenBLAS reads its own first
    assert given(None, {"OMP_NUM_THREADS": "4", "MKL_NUM_THREADS": "3"}) == 3
    assert given(None, {"OMP_NUM_THREADS": "4,2"}) == 4  # nested OpenMP levels: the first
    for value in ("", "0", "-1", "two", "²", "٣"):  # a digit int() refuses; one BLAS cannot read
        assert given(None, {"OPENBLAS_NUM_THREADS": value, "OMP_NUM_THREADS": "2"}) == 2


def test_configure_writes_every_variable():
    environ = {"OMP_NUM_THREADS": "2"}
    assert threads.configure(None, environ) == 2
    assert environ == {name: "2" for name in VARIABLES}


def test_tagging_takes_the_users_count_else_every_core(monkeypatch):
    """winner.threads.for_tagging(): the count given to configure() (--threads, or a variable), else the
    cores, never the BLAS default of 1; before configure() has run, the environment's count."""
    monkeypatch.setattr(threads, "_configured", [])
    monkeypatch.setattr(threads, "_wrote", [])
    monkeypatch.setattr(threads, "cores", lambda: 6)
    for name in VARIABLES + ("WINNER_THREADS",):
        monkeypatch.delenv(name, raising=False)
    assert threads.for_tagging() == 6
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert threads.for_tagging() == 3
    environ = {}
    assert threads.configure(None, environ) == 1 and environ["OPENBLAS_NUM_THREADS"] == "1"
    assert threads.for_tagging() == 6  # configure() wrote 1 for BLAS; the user gave no count
    threads.configure(2, {})
    assert threads.for_tagging() == 2
    threads.configure(None, {"MKL_NUM_THREADS": "4"})
    assert threads.for_tagging() == 4


def test_a_second_configure_does_not_take_the_count_it_wrote_for_the_users(monkeypatch):
    """A script that configures before numpy loads, then runs the CLI in the same process (as the test suite
    does): the CLI's configure() finds the variables the first call wrote, and the user still gave no count."""
    monkeypatch.setattr(threads, "_configured", [])
    monkeypatch.setattr(threads, "_wrote", [])
    monkeypatch.setattr(threads, "cores", lambda: 6)
    environ = {}
    assert threads.configure(None, environ) == 1
    assert threads.configure(None, environ, tagging=True) == 1
    assert threads.for_tagging() == 6  # not the 1 the first call wrote
    assert threads.configure(None, environ) == 1
    environ = {"OMP_NUM_THREADS": "3"}
    threads.configure(None, environ)
    assert threads.configure(None, environ, tagging=True) == 1 and threads.for_tagging() == 3
    assert threads.configure(None, environ) == 3
    environ["OPENBLAS_NUM_THREADS"] = "2"  # the user's own change between the calls is theirs
    assert threads.configure(None, environ) == 2 and threads.for_tagging() == 2
    assert threads.configure(4, environ) == 4 and threads.for_tagging() == 4


def test_the_cores_are_those_this_process_may_run_on():
    expected = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    assert threads.cores() == expected >= 1


@pytest.mark.parametrize("command", ["eval", "predict"])
def test_tagging_commands_run_one_blas_thread_per_process(command):
    """predict and eval share their work between processes (winner.workers, winner.forked): the count the
    user gives is their processes, each with one BLAS thread, not that many threads in each of them (which
    spin-wait for one another's cores)."""
    assert probe("--threads", "2", command=COMMANDS[command]) == ([1] * len(blas_threads()), 2)
    counts, processes = probe(command=COMMANDS[command], OPENBLAS_NUM_THREADS="2")
    assert set(counts) == {1} and processes == 2
    counts, processes = probe(command=COMMANDS[command])
    assert set(counts) == {1} and processes == threads.cores()
    assert set(probe("--threads", "2", command=COMMANDS["train"])[0]) == {2}  # training keeps its threads
