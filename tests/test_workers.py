"""winner.workers: large input shared out between forked processes, its output in the input's order.

A stand-in tagger writes each line with the id of the process that tagged
it, so that the tests see who did what; `winner predict` itself is checked
to write the same bytes with one process and with several.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from winner import workers
from winner.errors import WinnerError
from winner.workers import PIECE, tag_in_turn

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
REPO = Path(__file__).resolve().parents[1]
FULL = 8  # a batch of 8 lines or more is bulk input here


def tag(batch: list[str]) -> str:
    return "".join(f"{os.getpid()} {line}\n" for line in batch)


def run(batches: list[list[str]], workers_: int, tagger=tag) -> list[tuple[int, str]]:
    """(process id, line) of every output line."""
    out = "".join(tag_in_turn(iter(batches), tagger, workers_, FULL))
    return [(int(pid), line) for pid, line in (row.split(" ", 1) for row in out.splitlines())]


def lines(first: int, count: int) -> list[str]:
    return [f"line {i}" for i in range(first, first + count)]


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def small_pieces(monkeypatch):
    monkeypatch.setattr(workers, "PIECE", 3)


def test_bulk_input_is_shared_out_and_written_in_order(small_pieces):
    batches = [lines(0, 8), lines(8, 10), lines(18, 2), lines(20, 9)]  # the third is not full
    tagged = run(batches, 3)
    assert [line for _, line in tagged] == lines(0, 29)
    pids = {pid for pid, _ in tagged}
    assert os.getpid() in pids and len(pids) == 3  # the parent and two children
    assert {pid for pid, line in tagged if line in lines(18, 2)} == {os.getpid()}  # the short batch, at once
    assert all(gone(pid) for pid in pids - {os.getpid()})  # the children have ended and been waited for


def test_input_that_never_fills_a_batch_stays_in_one_process():
    tagged = run([lines(0, 7), lines(7, 1)], 2)
    assert [line for _, line in tagged] == lines(0, 8)
    assert {pid for pid, _ in tagged} == {os.getpid()}


def test_one_worker_forks_nothing(small_pieces):
    assert {pid for pid, _ in run([lines(0, 30)], 1)} == {os.getpid()}


def test_a_childs_failure_is_an_error_in_the_parent(small_pieces):
    parent = os.getpid()

    def failing(batch):
        if os.getpid() != parent:
            raise ValueError("no tagging here")
        return tag(batch)

    with pytest.raises(WinnerError, match="a tagging process failed: ValueError: no tagging here"):
        run([lines(0, 20)], 2, failing)


def test_stopping_early_ends_the_children(small_pieces):
    output = tag_in_turn(iter([lines(0, 30), lines(30, 30)]), tag, 2, FULL)
    first = next(output)
    output.close()  # as when the reader of the output goes away
    child = int(first.split(" ", 1)[0])
    assert child != os.getpid() and gone(child)


def test_any_result_marshal_takes_comes_back_in_order(small_pieces):
    """A caller may want more than text per piece: (output, tokens tagged), say."""
    results = list(tag_in_turn(iter([lines(0, 20)]), lambda piece: (os.getpid(), len(piece), piece[-1]), 2, FULL))
    assert [(count, last) for _, count, last in results] == [(3, f"line {i}") for i in range(2, 18, 3)] + [(2, "line 19")]
    assert len({pid for pid, _, _ in results}) == 2


def test_pieces_are_whole_lines_of_the_batch():
    assert PIECE > FULL  # the module's own piece size: a batch is cut only when large
    tagged = run([lines(0, PIECE + 5)], 2)
    assert [line for _, line in tagged] == lines(0, PIECE + 5)
    by_process = [pid for pid, _ in tagged]
    assert by_process[:PIECE] == [by_process[0]] * PIECE and by_process[0] != os.getpid()
    assert set(by_process[PIECE:]) == {os.getpid()}


def test_predict_writes_the_same_bytes_with_one_process_and_with_two(tmp_path):
    """The sample model, and more than one full batch of lines, so that `winner predict` forks."""
    run_dir = tmp_path / "run"
    train = subprocess.run([sys.executable, "-m", "winner", "train", "configs/default.yaml", "train.epochs=2",
                            f"output.run_dir={run_dir}"], cwd=REPO, capture_output=True, text=True)
    assert train.returncode == 0, train.stderr
    text = (REPO / "data/sample/dev.txt").read_text(encoding="utf-8")
    sentences = [" ".join(row.split()[0] for row in block.splitlines()) for block in text.split("\n\n") if block.strip()]
    source = tmp_path / "input.txt"
    source.write_text("\n".join((sentences * (9000 // len(sentences) + 1))[:9000]) + "\n", encoding="utf-8")
    outputs = {}
    for count in ("1", "2"):
        for fmt in ("conll", "json"):
            with open(source, "rb") as stdin:
                result = subprocess.run([sys.executable, "-m", "winner", "--threads", count, "predict", "--model",
                                         run_dir / "model-best", "--format", fmt], cwd=REPO, stdin=stdin,
                                        capture_output=True, env={**os.environ, "WINNER_THREADS": count})
            assert result.returncode == 0, result.stderr
            outputs[count, fmt] = result.stdout
    assert outputs["1", "conll"] == outputs["2", "conll"] and outputs["1", "json"] == outputs["2", "json"]
    assert outputs["1", "conll"].count(b"\n\n") == 9000
