"""Reliability: bad input gets one clear line, any text gets well-defined
output, and interruptions lose nothing.

1. Bad input through the command line: exit code 1, exactly one line on
   stderr naming the file and line or the config key, nothing on stdout, and
   the run directory or model directory involved byte-for-byte unchanged.
   Library-level checks of the same errors live in test_corpus, test_config
   and test_checkpoint; test_cli covers missing files and usage errors.
2. `winner predict` on awkward text (empty, blank, emoji, other scripts, a
   20,000-token line, Windows line endings), and property tests of the
   tokenizer and the tagger on any Unicode string.
3. Faults during training: divergence, Ctrl-C at any point (a real SIGINT,
   sent to this process or to a `python -m winner` subprocess), crashes in
   the middle of a save, and `--resume`, which must end with exactly the
   parameters of an uninterrupted run.

Everything runs from the repository root, as config data paths are relative.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings, strategies as st
from typer.testing import CliRunner

from helpers import snapshot
from winner import checkpoint, model, replacing, run, train
from winner.cli import app
from winner.corpus import read_conll, spans, split, tokenize
from winner.errors import WinnerError
from winner.tagger import Tagger, inline

pytestmark = pytest.mark.usefixtures("in_repo_root")
REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = "configs/default.yaml"
SAMPLE_TRAIN = "data/sample/train.txt"
SAMPLE_DEV = "data/sample/dev.txt"
SENTENCE = "Not all museums in Paris are amazing."
TIMING_KEYS = ("windows_per_s", "train_seconds", "seconds")


# --------------------------------------------------------------------------- helpers


def invoke(*args, input: str | None = None):
    """The typer app in-process (cwd must be the repository root)."""
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def winner(*args, input: bytes | None = None, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m winner ARGS` from the repository root, bytes in and out."""
    return subprocess.run([sys.executable, "-m", "winner", *map(str, args)], cwd=REPO, input=input,
                          stdin=None if input is not None else subprocess.DEVNULL, capture_output=True,
                          timeout=120, env=env)


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    with np.load(path, allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def read_rows(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def training_state(model_dir: Path) -> dict:
    return json.loads((model_dir / "training_state.json").read_text())


def assert_one_error_line(exit_code: int, stdout: str, stderr: str, fragment: str) -> str:
    assert exit_code == 1, stderr
    assert "Traceback" not in stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("error: ") and fragment in lines[0], (fragment, lines[0])
    assert stdout == ""
    return lines[0]


def train_in_process(run_dir: Path, *overrides: str, resume: bool = False) -> str:
    """run.run_training on configs/default.yaml, quietly; its one-line summary."""
    return run.run_training(DEFAULT_CONFIG, [f"output.run_dir={run_dir}", *overrides], log=lambda line: None,
                            resume=resume).summary


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def trained(in_repo_root, tmp_path_factory) -> Path:
    """A run directory of a 2-epoch run on the sample corpus (configs/default.yaml)."""
    run_dir = tmp_path_factory.mktemp("trained") / "run"
    result = invoke("train", DEFAULT_CONFIG, f"output.run_dir={run_dir}", "train.epochs=2")
    assert result.exit_code == 0, result.output
    return run_dir


@pytest.fixture
def marked_run(trained, tmp_path) -> Path:
    """An existing run directory (model-best, model-last, metrics.jsonl) with a marker file."""
    run_dir = tmp_path / "existing-run"
    shutil.copytree(trained, run_dir)
    (run_dir / "MARKER").write_text("keep me\n")
    return run_dir


# --------------------------------------------------------------------------- 1. bad input: train

LOC_CORPUS = "Paris B-LOC\nis O\nnice O\n\n"
ON_CORPUS = [DEFAULT_CONFIG, "data.train={tmp}/t.txt"]
ON_VECTORS = [DEFAULT_CONFIG, "features.vectors={tmp}/v.txt", "features.word_dim=3"]

# id -> (files to create in tmp, arguments after `train`, a fragment of the error line).
# {tmp} is the test's temporary directory and {run} the existing run directory.
TRAIN_CASES = {
    # config file
    "config-invalid-yaml": ({"c.yaml": "train:\n  lr: 0.1\n  epochs: [3\n"},
                            ["{tmp}/c.yaml"], "{tmp}/c.yaml:4: invalid YAML"),
    "config-unknown-key": ({"c.yaml": "model:\n  hiden: 10\n"},
                           ["{tmp}/c.yaml"], "{tmp}/c.yaml: unknown key 'model.hiden' (did you mean 'model.hidden'?)"),
    "config-unknown-section": ({"c.yaml": "trian:\n  lr: 0.1\n"},
                               ["{tmp}/c.yaml"], "unknown section 'trian' (did you mean 'train'?)"),
    "config-wrong-type": ({"c.yaml": "train:\n  epochs: ten\n"}, ["{tmp}/c.yaml"],
                          "{tmp}/c.yaml: train.epochs: expected an integer"),
    "config-wrong-type-list": ({"c.yaml": "model:\n  hidden: [100]\n"}, ["{tmp}/c.yaml"],
                               "model.hidden: expected an integer"),
    "config-zero-size-in-file": ({"c.yaml": "model:\n  hidden: 0\n"}, ["{tmp}/c.yaml"],
                                 "{tmp}/c.yaml: model.hidden: must be"),
    # out-of-range values (overrides are checked exactly as file values are, and named as the user wrote them)
    "zero-word-dim": ({}, [DEFAULT_CONFIG, "features.word_dim=0"],
                      "override 'features.word_dim=0': must be an integer >= 1"),
    "negative-hidden": ({}, [DEFAULT_CONFIG, "model.hidden=-5"], "override 'model.hidden=-5': must be an integer >= 1"),
    "zero-batch-size": ({}, [DEFAULT_CONFIG, "train.batch_size=0"], "override 'train.batch_size=0': must be"),
    "zero-epochs": ({}, [DEFAULT_CONFIG, "train.epochs=0"], "override 'train.epochs=0': must be"),
    "zero-k": ({}, [DEFAULT_CONFIG, "train.k=0"], "override 'train.k=0': must be"),
    "zero-learning-rate": ({}, [DEFAULT_CONFIG, "train.lr=0"], "override 'train.lr=0': must be a number > 0"),
    "negative-learning-rate": ({}, [DEFAULT_CONFIG, "train.lr=-0.1"], "override 'train.lr=-0.1': must be a number > 0"),
    "infinite-learning-rate": ({}, [DEFAULT_CONFIG, "train.lr=.inf"],
                               "override 'train.lr=.inf': must be a finite number"),
    "negative-window": ({}, [DEFAULT_CONFIG, "features.half_window=-1"], "override 'features.half_window=-1': must be"),
    # data paths
    "missing-dev-file": ({}, [DEFAULT_CONFIG, "data.dev={tmp}/none.txt"],
                         "override 'data.dev={tmp}/none.txt': file not found: {tmp}/none.txt"),
    "missing-vectors-file": ({}, [DEFAULT_CONFIG, "features.vectors={tmp}/none.txt"],
                             "override 'features.vectors={tmp}/none.txt': file not found"),
    "train-file-a-directory": ({}, [DEFAULT_CONFIG, "data.train={tmp}"],
                               "override 'data.train={tmp}': {tmp} is a directory; expected a file"),
    # overrides
    "override-unknown-section": ({}, [DEFAULT_CONFIG, "trian.lr=0.1"], "override 'trian.lr=0.1': unknown section 'trian'"),
    "override-unknown-key": ({}, [DEFAULT_CONFIG, "model.hiden=10"], "override 'model.hiden=10': unknown key 'model.hiden' (did you mean 'model.hidden'?)"),
    "override-unparsable-value": ({}, [DEFAULT_CONFIG, "train.lr=[0.1"], "override 'train.lr=[0.1': cannot parse"),
    "override-wrong-type": ({}, [DEFAULT_CONFIG, "train.epochs=abc"],
                            "override 'train.epochs=abc': expected an integer, got 'abc'"),
    "override-not-a-number": ({}, [DEFAULT_CONFIG, "train.lr=abc"],
                              "override 'train.lr=abc': expected a number, got 'abc'"),
    "override-empty-value": ({}, [DEFAULT_CONFIG, "train.lr="], "override 'train.lr=': expected a number, got null"),
    "override-bad-choice": ({}, [DEFAULT_CONFIG, "data.scheme=bio"],
                            "override 'data.scheme=bio': must be one of auto, iob1, iob2, iobes, got 'bio'"),
    "override-empty-key": ({}, [DEFAULT_CONFIG, "train.=3"], "override 'train.=3': expected section.key=value"),
    # training corpus
    "corpus-empty": ({"t.txt": ""}, ON_CORPUS, "{tmp}/t.txt: no sentences"),
    "corpus-blank-lines-only": ({"t.txt": "\n \n\t\n"}, ON_CORPUS, "{tmp}/t.txt: no sentences"),
    "corpus-binary": ({"t.txt": b"Paris B-LOC\n\x00\x01\x02 O\n"}, ON_CORPUS,
                      "{tmp}/t.txt:2: binary data"),
    "corpus-not-utf8": ({"t.txt": "Paris B-LOC\nZürich B-LOC\n".encode("latin-1")}, ON_CORPUS,
                        "{tmp}/t.txt:2: not valid UTF-8 (byte 0xfc)"),
    "corpus-one-column": ({"t.txt": "Paris B-LOC\nis\n"}, ON_CORPUS,
                          "{tmp}/t.txt:2: expected at least two columns"),
    "corpus-tag-B-dash": ({"t.txt": "Paris B-\n"}, ON_CORPUS, "{tmp}/t.txt:1: malformed tag 'B-'"),
    "corpus-tag-X-LOC": ({"t.txt": "In O\nParis X-LOC\n"}, ON_CORPUS,
                         "{tmp}/t.txt:2: malformed tag 'X-LOC'"),
    "corpus-not-iob2": ({"t.txt": "In O\nParis I-LOC\n"}, [*ON_CORPUS, "data.scheme=iob2"],
                        "{tmp}/t.txt:2: tag 'I-LOC' does not follow IOB2"),
    "corpus-not-iobes": ({"t.txt": "New B-LOC\nYork O\n"}, [*ON_CORPUS, "data.scheme=iobes"],
                         "{tmp}/t.txt:2: tag 'O' does not follow IOBES"),
    "corpus-iobes-tag-in-iob1": ({"t.txt": "Paris S-LOC\n"}, [*ON_CORPUS, "data.scheme=iob1"],
                                 "{tmp}/t.txt:1: tag 'S-LOC' does not follow IOB1"),
    "corpus-no-target-entities": ({"t.txt": "Rome B-PER\nis O\nold O\n"}, ON_CORPUS,
                                  "{tmp}/t.txt: no 'LOC' entities: training cannot learn the target type; "
                                  "the file's entity types: PER (1)"),
    "dev-corpus-no-target-entities": ({"d.txt": "In O\nRome B-location\n\nAda B-PER\nin O\nLa B-location\n"
                                                "Paz I-location\n"}, [DEFAULT_CONFIG, "data.dev={tmp}/d.txt"],
                                      "{tmp}/d.txt: no 'LOC' entities: dev cannot pick the threshold or the best "
                                      "epoch; the file's entity types: location (2), PER (1) (check data.target"),
    "dev-corpus-label-map-wrong-case": ({"d.txt": "In O\nRome B-location\n"},
                                        [DEFAULT_CONFIG, "data.dev={tmp}/d.txt", "data.label_map={{Location: LOC}}"],
                                        "{tmp}/d.txt: no 'LOC' entities: dev cannot pick the threshold"),
    "dev-corpus-malformed-tag": ({"d.txt": LOC_CORPUS + "Rome I_LOC\n"}, [DEFAULT_CONFIG, "data.dev={tmp}/d.txt"],
                                 "{tmp}/d.txt:5: malformed tag 'I_LOC'"),
    # vectors file (features.word_dim=3)
    "vectors-wrong-dimension-line": ({"v.txt": "paris 1 2 3\nrome 1 2\n"}, ON_VECTORS,
                                     "{tmp}/v.txt:2: expected a word and 3 numbers, got 2 values"),
    "vectors-not-a-number": ({"v.txt": "paris 1 2 3\nrome 1 x 3\n"}, ON_VECTORS,
                             "{tmp}/v.txt:2: 'x' is not a number"),
    "vectors-dimension-not-config": ({"v.txt": "paris 1 2 3 4\n"}, ON_VECTORS,
                                     "{tmp}/v.txt:1: the vectors have dimension 4, but features.word_dim is 3"),
    "vectors-header-not-config": ({"v.txt": "1 4\nparis 1 2 3 4\n"}, ON_VECTORS,
                                  "{tmp}/v.txt:1: the vectors have dimension 4, but features.word_dim is 3"),
}


@pytest.mark.parametrize("files, args, fragment", list(TRAIN_CASES.values()), ids=list(TRAIN_CASES))
def test_train_bad_input_is_one_line_and_leaves_the_run_alone(tmp_path, marked_run, files, args, fragment):
    for name, content in files.items():
        path = tmp_path / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    before = snapshot(marked_run)
    fill = {"tmp": tmp_path, "run": marked_run}
    # --overwrite gets past the refusal of a run directory that holds a run: bad input is still caught
    # before the old run is deleted.
    result = invoke("train", *(a.format(**fill) for a in args), f"output.run_dir={marked_run}", "--overwrite")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert_one_error_line(result.exit_code, result.stdout, result.stderr, fragment.format(**fill))
    assert snapshot(marked_run) == before


def test_train_bad_input_into_a_new_run_directory_creates_nothing(tmp_path):
    corpus = tmp_path / "t.txt"
    corpus.write_text("Rome B-PER\n")
    result = invoke("train", DEFAULT_CONFIG, f"data.train={corpus}", f"output.run_dir={tmp_path / 'new-run'}")
    assert result.exit_code == 1
    assert not (tmp_path / "new-run").exists()


# --------------------------------------------------------------------------- 1. bad input: a run directory in use


def _only_metrics(run_dir: Path) -> None:
    shutil.rmtree(run_dir / "model-best")
    shutil.rmtree(run_dir / "model-last")


def _model_best_moved_aside_by_a_crash(run_dir: Path) -> None:
    """What a crash between save()'s two renames leaves: the only model is aside, for recover()."""
    shutil.rmtree(run_dir / "model-last")
    (run_dir / "metrics.jsonl").unlink()
    os.replace(run_dir / "model-best", run_dir / ".model-best.old-99999")


@pytest.mark.parametrize("damage", [None, _only_metrics, _model_best_moved_aside_by_a_crash],
                         ids=["whole-run", "metrics-only", "model-moved-aside-by-a-crash"])
def test_train_into_a_run_directory_that_holds_a_run_is_refused_and_left_alone(trained, tmp_path, damage):
    run_dir = tmp_path / "run"
    shutil.copytree(trained, run_dir)
    if damage is not None:
        damage(run_dir)
    before = snapshot(run_dir)
    result = invoke("train", DEFAULT_CONFIG, f"output.run_dir={run_dir}", "train.epochs=1")
    line = assert_one_error_line(result.exit_code, result.stdout, result.stderr, f"{run_dir}: holds a training run")
    assert "--resume" in line and "--overwrite" in line
    assert snapshot(run_dir) == before


def test_overwrite_replaces_the_run_and_keeps_other_files(marked_run):
    before = read_rows(marked_run)
    result = invoke("train", DEFAULT_CONFIG, f"output.run_dir={marked_run}", "train.epochs=1", "model.hidden=20",
                    "--overwrite")
    assert result.exit_code == 0, result.output
    assert f"--overwrite: model-best, model-last, metrics.jsonl of the run in {marked_run} set aside" in result.stderr
    assert len(before) == 2 and [row["epoch"] for row in read_rows(marked_run)] == [1]
    assert not (marked_run / replacing.ASIDE).exists()  # deleted once the new run saved its model
    for name in ("model-best", "model-last"):
        loaded = checkpoint.load(marked_run / name)
        assert loaded.config.model.hidden == 20 and loaded.meta["epoch"] == 1
    assert (marked_run / "MARKER").read_text() == "keep me\n"


def test_an_overwrite_run_that_saves_no_model_puts_the_old_run_back(marked_run):
    """A new run that diverges at its first step has no model to show: the run it was to replace is
    back, file for file, rather than deleted for nothing."""
    before = snapshot(marked_run)
    result = invoke("train", DEFAULT_CONFIG, f"output.run_dir={marked_run}", "train.lr=1e9", "--overwrite")
    assert result.exit_code == 1 and "training diverged at epoch 1" in result.stderr.splitlines()[-1]
    assert f"{marked_run}: this run saved no model; the run it was to replace is back in place" in result.stderr
    assert snapshot(marked_run) == before


@pytest.mark.parametrize("new_model", [False, True])
def test_a_killed_overwrite_run_is_settled_by_the_next_run(marked_run, new_model):
    """A process killed between setting the old run aside and the end leaves .replaced: the next run in
    the directory puts the old run back when the killed one saved no model, and deletes it otherwise,
    before it looks at what the directory holds."""
    before = snapshot(marked_run)
    aside = marked_run / replacing.ASIDE
    aside.mkdir()
    for name in ("model-best", "model-last", "metrics.jsonl"):
        (marked_run / name).rename(aside / name)
    (marked_run / "metrics.jsonl").write_text("")  # the killed run's, with no epoch finished
    if new_model:
        shutil.copytree(aside / "model-last", marked_run / "model-last")
    result = invoke("train", DEFAULT_CONFIG, f"output.run_dir={marked_run}", "train.epochs=1")
    assert_one_error_line(result.exit_code, result.stdout, result.stderr, f"{marked_run}: holds a training run")
    assert not aside.exists()
    if new_model:
        assert sorted(p.name for p in marked_run.iterdir()) == ["MARKER", "metrics.jsonl", "model-last"]
    else:
        assert snapshot(marked_run) == before


def test_a_run_set_aside_in_part_is_put_back_whole(marked_run):
    """Stopped after model-best was moved and before model-last: the old model-last must not pass for a
    new run's model (which would delete the old model-best); the next run puts the part back."""
    before = snapshot(marked_run)
    (marked_run / replacing.MOVING).mkdir()
    (marked_run / "model-best").rename(marked_run / replacing.MOVING / "model-best")
    result = invoke("train", DEFAULT_CONFIG, f"output.run_dir={marked_run}", "train.epochs=1")
    assert_one_error_line(result.exit_code, result.stdout, result.stderr, f"{marked_run}: holds a training run")
    assert snapshot(marked_run) == before and not (marked_run / replacing.MOVING).exists()


def test_resume_and_overwrite_together_are_refused(marked_run):
    before = snapshot(marked_run)
    result = invoke("train", DEFAULT_CONFIG, f"output.run_dir={marked_run}", "train.epochs=3", "--resume",
                    "--overwrite")
    assert_one_error_line(result.exit_code, result.stdout, result.stderr, "--resume and --overwrite")
    assert snapshot(marked_run) == before


@pytest.mark.skipif(shutil.which("make") is None, reason="needs make")
def test_make_train_works_twice_in_a_fresh_copy(tmp_path):
    """The README's first command, run twice: the Makefile's own recipe, with this environment's winner."""
    copy = tmp_path / "clone"
    (copy / "data").mkdir(parents=True)
    shutil.copytree(REPO / "configs", copy / "configs")
    shutil.copytree(REPO / "data" / "sample", copy / "data" / "sample")
    shutil.copy(REPO / "Makefile", copy / "Makefile")
    # -o: take the environment as installed; BIN: this Python's scripts, where `winner` is.
    command = ["make", "--no-print-directory", "-o", ".venv/.installed-runtime", f"BIN={Path(sys.executable).parent}",
               "train"]
    for _ in range(2):
        proc = subprocess.run(command, cwd=copy, capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, proc.stderr
        assert "[LOC Paris]" in proc.stdout
    assert checkpoint.load(copy / "runs" / "default" / "model-best").target == "LOC"


# --------------------------------------------------------------------------- 1. bad input: resume


def _drop_training_state(run_dir: Path) -> None:
    (run_dir / "model-last" / "training_state.json").unlink()


def _model_best_as_model_last(run_dir: Path) -> None:
    shutil.rmtree(run_dir / "model-last")
    shutil.copytree(run_dir / "model-best", run_dir / "model-last")


def _truncate_optimizer(run_dir: Path) -> None:
    path = run_dir / "model-last" / "optimizer.npz"
    path.write_bytes(path.read_bytes()[:500])


def _unknown_state_version(run_dir: Path) -> None:
    path = run_dir / "model-last" / "training_state.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "format_version": 99}))


def _state_without_rng(run_dir: Path) -> None:
    path = run_dir / "model-last" / "training_state.json"
    state = json.loads(path.read_text())
    del state["rng"]
    path.write_text(json.dumps(state))


def _break_metrics(run_dir: Path) -> None:
    with open(run_dir / "metrics.jsonl", "a") as handle:
        handle.write("{not json\n")


def _swap_two_vocabulary_words(run_dir: Path) -> None:
    path = run_dir / "model-last" / "vocab.txt"
    words = path.read_text(encoding="utf-8").split("\n")
    words[3], words[4] = words[4], words[3]
    path.write_text("\n".join(words), encoding="utf-8")


# id -> (what to do to the existing run, overrides, a fragment of the error line); the run trained 2 epochs.
LAST = "{run}/model-last"
RESUME_CASES = {
    "no-model-last": (lambda run_dir: shutil.rmtree(run_dir / "model-last"), ["train.epochs=3"],
                      LAST + ": not found, nothing to resume"),
    "model-setting-differs": (None, ["train.epochs=3", "model.hidden=20"],
                              "model.hidden is 20, but {run}/model-last/config.yaml has 100"),
    "train-setting-differs": (None, ["train.epochs=3", "train.lr=0.1"],
                              "train.lr is 0.1, but {run}/model-last/config.yaml has 0.05"),
    "no-more-epochs": (None, ["train.epochs=2"], "train.epochs is 2, and {run}/model-last has trained 2 epochs"),
    "no-training-state": (_drop_training_state, ["train.epochs=3"], LAST + "/training_state.json: missing"),
    "model-best-is-not-resumable": (_model_best_as_model_last, ["train.epochs=3"], LAST + "/optimizer.npz: missing"),
    "truncated-optimizer-state": (_truncate_optimizer, ["train.epochs=3"],
                                  LAST + "/optimizer.npz: truncated or corrupted"),
    "unknown-state-version": (_unknown_state_version, ["train.epochs=3"],
                              LAST + "/training_state.json: training state format version 99"),
    "state-without-rng": (_state_without_rng, ["train.epochs=3"], LAST + "/training_state.json: 'rng' is missing"),
    "broken-metrics": (_break_metrics, ["train.epochs=3"], "{run}/metrics.jsonl:3: not a metrics row"),
    "training-data-changed": (_swap_two_vocabulary_words, ["train.epochs=3"], LAST + "/vocab.txt: differs from what"),
}


@pytest.mark.parametrize("damage, overrides, fragment", list(RESUME_CASES.values()), ids=list(RESUME_CASES))
def test_resume_refusal_is_one_line_and_leaves_the_run_alone(marked_run, damage, overrides, fragment):
    if damage is not None:
        damage(marked_run)
    before = snapshot(marked_run)
    result = invoke("train", DEFAULT_CONFIG, f"output.run_dir={marked_run}", *overrides, "--resume")
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert_one_error_line(result.exit_code, result.stdout, result.stderr, fragment.format(run=marked_run))
    assert snapshot(marked_run) == before


# --------------------------------------------------------------------------- 1. bad input: model directories


class UnpickleCanary:
    """Unpickling this object creates `marker`: proof that np.load ran pickle."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


def _weights(model_dir: Path) -> dict:
    return read_arrays(model_dir / "weights.npz")


def _object_arrays(model_dir: Path) -> None:
    canary = np.array([UnpickleCanary(model_dir.parent / "unpickled"), 1.0], dtype=object)
    np.savez(model_dir / "weights.npz", allow_pickle=True, **{**_weights(model_dir), "E_word": canary})


def _member_not_an_array(model_dir: Path) -> None:
    weights = _weights(model_dir)
    del weights["W"]
    np.savez(model_dir / "weights.npz", **weights)
    with zipfile.ZipFile(model_dir / "weights.npz", "a") as archive:
        archive.writestr("W", b"not an array")


def _wrong_shape(model_dir: Path) -> None:
    np.savez(model_dir / "weights.npz", **{**_weights(model_dir), "b": np.zeros(7, np.float32)})


def _edit_text(name: str, old: str, new: str):
    def edit(model_dir: Path) -> None:
        path = model_dir / name
        text = path.read_text(encoding="utf-8")
        assert old in text
        path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return edit


def _append(name: str, text: str):
    def append(model_dir: Path) -> None:
        with open(model_dir / name, "a", encoding="utf-8") as handle:
            handle.write(text)
    return append


def _truncate(name: str):
    def truncate(model_dir: Path) -> None:
        data = (model_dir / name).read_bytes()
        (model_dir / name).write_bytes(data[: len(data) // 2])
    return truncate


# id -> (command, what to do to a copy of a trained model-best, a fragment of the error line).
MODEL_CASES = {
    "not-a-directory": ("eval", lambda m: (shutil.rmtree(m), m.write_text("x")), "{model}: is a file, not a model"),
    "missing-weights": ("eval", lambda m: (m / "weights.npz").unlink(), "{model}/weights.npz: missing"),
    "missing-vocab": ("predict", lambda m: (m / "vocab.txt").unlink(), "{model}/vocab.txt: missing"),
    "missing-config": ("eval", lambda m: (m / "config.yaml").unlink(), "{model}/config.yaml: missing"),
    "missing-meta": ("predict", lambda m: (m / "meta.json").unlink(), "{model}/meta.json: missing"),
    "truncated-weights": ("eval", _truncate("weights.npz"), "{model}/weights.npz: truncated or corrupted"),
    "garbage-weights": ("predict", lambda m: (m / "weights.npz").write_bytes(bytes(range(256)) * 8),
                        "{model}/weights.npz: truncated or corrupted"),
    "object-arrays": ("predict", _object_arrays, "{model}/weights.npz: holds object arrays, which are never unpickled"),
    "member-not-an-array": ("eval", _member_not_an_array, "{model}/weights.npz: member 'W' is not an array"),
    "shape-disagrees-with-config": ("eval", _wrong_shape, "{model}/weights.npz: 'b' has shape (7,)"),
    "hidden-size-edited": ("predict", _edit_text("config.yaml", "hidden: 100", "hidden: 99"), "{model}/weights.npz: '"),
    "vocabulary-longer-than-table": ("eval", _append("vocab.txt", "extra\n"), "{model}/weights.npz: 'E_word' has shape"),
    "unknown-format-version": ("predict", _edit_text("meta.json", '"format_version": 2', '"format_version": 7'),
                               "{model}/meta.json: model format version 7 is not supported"),
    "truncated-meta": ("eval", _truncate("meta.json"), "{model}/meta.json: not valid JSON"),
    "config-unknown-key": ("predict", _edit_text("config.yaml", "hidden: 100", "hidden: 100\n  hiden: 3"),
                           "{model}/config.yaml: unknown key 'model.hiden'"),
    "vocab-not-utf8": ("predict", lambda m: (m / "vocab.txt").write_bytes(b"<unk>\n<s>\n</s>\nZ\xfcrich\n"),
                       "{model}/vocab.txt:4: not valid UTF-8 (byte 0xfc)"),
    "meta-not-utf8": ("eval", lambda m: (m / "meta.json").write_bytes(b'{"target": "\xff"}'),
                      "{model}/meta.json:1: not valid UTF-8 (byte 0xff)"),
}


@pytest.mark.parametrize("command, damage, fragment", list(MODEL_CASES.values()), ids=list(MODEL_CASES))
def test_bad_model_directory_is_one_line_and_left_alone(trained, tmp_path, command, damage, fragment):
    model_dir = tmp_path / "model"
    shutil.copytree(trained / "model-best", model_dir)
    damage(model_dir)
    before = model_dir.read_bytes() if model_dir.is_file() else snapshot(model_dir)
    if command == "eval":
        result = invoke("eval", model_dir, SAMPLE_DEV, "--format", "json")
    else:
        result = invoke("predict", "--model", model_dir, "--format", "json", SENTENCE)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert_one_error_line(result.exit_code, result.stdout, result.stderr, fragment.format(model=model_dir))
    assert (model_dir.read_bytes() if model_dir.is_file() else snapshot(model_dir)) == before
    assert not (tmp_path / "unpickled").exists()


@pytest.mark.parametrize("content, fragment", [
    ("Paris B-LOC\n".encode("utf-16"), ":1: binary data"),
    (b"Paris B-LOC\nSt\xe9 O\n", ":2: not valid UTF-8"),
    (b"Paris LOC\n", ":1: malformed tag 'LOC'"),
], ids=["utf16", "latin1", "tag-without-prefix"])
def test_eval_of_a_bad_data_file_is_one_line(trained, tmp_path, content, fragment):
    data = tmp_path / "gold.txt"
    data.write_bytes(content)
    before = snapshot(trained / "model-best")
    result = invoke("eval", trained / "model-best", data)
    assert_one_error_line(result.exit_code, result.stdout, result.stderr, f"{data}{fragment}")
    assert snapshot(trained / "model-best") == before


GOLD_AS_LOCATION = "In O\nRome B-location\n\nAda B-PER\nflew O\nto O\nLa B-location\nPaz I-location\n"


@pytest.mark.parametrize("options", [[], ["--label-map", "Location=LOC"], ["--errors", "3"], ["--format", "json"]],
                         ids=["no-label-map", "label-map-wrong-case", "errors", "json"])
def test_eval_of_a_file_without_a_target_entity_says_which_types_it_has(trained, tmp_path, options):
    data = tmp_path / "gold.txt"
    data.write_text(GOLD_AS_LOCATION)
    result = invoke("eval", trained / "model-best", data, *options)
    line = assert_one_error_line(result.exit_code, result.stdout, result.stderr, f"{data}: no 'LOC' entities")
    assert "location (2), PER (1)" in line and "--label-map" in line and "--allow-no-gold" in line
    assert invoke("eval", trained / "model-best", data, "--label-map", "location=LOC").exit_code == 0


def test_eval_scores_a_file_without_gold_entities_when_asked(trained, tmp_path):
    data = tmp_path / "gold.txt"
    data.write_text(GOLD_AS_LOCATION)
    result = invoke("eval", trained / "model-best", data, "--allow-no-gold", "--format", "json")
    assert result.exit_code == 0 and result.stderr == "", result.output
    scores = json.loads(result.stdout)
    assert scores["gold"] == 0 and scores["correct"] == 0 and scores["tokens"] == 7


# The real entry point, for a sample of the cases above: what reaches a terminal is exactly one line.
SUBPROCESS_CASES = ["config-invalid-yaml", "negative-learning-rate", "override-unparsable-value", "corpus-not-utf8",
                    "corpus-no-target-entities", "vectors-dimension-not-config"]


def test_bad_input_through_the_real_entry_point(tmp_path, marked_run):
    before = snapshot(marked_run)
    commands, fragments = [], []
    for case in SUBPROCESS_CASES:
        files, args, fragment = TRAIN_CASES[case]
        (tmp_path / case).mkdir()
        for name, content in files.items():
            (tmp_path / case / name).write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        commands.append(["train", *(a.format(tmp=tmp_path / case) for a in args), f"output.run_dir={marked_run}",
                         "--overwrite"])
        fragments.append(fragment.format(tmp=tmp_path / case))
    commands.append(["train", DEFAULT_CONFIG, f"output.run_dir={tmp_path / 'no-run'}", "--resume"])
    fragments.append(f"{tmp_path / 'no-run' / 'model-last'}: not found")
    model_dir = tmp_path / "model"
    shutil.copytree(marked_run / "model-best", model_dir)
    _object_arrays(model_dir)
    commands.append(["predict", "--model", model_dir, SENTENCE])
    fragments.append("holds object arrays")
    model_before = snapshot(model_dir)
    with ThreadPoolExecutor(max_workers=4) as pool:
        procs = list(pool.map(lambda args: winner(*args), commands))
    for proc, fragment in zip(procs, fragments):
        assert_one_error_line(proc.returncode, proc.stdout.decode(), proc.stderr.decode(), fragment)
    assert snapshot(marked_run) == before
    assert snapshot(model_dir) == model_before
    assert not (tmp_path / "unpickled").exists() and not (tmp_path / "no-run").exists()


# --------------------------------------------------------------------------- 2. predict on any text

LONG_LINE = " ".join((["Paris", "and", "Rome", "are", "far", "."] * 3334)[:20_000])
AWKWARD_LINES = [
    "",
    "   \t  ",
    "I ❤️ New York 🗽🇺🇸 and Paris !",
    "東京は日本の首都です。 Tokyo is big .",
    "Москва — столица России . Berlin too .",
    "مرحبا بكم في القاهرة Cairo",
    "नमस्ते दिल्ली Delhi",
    "Zürich\u00a0liegt in der Schweiz ,\u200b Genf auch .",
    "line\u2028separator and next\x85line in Lagos",
    LONG_LINE,
    "I flew from Berlin to Madrid .",
]


def _strip_marks(line: str) -> str:
    return line.replace("[LOC ", "").replace("]", "")


def test_predict_gives_one_well_formed_record_per_awkward_line(trained):
    assert len(split(LONG_LINE)) == 20_000
    stdin = "\r\n".join(AWKWARD_LINES).encode("utf-8") + b"\r\n"  # Windows line endings throughout
    model_dir = trained / "model-best"
    formats = ("json", "inline", "conll")
    with ThreadPoolExecutor(max_workers=3) as pool:
        outputs = pool.map(lambda fmt: winner("predict", "--model", model_dir, "--format", fmt, input=stdin), formats)
        procs = dict(zip(formats, outputs))
    for fmt, proc in procs.items():
        assert proc.returncode == 0 and proc.stderr == b"", (fmt, proc.stderr.decode())

    records = procs["json"].stdout.decode("utf-8").split("\n")
    assert records.pop() == ""
    assert len(records) == len(AWKWARD_LINES)
    for line, record in zip(AWKWARD_LINES, map(json.loads, records)):
        assert record["text"] == line
        for entity in record["entities"]:
            assert line[entity["start"]: entity["end"]] == entity["text"]
    assert any(e["text"] == "Paris" for e in json.loads(records[-2])["entities"])  # the long line is tagged

    inline = procs["inline"].stdout.decode("utf-8").split("\n")
    assert inline.pop() == ""
    assert [_strip_marks(line) for line in inline] == AWKWARD_LINES

    conll = procs["conll"].stdout.decode("utf-8").split("\n")
    assert conll.pop() == ""
    blocks, tokens = [], []
    for row in conll:
        if row:
            tokens.append(row.split("\t")[0])
        else:
            blocks.append(tokens)
            tokens = []
    assert blocks == [split(line) for line in AWKWARD_LINES]


@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("args, stdin, lines", [
    ([""], None, [""]),
    (["   \t "], None, ["   \t "]),
    ([], "\n  \n", ["", "  "]),
    (["-"], "Paris is big .\n\n \nI flew to Rome .\n", ["Paris is big .", "", " ", "I flew to Rome ."]),
], ids=["empty", "white-space", "stdin-blank-lines-only", "stdin-blank-lines-among-others"])
def test_explain_treats_lines_without_tokens_as_predict_does(trained, args, stdin, lines, fmt):
    model_dir = trained / "model-best"
    explained = invoke("explain", "--model", model_dir, "--all", "--format", fmt, *args, input=stdin)
    predicted = invoke("predict", "--model", model_dir, "--format", "json", *args, input=stdin)
    for result in (explained, predicted):
        assert result.exit_code == 0 and result.exception is None and result.stderr == "", result.output
    assert [json.loads(r)["text"] for r in predicted.stdout.splitlines()] == lines
    if fmt == "json":
        records = [json.loads(r) for r in explained.stdout.splitlines()]
        assert [r["text"] for r in records] == lines
        assert [len(r["tokens"]) for r in records] == [len(split(line)) for line in lines]
        assert [len(r["explanations"]) for r in records] == [len(split(line)) for line in lines]  # --all
    else:
        assert explained.stdout.count("no tokens") == sum(not split(line) for line in lines)


@pytest.fixture(scope="module")
def tagger(trained) -> Tagger:
    return Tagger(checkpoint.load(trained / "model-best"))


ANY_TEXT = st.text(st.characters(exclude_categories=()))  # lone surrogates too: stdin can hold them


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_split_and_spans_agree_with_tokenize(text):
    tokens = tokenize(text)
    assert split(text) == [token for token, _, _ in tokens]
    assert spans(text) == [(start, end) for _, start, end in tokens]


@settings(max_examples=200, deadline=None)
@given(ANY_TEXT)
def test_tagger_entities_slice_the_input_on_token_boundaries(tagger, text):
    [tagged] = tagger.tag_lines([text])
    bounds = spans(text)
    assert tagged.text == text and tagged.tokens == split(text) and len(tagged.scores) == len(bounds)
    previous_end = 0
    for entity in tagged.entities:
        assert previous_end <= entity.first_token < entity.end_token <= len(bounds)
        assert (entity.start, entity.end) == (bounds[entity.first_token][0], bounds[entity.end_token - 1][1])
        assert text[entity.start: entity.end] == entity.text
        previous_end = entity.end_token
    tags = tagged.tags()
    assert len(tags) == len(bounds)
    assert all(tag == "O" or tag.endswith("-LOC") for tag in tags)


@settings(max_examples=100, deadline=None)
@given(st.lists(ANY_TEXT, max_size=6))
def test_tagging_lines_together_keeps_each_line_apart(tagger, lines):
    together = tagger.tag_lines(lines)
    assert [t.text for t in together] == lines
    for line, tagged in zip(lines, together):
        [alone] = tagger.tag_lines([line])
        assert tagged.tokens == alone.tokens
        assert [(e.start, e.end) for e in tagged.entities] == [(e.start, e.end) for e in alone.entities]


PLACES_LINES = ["Paris", "Berlin", "I flew from Berlin to Madrid .", "", "  ", "Not all museums in Paris are amazing ."]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.sampled_from(PLACES_LINES) | ANY_TEXT, max_size=8))
@example(["Paris Paris", "Paris Paris", "", "", "Paris"])  # an entity ends where the next line's begins
@example(["", "Paris", ""])
def test_batch_outputs_are_the_line_by_line_outputs(tagger, lines):
    # conll() and inline() build a whole batch at once; the plain way goes line by line.
    batch = tagger.tag_batch(lines)
    by_line = batch.tagged_lines()
    plain_conll = "".join("".join(f"{t}\t{tag}\n" for t, tag in zip(line.tokens, line.tags())) + "\n"
                          for line in by_line)
    assert batch.conll() == plain_conll
    assert batch.inline() == "".join(inline(line) + "\n" for line in by_line)


def test_the_batch_test_sees_entities_on_neighbouring_lines(tagger):
    batch = tagger.tag_batch(["Paris Paris", "Paris Paris", "", "", "Paris"])
    assert batch.starts.tolist() == [0, 2, 4] and batch.ends.tolist() == [2, 4, 5]


# --------------------------------------------------------------------------- 3. divergence


# A blown-up loss, finite (no float overflows, on any CPU) or not: either is divergence.
@pytest.mark.parametrize("blown_loss", [1.0e7, float("nan")], ids=["finite-beyond-the-bound", "nan"])
def test_divergence_through_the_cli_names_the_learning_rate_and_keeps_model_best(tmp_path, monkeypatch,
                                                                                 steps_per_epoch, blown_loss):
    real = model.loss_and_grads
    calls = {"n": 0}
    blows_up_at = steps_per_epoch + 4  # step 4 of epoch 2

    def blows_up_in_epoch_two(*args, **kwargs):
        loss, grads, active = real(*args, **kwargs)
        calls["n"] += 1
        return (blown_loss if calls["n"] >= blows_up_at else loss), grads, active

    monkeypatch.setattr(model, "loss_and_grads", blows_up_in_epoch_two)
    run_dir = tmp_path / "run"
    result = invoke("train", DEFAULT_CONFIG, f"output.run_dir={run_dir}", "train.epochs=4", "model.hidden=20")
    assert result.exit_code == 1 and result.stdout == ""
    assert calls["n"] == blows_up_at  # checked per step: the step that blew up was the last
    last = result.stderr.splitlines()[-1]
    assert last.startswith("error: ") and "diverged at epoch 2" in last and "train.lr" in last
    assert f"{run_dir / 'model-best'} keeps epoch 1" in last
    assert checkpoint.load(run_dir / "model-best").meta["epoch"] == 1
    assert invoke("eval", run_dir / "model-best", SAMPLE_DEV, "--format", "json").exit_code == 0
    assert training_state(run_dir / "model-last")["epoch"] == 1  # a resume starts from the last good epoch
    assert read_rows(run_dir)[-1]["loss"] is None


@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning",
                            "ignore:invalid value encountered:RuntimeWarning")
def test_overflowing_parameters_count_as_divergence_and_save_no_model(tmp_path):
    """With a huge learning rate the parameters blow up in the first epoch. Whether the floats
    overflow to inf/nan on the way depends on the CPU and BLAS kernel (with OpenBLAS's SkylakeX
    kernel they stay near 1e30); the run counts as diverged either way."""
    run_dir = tmp_path / "run"
    result = invoke("train", DEFAULT_CONFIG, f"output.run_dir={run_dir}", "train.lr=1.0e+30", "train.epochs=3",
                    "model.hidden=20")
    assert result.exit_code == 1
    last = result.stderr.splitlines()[-1]
    assert "diverged at epoch 1" in last and "train.lr" in last and "no model was saved" in last
    assert not (run_dir / "model-best").exists() and not (run_dir / "model-last").exists()
    assert read_rows(run_dir)[0]["loss"] is None and read_rows(run_dir)[0]["threshold"] is None
    for line in (run_dir / "metrics.jsonl").read_text().splitlines():  # NaN and Infinity are not JSON
        json.loads(line, parse_constant=lambda name: pytest.fail(f"metrics.jsonl holds {name}"))


# --------------------------------------------------------------------------- 3. atomic writes


class Crash(BaseException):
    """Stands for the process dying at that instant."""


@pytest.fixture
def two_models(trained):
    """(params, featurizer, config) of model-best, and a second, different set of parameters."""
    loaded = checkpoint.load(trained / "model-best")
    other = {key: value + 1 for key, value in loaded.params.items()}
    return loaded, other


def test_a_crash_between_the_two_renames_is_repaired_by_the_next_save_or_run(two_models, tmp_path, monkeypatch):
    loaded, other = two_models
    directory = tmp_path / "model-best"
    checkpoint.save(directory, loaded.params, loaded.featurizer, loaded.config, {"target": "LOC", "threshold": 0.5})
    real_replace = os.replace

    def dies_before_the_new_model_is_renamed_in(src, dst):
        if Path(dst) == directory:
            raise Crash
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", dies_before_the_new_model_is_renamed_in)
    with pytest.raises(Crash):
        checkpoint.save(directory, other, loaded.featurizer, loaded.config, {"target": "LOC", "threshold": 0.25})
    monkeypatch.undo()
    assert not directory.exists()  # the window the swap leaves open
    with pytest.raises(WinnerError, match="model directory not found"):
        checkpoint.load(directory)

    checkpoint.recover(directory)  # what every training run does first
    restored = checkpoint.load(directory)
    assert restored.threshold == 0.5 and all(np.array_equal(restored.params[k], loaded.params[k]) for k in other)
    assert [p.name for p in tmp_path.iterdir()] == ["model-best"]


def test_a_save_after_a_crash_clears_what_the_crash_left(two_models, tmp_path):
    loaded, other = two_models
    directory = tmp_path / "model-last"
    checkpoint.save(directory, loaded.params, loaded.featurizer, loaded.config, {"target": "LOC", "threshold": 0.5})
    # what a killed process leaves: a half-written staging directory and a half-written metrics file
    staging = tmp_path / ".model-last.tmp-99999"
    staging.mkdir()
    (staging / "weights.npz").write_bytes(b"PK\x03\x04 half")
    (tmp_path / ".metrics.jsonl.tmp-99999").write_text('{"epoch": 1, "lo')
    assert checkpoint.load(directory).threshold == 0.5  # the model itself was never touched
    checkpoint.recover(tmp_path / "metrics.jsonl")
    checkpoint.save(directory, other, loaded.featurizer, loaded.config, {"target": "LOC", "threshold": 0.25})
    assert checkpoint.load(directory).threshold == 0.25
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model-last"]


@pytest.mark.parametrize("where", ["weights", "meta"])
def test_an_interrupted_save_leaves_the_old_model_and_no_staging(two_models, tmp_path, monkeypatch, where):
    loaded, other = two_models
    directory = tmp_path / "model-best"
    checkpoint.save(directory, loaded.params, loaded.featurizer, loaded.config, {"target": "LOC", "threshold": 0.5})
    before = snapshot(directory)
    if where == "weights":
        monkeypatch.setattr(np, "savez", lambda *args, **kwargs: (_ for _ in ()).throw(KeyboardInterrupt))
    else:
        real = checkpoint.write_atomic
        monkeypatch.setattr(checkpoint, "write_atomic", lambda path, text: (
            (_ for _ in ()).throw(KeyboardInterrupt) if path.name == "meta.json" else real(path, text)))
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save(directory, other, loaded.featurizer, loaded.config, {"target": "LOC", "threshold": 0.25})
    assert snapshot(directory) == before
    assert [p.name for p in tmp_path.iterdir()] == ["model-best"]


def test_an_interrupted_text_write_leaves_the_old_file_and_no_temporary(tmp_path, monkeypatch):
    path = tmp_path / "metrics.jsonl"
    checkpoint.write_atomic(path, '{"epoch": 1}\n')
    monkeypatch.setattr(os, "fsync", lambda fd: (_ for _ in ()).throw(KeyboardInterrupt))
    with pytest.raises(KeyboardInterrupt):
        checkpoint.write_atomic(path, '{"epoch": 1}\n{"epoch": 2}\n')
    monkeypatch.undo()
    assert path.read_text() == '{"epoch": 1}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["metrics.jsonl"]


# --------------------------------------------------------------------------- 3. Ctrl-C and --resume, in-process

SMALL = ("model.hidden=20",)  # a smaller network: the same code paths, faster
EPOCHS = 4


@pytest.fixture(scope="module")
def steps_per_epoch() -> int:
    positives = sum(tag.endswith("-LOC") for s in read_conll(REPO / SAMPLE_TRAIN) for tag in s.tags)
    return math.ceil(positives / 16)  # configs/default.yaml: batch_size 16


@pytest.fixture(scope="module")
def uninterrupted(in_repo_root, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("uninterrupted") / "run"
    train_in_process(run_dir, *SMALL, f"train.epochs={EPOCHS}")
    return run_dir


def assert_same_run(expected: Path, actual: Path) -> None:
    """Same parameters, optimizer state and metrics (timings aside), every array bit for bit."""
    for name in ("model-last/weights.npz", "model-last/optimizer.npz", "model-best/weights.npz"):
        want, got = read_arrays(expected / name), read_arrays(actual / name)
        assert want.keys() == got.keys(), name
        for key in want:
            assert want[key].dtype == got[key].dtype and want[key].shape == got[key].shape, (name, key)
            assert want[key].tobytes() == got[key].tobytes(), f"{name}: '{key}' differs"
    for name in ("model-last/meta.json", "model-best/meta.json", "model-last/training_state.json"):
        assert (expected / name).read_text() == (actual / name).read_text(), name
    strip = lambda rows: [{k: v for k, v in row.items() if k not in TIMING_KEYS} for row in rows]  # noqa: E731
    assert strip(read_rows(expected)) == strip(read_rows(actual))


def sigint_self() -> None:
    """A real Ctrl-C, delivered to this process before os.kill returns."""
    os.kill(os.getpid(), signal.SIGINT)


def arm(monkeypatch, where: str, steps: int) -> None:
    """Send SIGINT once, at `where` in the training run about to start."""
    fired = []

    def once() -> bool:
        if fired:
            return False
        fired.append(True)
        return True

    if where == "during-save-of-epoch-2":
        real_save = checkpoint.save

        def save(directory, params, featurizer, config, meta, **kwargs):
            if Path(directory).name == "model-last" and meta.get("epoch") == 2 and once():
                sigint_self()
            real_save(directory, params, featurizer, config, meta, **kwargs)
        monkeypatch.setattr(checkpoint, "save", save)
    elif where == "during-dev-scoring-of-epoch-2":
        real_evaluate, calls = train.evaluate, []

        def evaluate(*args, **kwargs):
            calls.append(1)
            if len(calls) == 2 and once():
                sigint_self()
            return real_evaluate(*args, **kwargs)
        monkeypatch.setattr(train, "evaluate", evaluate)
    else:  # "at-step-S-of-epoch-E"
        step, epoch = int(where.split("-")[2]), int(where.split("-")[-1])
        real_step, calls = model.loss_and_grads, []

        def loss_and_grads(*args, **kwargs):
            calls.append(1)
            if len(calls) == (epoch - 1) * steps + step and once():
                sigint_self()
            return real_step(*args, **kwargs)
        monkeypatch.setattr(model, "loss_and_grads", loss_and_grads)


@pytest.mark.parametrize("where, saved_at", [
    ("during-save-of-epoch-2", (2, 0)),
    ("during-dev-scoring-of-epoch-2", (2, 0)),
    ("at-step-10-of-epoch-3", (2, 10)),
    ("at-step-3-of-epoch-1", (0, 3)),
])
def test_interrupted_then_resumed_run_equals_the_uninterrupted_one(uninterrupted, steps_per_epoch, tmp_path,
                                                                   where, saved_at):
    run_dir = tmp_path / "run"
    handler = signal.getsignal(signal.SIGINT)
    with pytest.MonkeyPatch.context() as mp:
        arm(mp, where, steps_per_epoch)
        with pytest.raises(KeyboardInterrupt):
            train_in_process(run_dir, *SMALL, f"train.epochs={EPOCHS}")
    assert signal.getsignal(signal.SIGINT) is handler  # Ctrl-C is ours only while training runs
    state = training_state(run_dir / "model-last")
    assert (state["epoch"], state["step"]) == saved_at
    assert [row["epoch"] for row in read_rows(run_dir)] == list(range(1, saved_at[0] + 1))
    interrupted = checkpoint.load(run_dir / "model-last")  # loads, and evaluates
    assert interrupted.meta.get("interrupted", False) == bool(saved_at[1])
    assert invoke("eval", run_dir / "model-last", SAMPLE_DEV, "--format", "json").exit_code == 0

    summary = train_in_process(run_dir, *SMALL, f"train.epochs={EPOCHS}", resume=True)
    assert summary.startswith("best dev LOC F1")
    assert_same_run(uninterrupted, run_dir)


def test_a_run_interrupted_twice_and_lengthened_still_equals_the_uninterrupted_one(uninterrupted, steps_per_epoch,
                                                                                   tmp_path):
    run_dir = tmp_path / "run"
    with pytest.MonkeyPatch.context() as mp:
        arm(mp, "at-step-5-of-epoch-1", steps_per_epoch)
        with pytest.raises(KeyboardInterrupt):
            train_in_process(run_dir, *SMALL, "train.epochs=2")
    with pytest.MonkeyPatch.context() as mp:
        # counted from the resumed step: epoch 1 step 5 .. epoch 3 step 1
        arm(mp, f"at-step-{steps_per_epoch - 4}-of-epoch-2", steps_per_epoch)
        with pytest.raises(KeyboardInterrupt):
            train_in_process(run_dir, *SMALL, f"train.epochs={EPOCHS}", resume=True)
    assert (training_state(run_dir / "model-last")["epoch"], training_state(run_dir / "model-last")["step"]) == (2, 1)
    train_in_process(run_dir, *SMALL, f"train.epochs={EPOCHS}", resume=True)
    assert_same_run(uninterrupted, run_dir)


def test_sgd_run_resumes_too(tmp_path, in_repo_root):
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    train_in_process(reference, *SMALL, "train.optimizer=sgd", "train.epochs=2")
    train_in_process(resumed, *SMALL, "train.optimizer=sgd", "train.epochs=1")
    assert read_arrays(resumed / "model-last" / "optimizer.npz") == {}
    train_in_process(resumed, *SMALL, "train.optimizer=sgd", "train.epochs=2", resume=True)
    assert_same_run(reference, resumed)


# --------------------------------------------------------------------------- 3. Ctrl-C and kill, real subprocesses


def start_training(run_dir: Path, *overrides: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "winner", "train", DEFAULT_CONFIG, f"output.run_dir={run_dir}",
                             *overrides], cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def wait_for_first_epoch(proc: subprocess.Popen, run_dir: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not (run_dir / "metrics.jsonl").exists():
        assert proc.poll() is None, proc.communicate()[1]
        assert time.monotonic() < deadline, "no epoch finished in time"
        time.sleep(0.01)


def finish(proc: subprocess.Popen, timeout: float = 60) -> tuple[str, str]:
    try:
        return proc.communicate(timeout=timeout)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_ctrl_c_saves_model_last_exits_130_and_resume_finishes_the_run(tmp_path):
    run_dir = tmp_path / "run"
    proc = start_training(run_dir, "train.epochs=500", "train.patience=0")
    try:
        wait_for_first_epoch(proc, run_dir)
        time.sleep(0.05)  # most likely inside epoch 2 by now; an epoch boundary is fine too
        proc.send_signal(signal.SIGINT)
    finally:
        _, stderr = finish(proc)
    assert proc.returncode == 130, stderr
    assert f"saved {run_dir / 'model-last'} and {run_dir / 'metrics.jsonl'}" in stderr
    assert "Traceback" not in stderr
    evaluated = winner("eval", run_dir / "model-last", SAMPLE_DEV, "--format", "json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert 0 <= json.loads(evaluated.stdout)["f1"] <= 1

    state = training_state(run_dir / "model-last")
    epochs = state["epoch"] + 1
    resumed = winner("train", DEFAULT_CONFIG, f"output.run_dir={run_dir}", "train.patience=0",
                     f"train.epochs={epochs}", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert b"resuming" in resumed.stderr
    assert [row["epoch"] for row in read_rows(run_dir)] == list(range(1, epochs + 1))

    reference = tmp_path / "reference"
    train_in_process(reference, "train.patience=0", f"train.epochs={epochs}")
    assert_same_run(reference, run_dir)


def test_a_killed_run_leaves_models_that_load_and_can_be_resumed(tmp_path):
    """SIGKILL runs no handler at all: whatever instant it lands, no model directory is half-written."""
    run_dir = tmp_path / "run"
    proc = start_training(run_dir, *SMALL, "train.epochs=500", "train.patience=0")
    try:
        wait_for_first_epoch(proc, run_dir)
        time.sleep(0.2)
        proc.kill()
    finally:
        finish(proc)
    for name in ("model-best", "model-last"):
        if (run_dir / name).exists():  # absent only if the kill fell between a save's two renames
            checkpoint.load(run_dir / name)
    epochs = len(read_rows(run_dir)) + 1  # metrics.jsonl is written before model-last, so never behind it
    resumed = winner("train", DEFAULT_CONFIG, f"output.run_dir={run_dir}", *SMALL, "train.patience=0",
                     f"train.epochs={epochs}", "--resume")
    assert resumed.returncode == 0, resumed.stderr
    assert not [p.name for p in run_dir.iterdir() if p.name.startswith(".")]
