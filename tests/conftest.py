"""Fixtures shared by the test files."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def in_repo_root():
    """Run a module's tests from the repository root: configs name their data relative to it."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO)
        yield
