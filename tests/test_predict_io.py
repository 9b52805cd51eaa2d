"""`winner predict` beside other tools: tokenized CoNLL input scored by seqeval as `winner eval`
scores it, files read only with --input, and stdin answered line by line (a real pty and a slow pipe).

The equality with `winner eval` is checked on the sample dev set and, when
data/conll2003/ is linked, on CoNLL-2003 dev with a short model trained on
CoNLL-2003 train; both models use document consistency, so the per-document
scoring is part of what must agree.
"""

from __future__ import annotations

import json
import os
import pty
import select
import subprocess
import sys
import time
from pathlib import Path

import pytest
from seqeval.metrics import accuracy_score
from seqeval.metrics.sequence_labeling import get_entities
from typer.testing import CliRunner

from winner.cli import app

pytestmark = pytest.mark.usefixtures("in_repo_root")
REPO = Path(__file__).resolve().parents[1]
SAMPLE_DEV = REPO / "data/sample/dev.txt"
CONLL_TRAIN = REPO / "data/conll2003/train.txt"
CONLL_DEV = REPO / "data/conll2003/dev.txt"
SENTENCE = "Not all museums in Paris are amazing."
WAIT = 60.0  # seconds: generous, only so that a broken build fails instead of hanging


def invoke(*args, input=None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def winner_command(*args) -> list[str]:
    return [sys.executable, "-m", "winner", *map(str, args)]


@pytest.fixture(scope="module")
def model(in_repo_root, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("predict-io") / "run"
    result = invoke("train", "configs/default.yaml", f"output.run_dir={run_dir}", "train.epochs=6",
                    "decode.document_consistency=0.3")
    assert result.exit_code == 0, result.output
    return run_dir / "model-best"


# --------------------------------------------------------------------------- CoNLL in, conlleval-ready out


def sentence_columns(conll_text: str) -> list[tuple[list[str], list[str]]]:
    """(gold tags, predicted tags) of each sentence: the second-to-last column and the last."""
    sentences, gold, guessed = [], [], []
    for line in conll_text.splitlines() + [""]:
        columns = line.split()
        if columns and columns[0] != "-DOCSTART-":
            gold.append(columns[-2])
            guessed.append(columns[-1])
        elif gold:
            sentences.append((gold, guessed))
            gold, guessed = [], []
    return sentences


def seqeval_counts(conll_text: str, types: set) -> dict:
    """gold / predicted / correct entities of the given types, gold the second-to-last column and the
    prediction the last, read by seqeval's default mode (conlleval's rules), one sentence at a time."""
    gold = predicted = correct = 0
    for g, p in sentence_columns(conll_text):
        g_set = {e for e in get_entities(g) if e[0] in types}
        p_set = {e for e in get_entities(p) if e[0] in types}
        gold, predicted, correct = gold + len(g_set), predicted + len(p_set), correct + len(g_set & p_set)
    return {"gold": gold, "predicted": predicted, "correct": correct}


def seqeval_accuracy(conll_text: str, types: set) -> float:
    """conlleval's token accuracy (seqeval's accuracy_score: the share of tokens whose whole tag is
    right) of the last column against the second-to-last, the gold tags first written in IOB2 from
    the entities seqeval finds in them, those of types not in `types` as O."""
    gold, predicted = [], []
    for sentence, guessed in sentence_columns(conll_text):
        iob2 = ["O"] * len(sentence)
        for kind, start, end in get_entities(sentence):  # end inclusive
            if kind in types:
                iob2[start: end + 1] = [f"B-{kind}"] + [f"I-{kind}"] * (end - start)
        gold += iob2
        predicted += guessed
    return accuracy_score([gold], [predicted])


def assert_predict_conll_counts_equal_eval(model_dir: Path, dev: Path) -> dict:
    proc = subprocess.run(winner_command("predict", "--model", model_dir, "--input-format", "conll", "--input", dev),
                          cwd=REPO, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    original = dev.read_text(encoding="utf-8").splitlines()
    out = proc.stdout.splitlines()
    assert len(out) == len(original)
    for before, after in zip(original, out):  # every line kept, one column added to each non-blank line
        assert after.split()[:-1] == before.split() if before.strip() else after == ""
    evaluated = subprocess.run(winner_command("eval", model_dir, dev, "--format", "json"), cwd=REPO,
                               capture_output=True, text=True, stdin=subprocess.DEVNULL)
    assert evaluated.returncode == 0, evaluated.stderr
    expected = json.loads(evaluated.stdout)
    counts = seqeval_counts(proc.stdout, set(expected["types"]))  # eval counts every type of the model
    assert counts == {k: expected[k] for k in ("gold", "predicted", "correct")}
    assert seqeval_accuracy(proc.stdout, set(expected["types"])) == pytest.approx(expected["token_accuracy"], abs=1e-12)
    return counts


def test_predict_conll_scored_by_seqeval_equals_eval_on_the_sample_dev_set(model):
    counts = assert_predict_conll_counts_equal_eval(model, SAMPLE_DEV)
    assert counts["predicted"] > 0 and counts["correct"] > 0


def test_predict_conll_of_a_softmax_model_of_every_type_equals_eval(tmp_path):
    """Every type's entities, labelled by the model's decision rule (winner.decode), counted alike."""
    run_dir = tmp_path / "types"
    result = invoke("train", "configs/default.yaml", f"output.run_dir={run_dir}", "train.objective=softmax",
                    "data.types=all", "train.epochs=3", "decode.document_consistency=0.3")
    assert result.exit_code == 0, result.output
    counts = assert_predict_conll_counts_equal_eval(run_dir / "model-best", SAMPLE_DEV)
    assert counts["predicted"] > 0


@pytest.mark.slow
@pytest.mark.skipif(not (CONLL_TRAIN.is_file() and CONLL_DEV.is_file()),
                    reason="CoNLL-2003 not linked at data/conll2003/{train,dev}.txt")
def test_predict_conll_scored_by_seqeval_equals_eval_on_conll2003_dev(tmp_path):
    run_dir = tmp_path / "conll"
    trained = subprocess.run(winner_command(
        "train", "configs/conll2003.yaml", "features.vectors=null", "features.gazetteer=null", "train.epochs=1",
        "decode.document_consistency=0.25", f"output.run_dir={run_dir}"), cwd=REPO, capture_output=True, text=True)
    assert trained.returncode == 0, trained.stderr
    counts = assert_predict_conll_counts_equal_eval(run_dir / "model-best", CONLL_DEV)
    assert counts["gold"] > 1000


def test_conll_input_keeps_tokens_and_columns_and_adds_the_tag(model, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("-DOCSTART- -X- O\n\nMr.\tNNP\tO\nP.\tNNP\tO\nvisited\tVBD\tO\nParis\tNNP\tB-LOC\n\n"
                      "Acme\nInc.\n1.\n37-run\n", encoding="utf-8")
    result = invoke("predict", "--model", model, "--input-format", "conll", "-i", source)
    assert result.exit_code == 0, result.output
    lines = result.stdout.split("\n")
    assert lines[0] == "-DOCSTART- -X- O O" and lines[1] == ""
    assert [line.rsplit("\t", 1)[0] for line in lines[2:6]] == ["Mr.\tNNP\tO", "P.\tNNP\tO", "visited\tVBD\tO",
                                                                 "Paris\tNNP\tB-LOC"]
    assert lines[5].endswith("\tB-LOC")  # tabs where the line has tabs
    assert [line.rsplit(" ", 1)[0] for line in lines[7:11]] == ["Acme", "Inc.", "1.", "37-run"]
    assert all(line.rsplit(" ", 1)[1] in ("O", "B-LOC", "I-LOC") for line in lines[7:11])
    assert lines[11:] == [""]


def test_conll_on_stdin_gives_what_the_file_gives(model):
    from_file = invoke("predict", "--model", model, "--input-format", "conll", "--input", SAMPLE_DEV)
    from_stdin = invoke("predict", "--model", model, "--input-format", "conll",
                        input=SAMPLE_DEV.read_text(encoding="utf-8"))
    assert from_file.exit_code == 0 and from_stdin.exit_code == 0, from_stdin.output
    assert from_stdin.stdout == from_file.stdout


@pytest.mark.parametrize("content, line, message", [
    (b"Paris B-LOC\n\nNew York B-LOC\nis\tO\n", 3, "no tab in this line, but the file separates its columns "
                                                  "with tabs (line 4): is 'New York' one token? Separate the "
                                                  "columns with tabs"),
    ("Par\u2028is B-LOC\n".encode("utf-8"), 1, "U+2028 inside the line: winner ends lines only at \\n, and "
                                             "other tools would end one here; remove it or use a space"),
    (b"Paris O\n\nRome\x00 B-LOC\n", 3, "binary data (NUL byte), expected "),
    (b"Paris O\ncaf\xe9 O\n", 2, "not valid UTF-8 (byte 0xe9)"),
], ids=["tabs-disagree", "u2028", "nul", "not-utf8"])
def test_conll_input_follows_the_readers_line_rules_as_eval_does(model, tmp_path, content, line, message):
    """A line `winner eval` refuses, predict refuses with the same line number, from a file or from stdin
    (named <stdin>), instead of tagging a token other tools would read otherwise."""
    source = tmp_path / "input.conll"
    source.write_bytes(content)
    evaluated = invoke("eval", model, source)
    from_file = invoke("predict", "--model", model, "--input-format", "conll", "--input", source)
    from_stdin = run_winner("predict", "--model", model, "--input-format", "conll", stdin=content)
    for result, name in ((evaluated, source), (from_file, source), (from_stdin, "<stdin>")):
        assert result.exit_code == 1 and result.stderr.count("\n") == 1, result.stderr
        assert result.stderr.startswith(f"error: {name}:{line}: {message}"), result.stderr


def test_text_input_file_gives_what_stdin_gives(model, tmp_path):
    text = f"{SENTENCE}\r\nI flew from Berlin to Madrid .\n\nno line end"
    source = tmp_path / "notes.txt"
    source.write_bytes(text.encode("utf-8"))
    from_file = invoke("predict", "--model", model, "--format", "json", "--input", source)
    from_stdin = invoke("predict", "--model", model, "--format", "json", input=text)
    assert from_file.exit_code == 0, from_file.output
    assert from_file.stdout == from_stdin.stdout
    assert [json.loads(line)["text"] for line in from_file.stdout.splitlines()] == [
        SENTENCE, "I flew from Berlin to Madrid .", "", "no line end"]


# --------------------------------------------------------------------------- a file is never tagged as text


def run_winner(*args, cwd=REPO, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    """winner in a subprocess (its real stdin: the bytes given, else none); .exit_code as CliRunner names it."""
    proc = subprocess.run(winner_command(*args), cwd=cwd, capture_output=True, input=stdin,
                          stdin=subprocess.DEVNULL if stdin is None else None)
    proc.stdout, proc.stderr = proc.stdout.decode("utf-8"), proc.stderr.decode("utf-8")
    proc.exit_code = proc.returncode
    return proc


@pytest.mark.parametrize("args, fragment", [
    (["{file}"], "is a file; to tag its lines use --input"),
    (["Paris", "--input", "{file}"], "give TEXT or --input"),
    (["--input-format", "conll", "--format", "json", "--input", "{file}"], "--format json is not available"),
    (["--input", "{missing}"], "input file not found"),
    (["--input-format", "conll", "--input", "{missing}"], "CoNLL file not found"),
], ids=["file-as-text", "text-and-input", "conll-with-json", "missing-input", "missing-conll"])
def test_predict_input_errors_are_one_line(model, tmp_path, args, fragment):
    notes = tmp_path / "notes.txt"
    notes.write_text("I live in Paris.\n", encoding="utf-8")
    filled = [a.format(file=notes, missing=tmp_path / "missing.txt") for a in args]
    proc = run_winner("predict", "--model", model, *filled)
    assert proc.returncode == 1 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and fragment in lines[0], proc.stderr


def test_explain_refuses_a_file_name_as_text_too(model, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("I live in Paris.\n", encoding="utf-8")
    proc = run_winner("explain", "--model", model, notes)
    assert proc.returncode == 1 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and "is a file; to explain its lines give them on stdin" in lines[0], proc.stderr


# --------------------------------------------------------------------------- streaming


def read_until(fd: int, seen: bytearray, records: int, end: bytes = b"\n") -> bytes:
    """Read from fd into `seen` until it holds `records` ends of records (or WAIT seconds pass)."""
    deadline = time.monotonic() + WAIT
    while seen.count(end) < records and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            break
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        seen += chunk
    return bytes(seen)


def test_a_line_typed_at_a_terminal_is_answered_before_the_next_is_typed(model):
    """stdin is a pty, as when typing: each line's answer must come while the input is still open."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(winner_command("predict", "--model", model), cwd=REPO, stdin=follower,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    os.close(follower)
    try:
        out = bytearray()
        os.write(leader, f"{SENTENCE}\n".encode())
        first = read_until(proc.stdout.fileno(), out, 1)
        assert first == b"Not all museums in [LOC Paris] are amazing.\n", "no answer before the next line"
        os.write(leader, b"I flew to Madrid .\n")
        second = read_until(proc.stdout.fileno(), out, 2)
        assert second.count(b"\n") == 2 and b"Madrid" in second, "the second line was not answered"
        os.write(leader, b"\x04")  # Ctrl-D: end of input
        proc.communicate(timeout=WAIT)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(leader)


@pytest.mark.parametrize("fmt", ["inline", "json", "conll"])
def test_a_slow_pipe_is_answered_line_by_line(model, fmt):
    """As `tail -f log | winner predict`: the pipe stays open, and each line's record comes out."""
    proc = subprocess.Popen(winner_command("predict", "--model", model, "--format", fmt), cwd=REPO,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    end = b"\n\n" if fmt == "conll" else b"\n"  # a CoNLL record ends with a blank line
    try:
        out = bytearray()
        for number, sentence in enumerate([SENTENCE, "I flew to Madrid ."], start=1):
            proc.stdin.write(f"{sentence}\n".encode())
            proc.stdin.flush()
            got = read_until(proc.stdout.fileno(), out, number, end)
            assert got.count(end) == number, f"line {number} not answered while the pipe stayed open"
        proc.stdin.close()
        proc.wait(timeout=WAIT)
        assert proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_conll_on_a_slow_pipe_is_answered_per_sentence(tmp_path, model):
    """Without document consistency, a CoNLL sentence is answered when its blank line arrives."""
    run_dir = tmp_path / "run"
    trained = invoke("train", "configs/default.yaml", f"output.run_dir={run_dir}", "train.epochs=2")
    assert trained.exit_code == 0, trained.output
    proc = subprocess.Popen(winner_command("predict", "--model", run_dir / "model-best", "--input-format", "conll"),
                            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        proc.stdin.write(b"I O\nlive O\nin O\nParis B-LOC\n\n")
        proc.stdin.flush()
        got = read_until(proc.stdout.fileno(), bytearray(), 1, b"\n\n")
        assert got.startswith(b"I O ") and got.endswith(b"\n\n"), "the sentence was not answered"
        proc.stdin.close()
        proc.wait(timeout=WAIT)
    finally:
        if proc.poll() is None:
            proc.kill()
