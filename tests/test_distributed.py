"""winner/distributed.py, the one module that imports Dask: the local cluster it starts (one thread a
worker, one BLAS thread, without Dask's MALLOC_TRIM_THRESHOLD_), and tasks' outcomes (a WinnerError
returned as its line, a bug as its type and message, a result as it is)."""

from __future__ import annotations

import os

import pytest

from winner import distributed
from winner.errors import WinnerError

pytest.importorskip("distributed")


def _environ() -> dict:
    return {name: os.environ.get(name) for name in ("MALLOC_TRIM_THRESHOLD_", "OPENBLAS_NUM_THREADS")}


def test_a_local_cluster_of_single_threaded_workers_without_the_trim_threshold():
    with distributed.client("test", workers=1) as client:
        info = client.scheduler_info()["workers"]
        assert [w["nthreads"] for w in info.values()] == [1]
        assert list(client.run(_environ).values()) == [{"MALLOC_TRIM_THRESHOLD_": None, "OPENBLAS_NUM_THREADS": "1"}]


def _square(x: int) -> int:
    return x * x


def _user_error(path: str) -> None:
    raise WinnerError(f"{path}:3: expected at least two columns")


def _bug() -> None:
    raise ValueError("a bug\nover two lines")


def test_outcomes_carry_results_and_one_line_errors(dask_client):
    calls = [("square", _square, (3,)), ("user", _user_error, ("data.txt",)), ("bug", _bug, ()), ("square", _square, (4,))]
    outcomes = sorted(distributed.run(dask_client, calls), key=lambda o: o.index)
    assert outcomes == [distributed.Outcome(0, result=9), distributed.Outcome(1, error="data.txt:3: expected at least two columns"),
                        distributed.Outcome(2, error="ValueError: a bug over two lines"), distributed.Outcome(3, result=16)]


def test_workers_must_be_positive():
    with pytest.raises(WinnerError, match=r"^--workers 0: expected 1 or more$"):
        with distributed.client("test", workers=0):
            pass
