"""The Python API (winner.load / Model / evaluate / train_model) and the README's example of it.

One model is trained once for the module through the API itself; every
answer the API gives is checked against what the CLI gives for the same
input, since the two must be one path.
"""

from __future__ import annotations

import doctest
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

import winner
from helpers import error_message
from winner.cli import app

pytestmark = pytest.mark.usefixtures("in_repo_root")
REPO = Path(__file__).resolve().parents[1]
SAMPLE_DEV = "data/sample/dev.txt"
SENTENCE = "Not all museums in Paris are amazing."


def invoke(*args, input=None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


@pytest.fixture(scope="module")
def run(in_repo_root, tmp_path_factory):
    """A run trained from a dict config with overrides, through the API."""
    run_dir = tmp_path_factory.mktemp("api") / "run"
    config = {"data": {"train": "data/sample/train.txt", "dev": SAMPLE_DEV}, "train": {"epochs": 8}}
    return winner.train_model(config, {"output.run_dir": str(run_dir), "decode.document_consistency": 0.3},
                              log=lambda line: None)


@pytest.fixture(scope="module")
def nlp(run):
    return winner.load(run.best_dir)


# --------------------------------------------------------------------------- train_model


def test_train_model_returns_the_run_as_data(run):
    rows = [json.loads(line) for line in (run.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert run.rows == rows
    assert run.best == max(rows, key=lambda row: (row["dev_f1"], -row["epoch"]))
    assert run.best_dir == run.run_dir / "model-best" and run.last_dir == run.run_dir / "model-last"
    assert json.loads((run.best_dir / "meta.json").read_text())["epoch"] == run.best["epoch"]
    assert run.summary.startswith(f"best dev LOC F1 {run.best['dev_f1']:.4f}")


def test_train_model_takes_string_overrides_and_a_config_path(tmp_path):
    result = winner.train_model(REPO / "configs/default.yaml", ["train.epochs=1", f"output.run_dir={tmp_path}"],
                                log=lambda line: None)
    assert [row["epoch"] for row in result.rows] == [1]


@pytest.mark.parametrize("config, overrides, fragment", [
    ({"train": {"lrr": 0.1}}, {}, "did you mean 'train.lr'"),
    ({}, {"train.epochs": "many"}, "override 'train.epochs': expected an integer, got 'many'"),
    ({}, {"trainepochs": 3}, "section.key"),
    ("configs/no-such.yaml", {}, "no-such.yaml"),
], ids=["unknown-key", "bad-override-value", "override-without-section", "missing-file"])
def test_train_model_errors_are_winner_errors_not_exits(tmp_path, config, overrides, fragment):
    message = error_message(winner.train_model, config, {**overrides, "output.run_dir": str(tmp_path / "r")},
                            log=lambda line: None)
    assert fragment in message
    assert not (tmp_path / "r").exists()


# --------------------------------------------------------------------------- load and tag


def test_tag_gives_what_predict_json_gives(nlp, run):
    lines = [SENTENCE, "She flew from Lagos to Cape Town .", "", "nothing here"]
    cli = invoke("predict", "--model", run.best_dir, "--format", "json", input="\n".join(lines) + "\n")
    assert cli.exit_code == 0, cli.output
    expected = [json.loads(line) for line in cli.stdout.splitlines()]
    assert [doc.as_dict() for doc in nlp.pipe(lines)] == expected
    assert nlp.tag(lines[1]).as_dict() == expected[1]
    assert nlp(lines[1]).as_dict() == expected[1]


def test_entities_have_text_offsets_label_score_and_tokens(nlp):
    doc = nlp(SENTENCE)
    [paris] = doc.entities
    assert (paris.text, paris.start, paris.end, paris.label) == ("Paris", 19, 24, "LOC")
    assert SENTENCE[paris.start: paris.end] == "Paris"
    assert doc.tokens[paris.token_start: paris.token_end] == ["Paris"]
    assert paris.score > nlp.threshold
    assert paris.score == pytest.approx(doc.scores[paris.token_start]["LOC"])
    assert doc.tags == ["O", "O", "O", "O", "B-LOC", "O", "O", "O"]


def test_token_lists_are_kept_as_they_are(nlp):
    tokens = ["Mr.", "P.", "Smith", "of", "Acme", "Inc.", "moved", "to", "Paris", "in", "1.", "37-run"]
    doc = nlp(tokens)
    assert doc.tokens == tokens
    assert doc.text == " ".join(tokens)
    assert len(doc.tags) == len(doc.scores) == len(tokens)
    for e in doc.entities:
        assert doc.text[e.start: e.end] == " ".join(tokens[e.token_start: e.token_end]) == e.text


# Scores of the same window at another row of the matrix product may differ in the last bits
# (the BLAS kernel's blocking), so scores are compared to float32 precision; tags exactly.
def scores_of(doc) -> list[float]:
    return [score for token in doc.scores for score in token.values()]


def test_token_lists_score_as_the_same_tokens_in_raw_text(nlp):
    """A token list that the tokenizer would cut the same way gets the same scores."""
    [from_text, from_tokens] = nlp.pipe([SENTENCE, ["Not", "all", "museums", "in", "Paris", "are", "amazing", "."]])
    assert from_text.tokens == from_tokens.tokens
    assert scores_of(from_text) == pytest.approx(scores_of(from_tokens), rel=1e-5, abs=1e-5)
    assert from_text.tags == from_tokens.tags


def test_pipe_batches_give_what_one_batch_gives(nlp):
    texts = [SENTENCE, ["Berlin", "and", "Madrid"], "", "I flew to Rome .", []] * 3
    together = list(nlp.pipe(texts))
    in_twos = list(nlp.pipe(iter(texts), batch_size=2))
    assert [d.tags for d in together] == [d.tags for d in in_twos]
    assert [[(e.text, e.start, e.end, e.label) for e in d.entities] for d in together] == \
           [[(e.text, e.start, e.end, e.label) for e in d.entities] for d in in_twos]
    assert [scores_of(d) for d in together] == [pytest.approx(scores_of(d), rel=1e-5, abs=1e-5) for d in in_twos]
    assert together[4].tokens == [] and together[4].entities == []


@pytest.mark.parametrize("bad", [3, None, ["Paris", 3], [["nested"]]], ids=["int", "none", "mixed-list", "nested"])
def test_tag_refuses_what_is_not_text_with_a_winner_error(nlp, bad):
    assert "expected a string or a list of token strings" in error_message(nlp.tag, bad)


def test_an_error_names_the_index_of_the_text_among_all_piped(nlp):
    assert error_message(lambda: list(nlp.pipe(["a", "b", "c", 7], batch_size=2))).startswith("text 3:")


def test_pipe_refuses_a_single_string(nlp):
    assert "tag(text)" in error_message(lambda: list(nlp.pipe(SENTENCE)))


@pytest.mark.parametrize("size", [0, -3, 2.5, True])
def test_pipe_refuses_a_batch_size_that_is_not_a_count(nlp, size):
    assert error_message(lambda: list(nlp.pipe([SENTENCE], batch_size=size))) == \
        f"batch_size {size!r}: expected a whole number of texts, 1 or more"


@pytest.mark.parametrize("tokens, index", [(["", "Paris"], 0), (["in", "Paris", " "], 2)])
def test_a_token_list_with_an_empty_token_is_refused(nlp, tokens, index):
    """An empty token would have no span in the text the Doc reports."""
    assert error_message(nlp.pipe([["ok"], tokens]).__next__) == \
        f"text 1: token {index} is empty or white space only"


def test_overrides_given_as_one_string_are_refused(tmp_path):
    """A string is a sequence of its characters: 't' would be the first override."""
    for train in (winner.train_model, winner.train_ensemble):
        assert error_message(train, "configs/default.yaml", overrides="train.lr=0.1") == (
            "overrides 'train.lr=0.1': expected a list of 'section.key=value' strings or a mapping "
            "(put the one override in a list)")


def test_evaluate_refuses_a_label_map_that_is_not_a_mapping(nlp):
    assert error_message(nlp.evaluate, SAMPLE_DEV, label_map="location=LOC") == (
        "label_map 'location=LOC': expected a mapping of the file's types to the model's, such as "
        "{'location': 'LOC'}")


def test_load_errors_are_winner_errors(tmp_path, run):
    assert "model directory not found" in error_message(winner.load, tmp_path / "nothing")
    (tmp_path / "notes.txt").write_text("x\n", encoding="utf-8")
    assert error_message(winner.load, tmp_path / "notes.txt") == \
        f"{tmp_path / 'notes.txt'}: is a file, not a model directory (a run's model-best/, say)"
    assert error_message(winner.load, run.run_dir) == \
        f"{run.run_dir}: a training run, not a model directory; give its {run.run_dir / 'model-best'}"


# --------------------------------------------------------------------------- evaluate


def test_evaluate_equals_eval_json(run, nlp):
    cli = invoke("eval", run.best_dir, SAMPLE_DEV, "--format", "json")
    assert cli.exit_code == 0, cli.output
    expected = json.loads(cli.stdout)
    assert winner.evaluate(run.best_dir, SAMPLE_DEV).as_dict() == expected
    result = nlp.evaluate(SAMPLE_DEV)
    assert result.as_dict() == expected
    assert result.scores.f1 == expected["f1"] and result.scores.correct == expected["correct"]
    assert invoke("eval", run.best_dir, SAMPLE_DEV).stdout == result.report()


def test_evaluate_errors_are_winner_errors(nlp, tmp_path):
    assert "no-such.txt" in error_message(nlp.evaluate, tmp_path / "no-such.txt")
    assert "expected auto, iob1, iob2 or iobes" in error_message(nlp.evaluate, SAMPLE_DEV, scheme="bio")


# --------------------------------------------------------------------------- the package's face


def test_import_winner_loads_no_numpy_and_help_shows_the_api():
    code = ("import sys, pydoc, winner; assert 'numpy' not in sys.modules, 'numpy imported'; "
            "print(pydoc.render_doc(winner, renderer=pydoc.plaintext))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    for name in ("load(path)", "class Model", "class Doc", "class Entity", "class Evaluation", "train_model(config",
                 "evaluate(model"):
        assert name in proc.stdout, name
    assert set(winner.__all__) <= set(dir(winner))
    for name in winner.__all__:
        assert getattr(winner, name) is not None


def test_public_functions_have_docstrings():
    for name in winner.__all__:
        obj = getattr(winner, name)
        if callable(obj):
            assert obj.__doc__ and obj.__doc__.strip(), name


def readme_example() -> str:
    """The Python block of the README's 'From Python' section."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## From Python"):]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_python_example_runs(tmp_path, monkeypatch):
    """The example, as doctest runs it, in a directory holding the repository's configs and data."""
    for name in ("configs", "data"):
        (tmp_path / name).symlink_to(REPO / name)
    monkeypatch.chdir(tmp_path)
    test = doctest.DocTestParser().get_doctest(readme_example(), {}, "README.md", "README.md", 0)
    assert test.examples, "the README's example has no >>> lines"
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    failures = []
    runner.run(test, out=failures.append)
    assert runner.summarize(verbose=False).failed == 0, "".join(failures)


def test_a_model_of_every_type_tags_and_evaluates_them_all(tmp_path):
    run = winner.train_model("configs/default.yaml", {"output.run_dir": str(tmp_path / "types"),
                                                      "train.objective": "softmax", "data.types": "all",
                                                      "train.epochs": 3}, log=lambda line: None)
    nlp = winner.load(run.best_dir)
    assert len(nlp.labels) > 1 and nlp.label in nlp.labels
    [doc] = nlp.pipe(["Clinton met Yeltsin in Moscow on Tuesday ."])
    assert all(set(token) == set(nlp.labels) for token in doc.scores)
    assert {e.label for e in doc.entities} <= set(nlp.labels)
    cli = invoke("predict", "--model", run.best_dir, "--format", "json", input=doc.text + "\n")
    assert [doc.as_dict()] == [json.loads(line) for line in cli.stdout.splitlines()]
    result = nlp.evaluate(SAMPLE_DEV)
    assert set(result.types) == set(nlp.labels)
    assert result.as_dict() == json.loads(invoke("eval", run.best_dir, SAMPLE_DEV, "--format", "json").stdout)
    assert result.report() == invoke("eval", run.best_dir, SAMPLE_DEV).stdout
