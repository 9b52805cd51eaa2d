"""End-to-end tests of the `winner` command line: train, eval and predict.

Most tests drive the typer app in-process with CliRunner against one small
model trained once per module (configs/default.yaml, 8 epochs). The error-path
and end-to-end tests run the real entry point (`python -m winner`) as a
subprocess, because only there do usage errors go through `winner.cli.main`.
The CoNLL-2003 smoke test is marked slow and skips when the data is absent.

Config files name their data paths relative to the working directory, so every
command runs from the repository root.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from helpers import snapshot
from winner.cli import app

pytestmark = pytest.mark.usefixtures("in_repo_root")
REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = "configs/default.yaml"
CONLL_CONFIG = "configs/conll2003.yaml"
SAMPLE_DEV = "data/sample/dev.txt"
CONLL_TRAIN = REPO / "data/conll2003/train.txt"
CONLL_DEV = REPO / "data/conll2003/dev.txt"

SENTENCE = "Not all museums in Paris are amazing."
SENTENCE_TOKENS = ["Not", "all", "museums", "in", "Paris", "are", "amazing", "."]
MODEL_FILES = ("weights.npz", "vocab.txt", "config.yaml", "meta.json")
METRICS_KEYS = {"epoch", "loss", "dev_precision", "dev_recall", "dev_f1", "threshold", "windows_per_s", "seconds"}
EVAL_KEYS = {"precision", "recall", "f1", "gold", "predicted", "correct"}
FIXTURE_EPOCHS = 8


# --------------------------------------------------------------------------- helpers


def invoke(*args, input: str | None = None):
    """Run the typer app in-process (cwd must be the repository root)."""
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


def winner(*args) -> subprocess.CompletedProcess:
    """Run `python -m winner ARGS` from the repository root, stdin closed."""
    return subprocess.run([sys.executable, "-m", "winner", *map(str, args)], cwd=REPO,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True)


def read_metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]


def read_meta(model_dir: Path) -> dict:
    return json.loads((model_dir / "meta.json").read_text())


def read_weights(model_dir: Path) -> dict[str, np.ndarray]:
    with np.load(model_dir / "weights.npz", allow_pickle=False) as archive:
        return {key: archive[key] for key in archive.files}


def strip_marks(line: str, target: str = "LOC") -> str:
    """Inline output without its [TARGET ...] marks: the input line again."""
    return line.replace(f"[{target} ", "").replace("]", "")


def train_sample(run_dir: Path, *overrides: str):
    """Train configs/default.yaml into run_dir in-process; asserts success."""
    result = invoke("train", DEFAULT_CONFIG, f"output.run_dir={run_dir}", *overrides)
    assert result.exit_code == 0, result.output
    return result


# --------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def trained_run(in_repo_root, tmp_path_factory) -> Path:
    """One short training run on the sample corpus, shared by the module."""
    run_dir = tmp_path_factory.mktemp("trained") / "run"
    result = train_sample(run_dir, f"train.epochs={FIXTURE_EPOCHS}")
    assert "best dev LOC F1" in result.stdout
    return run_dir


@pytest.fixture(scope="module")
def model_best(trained_run) -> Path:
    return trained_run / "model-best"


@pytest.fixture
def marked_run_dir(tmp_path) -> Path:
    """An existing run directory holding a marker file, which errors must leave alone."""
    run_dir = tmp_path / "existing-run"
    run_dir.mkdir()
    (run_dir / "MARKER").write_text("keep me\n")
    return run_dir


# --------------------------------------------------------------------------- 1. train


def test_train_writes_best_and_last_model_directories(trained_run):
    for name in ("model-best", "model-last"):
        for file in MODEL_FILES:
            assert (trained_run / name / file).is_file(), f"{name}/{file} missing"


def test_train_writes_one_metrics_row_per_epoch(trained_run):
    rows = read_metrics(trained_run)
    assert rows, "metrics.jsonl is empty"
    for row in rows:
        assert METRICS_KEYS <= set(row), f"missing {METRICS_KEYS - set(row)}"
    # patience (8) cannot stop an 8-epoch run early, so every epoch has its row
    assert [row["epoch"] for row in rows] == list(range(1, FIXTURE_EPOCHS + 1))


def test_model_best_records_the_best_dev_f1(trained_run):
    best_f1 = max(row["dev_f1"] for row in read_metrics(trained_run))
    assert read_meta(trained_run / "model-best")["dev"]["f1"] == pytest.approx(best_f1, abs=1e-6)


# --------------------------------------------------------------------------- 2. eval


def test_eval_json_reproduces_the_recorded_dev_scores(model_best):
    result = invoke("eval", model_best, SAMPLE_DEV, "--format", "json")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    scores = json.loads(lines[0])
    assert EVAL_KEYS <= set(scores)
    recorded = read_meta(model_best)["dev"]
    assert scores["f1"] == pytest.approx(recorded["f1"], abs=1e-6)
    assert {k: scores[k] for k in ("gold", "predicted", "correct")} == \
           {k: recorded[k] for k in ("gold", "predicted", "correct")}


def test_eval_text_report_shows_scores_and_counts(model_best):
    scores = json.loads(invoke("eval", model_best, SAMPLE_DEV, "--format", "json").stdout)
    result = invoke("eval", model_best, SAMPLE_DEV)
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert f"with {scores['gold']} phrases" in text
    assert f"found: {scores['predicted']} phrases; correct: {scores['correct']}" in text
    assert f"precision: {100 * scores['precision']:6.2f}%" in text
    assert f"recall: {100 * scores['recall']:6.2f}%" in text
    assert f"FB1: {100 * scores['f1']:6.2f}" in text


def test_eval_label_map_renames_corpus_types(model_best, tmp_path):
    renamed = tmp_path / "dev-location.txt"
    lines = (REPO / SAMPLE_DEV).read_text(encoding="utf-8").splitlines(keepends=True)
    renamed.write_text("".join(line.replace("-LOC", "-location") for line in lines), encoding="utf-8")
    assert "-LOC" not in renamed.read_text(encoding="utf-8")

    original = json.loads(invoke("eval", model_best, SAMPLE_DEV, "--format", "json").stdout)
    assert invoke("eval", model_best, renamed, "--format", "json").exit_code == 1  # no LOC entity: an error
    unmapped = json.loads(invoke("eval", model_best, renamed, "--format", "json", "--allow-no-gold").stdout)
    result = invoke("eval", model_best, renamed, "--format", "json", "--label-map", "location=LOC")
    assert result.exit_code == 0, result.output
    mapped = json.loads(result.stdout)

    assert unmapped["gold"] == 0  # without the map the corpus has no LOC entities
    assert {k: mapped[k] for k in EVAL_KEYS} == {k: original[k] for k in EVAL_KEYS}


def test_eval_unknown_scheme_is_one_line_naming_the_choices(model_best):
    result = invoke("eval", model_best, SAMPLE_DEV, "--scheme", "bio")
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == "error: --scheme 'bio': expected auto, iob1, iob2 or iobes\n"


# --------------------------------------------------------------------------- 3. predict


def test_predict_inline_marks_only_paris(model_best):
    result = invoke("predict", "--model", model_best, SENTENCE)
    assert result.exit_code == 0, result.output
    assert result.stdout == "Not all museums in [LOC Paris] are amazing.\n"
    assert result.stdout.count("[") == 1


def test_predict_json_gives_paris_with_offsets_and_score(model_best):
    result = invoke("predict", "--model", model_best, "--format", "json", SENTENCE)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["text"] == SENTENCE
    [entity] = record["entities"]
    assert entity["text"] == "Paris"
    assert SENTENCE[entity["start"]: entity["end"]] == "Paris"
    assert isinstance(entity["score"], (int, float)) and not isinstance(entity["score"], bool)


def test_predict_conll_gives_one_tagged_line_per_token(model_best):
    result = invoke("predict", "--model", model_best, "--format", "conll", SENTENCE)
    assert result.exit_code == 0, result.output
    rows = [line.split("\t") for line in result.stdout.splitlines() if line]
    assert all(len(row) == 2 for row in rows), rows
    assert [token for token, _ in rows] == SENTENCE_TOKENS
    tags = dict(rows)
    assert tags["Paris"] == "B-LOC"
    assert {tag for token, tag in rows if token != "Paris"} == {"O"}


STDIN_LINES = [SENTENCE, "", "I flew from Berlin to Madrid .", "nothing here"]


@pytest.mark.parametrize("text_args", [[], ["-"]], ids=["text-omitted", "text-dash"])
def test_predict_stdin_json_gives_one_object_per_line_in_order(model_best, text_args):
    result = invoke("predict", "--model", model_best, "--format", "json", *text_args,
                    input="\n".join(STDIN_LINES) + "\n")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in records] == STDIN_LINES
    assert records[1]["entities"] == []
    assert [e["text"] for e in records[0]["entities"]] == ["Paris"]


@pytest.mark.parametrize("text_args", [[], ["-"]], ids=["text-omitted", "text-dash"])
def test_predict_stdin_inline_gives_one_line_per_input_line(model_best, text_args):
    result = invoke("predict", "--model", model_best, *text_args, input="\n".join(STDIN_LINES) + "\n")
    assert result.exit_code == 0, result.output
    out = result.stdout.split("\n")
    assert out[-1] == ""  # every record ends with a newline
    assert [strip_marks(line) for line in out[:-1]] == STDIN_LINES
    assert out[1] == ""


# predict tags stdin in batches of 4096 lines; a batch that is one empty line
# (and nothing else) must still give one empty record.
@pytest.mark.parametrize("args, stdin, expected_records", [
    ([""], None, 1),
    (["-"], "\n", 1),
    ([], "\n\n\n", 3),
    ([], "I live in Paris .\n" * 4096 + "\n", 4097),  # the last batch holds only the empty line
], ids=["empty-text-argument", "stdin-one-empty-line", "stdin-three-empty-lines", "stdin-empty-last-batch"])
def test_predict_batch_of_empty_lines_gives_empty_records(model_best, args, stdin, expected_records):
    result = invoke("predict", "--model", model_best, "--format", "json", *args, input=stdin)
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code == 0
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) == expected_records
    assert records[-1] == {"text": "", "entities": []}


# --------------------------------------------------------------------------- 4. reproducibility


def test_same_seed_gives_bit_identical_weights(in_repo_root, tmp_path):
    for name in ("a", "b"):
        train_sample(tmp_path / name, "train.epochs=2", "train.seed=7")
    first, second = (read_weights(tmp_path / name / "model-last") for name in ("a", "b"))
    assert first.keys() == second.keys()
    for key in first:
        assert first[key].dtype == second[key].dtype and first[key].shape == second[key].shape, key
        assert first[key].tobytes() == second[key].tobytes(), f"{key} differs between identical runs"


def test_different_seed_gives_different_weights(in_repo_root, tmp_path):
    train_sample(tmp_path / "seed7", "train.epochs=2", "train.seed=7")
    train_sample(tmp_path / "seed8", "train.epochs=2", "train.seed=8")
    first, second = (read_weights(tmp_path / name / "model-last") for name in ("seed7", "seed8"))
    assert any(not np.array_equal(first[key], second[key]) for key in first)


# --------------------------------------------------------------------------- 5. error paths


def write_config_with_missing_data(tmp_path: Path) -> Path:
    config = tmp_path / "missing-data.yaml"
    config.write_text(f"data:\n  train: {tmp_path / 'no-such-dir' / 'train.txt'}\n  dev: {REPO / SAMPLE_DEV}\n")
    return config


# Each case: (arguments, with {run} the existing run directory and {config} a config
# naming a data file that does not exist; a fragment the error line must contain).
ERROR_CASES = {
    "missing-config": (["train", "configs/no-such-config.yaml", "output.run_dir={run}"], "no-such-config.yaml"),
    "unknown-key": (["train", DEFAULT_CONFIG, "train.lrr=0.1", "output.run_dir={run}"], "override 'train.lrr=0.1': unknown key 'train.lrr' (did you mean 'train.lr'?)"),
    "override-without-equals": (["train", DEFAULT_CONFIG, "train.lr", "output.run_dir={run}"], "train.lr"),
    "missing-data-file": (["train", "{config}", "output.run_dir={run}"], "data.train"),
    "eval-missing-model": (["eval", "{run}/model-best", SAMPLE_DEV], "model directory not found"),
    "predict-missing-model": (["predict", "--model", "{run}/model-best", SENTENCE], "model directory not found"),
    "train-missing-config-argument": (["train"], "Missing argument"),
    "eval-missing-data-argument": (["eval", "{run}/model-best"], "Missing argument"),
    "eval-bad-format": (["eval", "{run}/model-best", SAMPLE_DEV, "--format", "xml"], "--format"),
    "predict-bad-format": (["predict", "--model", "{run}/model-best", "--format", "xml", SENTENCE], "--format"),
}


@pytest.mark.parametrize("args, fragment", list(ERROR_CASES.values()), ids=list(ERROR_CASES))
def test_error_is_one_line_exit_1_and_leaves_run_dir_alone(tmp_path, marked_run_dir, args, fragment):
    config = write_config_with_missing_data(tmp_path)
    before = snapshot(marked_run_dir)
    proc = winner(*(a.format(run=marked_run_dir, config=config) for a in args))

    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), proc.stderr
    assert fragment in lines[0]
    assert proc.stdout == ""
    assert snapshot(marked_run_dir) == before


# --------------------------------------------------------------------------- 6. end to end


def test_train_eval_predict_end_to_end_as_subprocesses(tmp_path):
    run_dir = tmp_path / "run"
    trained = winner("train", DEFAULT_CONFIG, f"output.run_dir={run_dir}")
    assert trained.returncode == 0, trained.stderr

    evaluated = winner("eval", run_dir / "model-best", SAMPLE_DEV, "--format", "json")
    assert evaluated.returncode == 0, evaluated.stderr
    assert EVAL_KEYS <= set(json.loads(evaluated.stdout))

    predicted = winner("predict", "--model", run_dir / "model-best", SENTENCE)
    assert predicted.returncode == 0, predicted.stderr
    assert "[LOC Paris]" in predicted.stdout


# --------------------------------------------------------------------------- 7. CoNLL-2003


@pytest.mark.slow
@pytest.mark.skipif(not (CONLL_TRAIN.is_file() and CONLL_DEV.is_file()),
                    reason="CoNLL-2003 not linked at data/conll2003/{train,dev}.txt")
def test_conll2003_short_run_reaches_loc_f1_080(tmp_path):
    run_dir = tmp_path / "conll"
    proc = winner("train", CONLL_CONFIG, "features.vectors=null", "features.suffix_dim=0", "features.gazetteer=null",
                  "features.train_gazetteer=false", "decode.document_consistency=0", "model.hidden=100",
                  "train.epochs=3", f"output.run_dir={run_dir}")
    assert proc.returncode == 0, proc.stderr
    best_f1 = max(row["dev_f1"] for row in read_metrics(run_dir))
    assert best_f1 >= 0.80
