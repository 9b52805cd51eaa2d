"""winner.forked: work shared out between forked processes gives what one process gives, and a child
that fails has its part done by the parent."""

from __future__ import annotations

import os
import threading

import numpy as np
import pytest

from winner import forked

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")


@pytest.fixture(autouse=True)
def forking(monkeypatch):
    """Fork even if an earlier test left a thread asleep (tqdm's monitor, after a training)."""
    monkeypatch.setattr(forked, "available", lambda: True)


def squares(first: int, last: int, out: np.ndarray) -> None:
    out[:] = (np.arange(first, last, dtype=np.float64) ** 2)[:, None] * np.array([1.0, -1.0])


@pytest.mark.parametrize("processes", [1, 2, 3])
def test_every_part_lands_in_its_rows(processes):
    out = np.full((1001, 2), np.nan)
    forked.share(squares, out, processes)
    expected = np.empty_like(out)
    squares(0, len(out), expected)
    assert np.array_equal(out, expected)


def test_the_children_do_their_parts():
    """The parts past the first are worked out in other processes (the pid each part was done in)."""
    out = np.zeros(9, np.int64)
    forked.share(lambda first, last, part: part.fill(os.getpid()), out, 3)
    assert out[0] == os.getpid() and len(set(out.tolist())) == 3


def test_a_failing_child_loses_nothing():
    parent = os.getpid()

    def fails_in_a_child(first: int, last: int, out: np.ndarray) -> None:
        if os.getpid() != parent:
            raise RuntimeError("child")
        squares(first, last, out)

    out = np.full((100, 2), np.nan)
    forked.share(fails_in_a_child, out, 2)
    expected = np.empty_like(out)
    squares(0, 100, expected)
    assert np.array_equal(out, expected)


def test_no_rows():
    out = np.zeros((0, 2))
    forked.share(squares, out, 2)
    assert out.shape == (0, 2)


def test_another_thread_running_keeps_the_work_in_one_process(monkeypatch):
    """A fork would copy the locks the other thread holds: the parent does every part itself."""
    monkeypatch.undo()  # the module's own check
    release = threading.Event()
    other = threading.Thread(target=release.wait)
    other.start()
    try:
        assert not forked.available()
        out = np.zeros(9, np.int64)
        forked.share(lambda first, last, part: part.fill(os.getpid()), out, 3)
        assert set(out.tolist()) == {os.getpid()}
    finally:
        release.set()
        other.join()
