"""Fixtures shared by the test files."""

from pathlib import Path

import pytest

from winner import threads

REPO = Path(__file__).resolve().parents[1]

# One BLAS thread count for the whole session, in this process and in every `python -m winner` it
# starts: the count the CLI would choose (a count set in the environment, else 1: winner.threads).
# numpy reads it once, when it loads (after this file, as the test modules import it). The CLI run
# in-process sets it too, but too late for this process, and subprocesses would otherwise inherit
# its setting or not depending on the order the tests ran in.
threads.configure()


@pytest.fixture(scope="module")
def in_repo_root():
    """Run a module's tests from the repository root: configs name their data relative to it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO)
        yield


@pytest.fixture(scope="session")
def dask_client():
    """A dask.distributed Client of a LocalCluster with 2 worker processes of one thread, shared by the
    tests of many-file predict and sweep (starting one takes seconds). Skipped without the dask extra."""
    import logging

    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0",
                                  silence_logs=logging.ERROR) as cluster, distributed.Client(cluster) as client:
        yield client
