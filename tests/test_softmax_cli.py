"""A softmax model of every entity type, end to end through the command line:
train, the model directory, eval against seqeval per type, predict's labels
in every format, explain of a chosen class, gradcheck; and the settings that
go with it. One small model is trained once on the sample corpus."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from seqeval.metrics.sequence_labeling import get_entities

from helpers import error_message
from test_cli import DEFAULT_CONFIG, SAMPLE_DEV, invoke, read_meta, read_weights
from winner import checkpoint, config as config_module, decode, explain, model, recipe, scoring
from winner.metrics import Scores, sentence_edges

pytestmark = pytest.mark.usefixtures("in_repo_root")
TYPES = ["LOC", "MISC", "ORG", "PER"]
SOFTMAX = ["train.objective=softmax", "data.types=all", "model.hidden=32", "train.epochs=6", "train.batch_size=32"]
TEXT = ["Clinton met Yeltsin in Moscow on Tuesday .", "The European Union said Germany backed the plan ."]


@pytest.fixture(scope="module")
def softmax_model(in_repo_root, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("softmax") / "run"
    result = invoke("train", DEFAULT_CONFIG, f"output.run_dir={run_dir}", *SOFTMAX)
    assert result.exit_code == 0, result.output
    assert "softmax with cross-entropy over 5 classes: O, LOC, MISC, ORG, PER" in result.stderr
    return run_dir / "model-best"


def test_the_model_directory_says_objective_types_and_thresholds(softmax_model):
    meta = read_meta(softmax_model)
    assert (meta["objective"], meta["types"], meta["target"]) == ("softmax", TYPES, "LOC")
    assert len(meta["thresholds"]) == 4 and meta["threshold"] == meta["thresholds"][0]
    assert set(meta["dev_types"]) == set(TYPES)
    weights = read_weights(softmax_model)
    assert weights["U"].shape == (5, 32) and "u" not in weights


def test_metrics_rows_hold_every_types_dev_f1(softmax_model):
    rows = [json.loads(line) for line in (softmax_model.parent / "metrics.jsonl").read_text().splitlines()]
    assert all(set(row["dev_f1_types"]) == set(TYPES) and 0 <= row["dev_f1_overall"] <= 1 for row in rows)


def seqeval_scores(gold, predicted, kind=None) -> Scores:
    gold_entities = {e for e in get_entities(gold) if kind in (None, e[0])}
    predicted_entities = {e for e in get_entities(predicted) if kind in (None, e[0])}
    return Scores.from_counts(len(gold_entities), len(predicted_entities), len(gold_entities & predicted_entities))


def predicted_tags(scored) -> list[list[str]]:
    """IOB2 tags from the labels eval decides, built independently of the scorer."""
    lengths = np.array([len(s.tokens) for s in scored.sentences])
    tags = ["O"] * int(lengths.sum())
    for start, end, kind in zip(*decode.entity_runs(scored.labels, *sentence_edges(lengths))):
        name = scored.loaded.types[kind]
        tags[start:end] = [f"B-{name}"] + [f"I-{name}"] * (end - start - 1)
    bounds = np.concatenate(([0], np.cumsum(lengths)))
    return [tags[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def test_eval_equals_seqeval_per_type_and_overall(softmax_model):
    result = json.loads(invoke("eval", softmax_model, SAMPLE_DEV, "--format", "json").stdout)
    scored = scoring.score_file(softmax_model, SAMPLE_DEV, {})
    gold, predicted = [s.tags for s in scored.sentences], predicted_tags(scored)
    expected = seqeval_scores(gold, predicted)
    assert {k: result[k] for k in ("gold", "predicted", "correct")} == \
        {"gold": expected.gold, "predicted": expected.predicted, "correct": expected.correct}
    assert result["f1"] == pytest.approx(expected.f1, abs=1e-12)
    assert set(result["types"]) == set(TYPES)
    for kind in TYPES:
        mine, theirs = result["types"][kind], seqeval_scores(gold, predicted, kind)
        assert (mine["gold"], mine["predicted"], mine["correct"]) == (theirs.gold, theirs.predicted, theirs.correct)
        assert mine["f1"] == pytest.approx(theirs.f1, abs=1e-12)
    assert sum(result["types"][k]["predicted"] for k in TYPES) > result["types"]["LOC"]["predicted"] > 0


def test_eval_text_has_one_line_per_type_and_the_overall_line(softmax_model):
    text = invoke("eval", softmax_model, SAMPLE_DEV).stdout.splitlines()
    result = json.loads(invoke("eval", softmax_model, SAMPLE_DEV, "--format", "json").stdout)
    assert f"with {result['gold']} phrases" in text[0]
    assert text[1] == (f"accuracy: {100 * result['token_accuracy']:6.2f}%; precision: {100 * result['precision']:6.2f}%; "
                       f"recall: {100 * result['recall']:6.2f}%; FB1: {100 * result['f1']:6.2f}")  # conlleval's line
    assert [line.split(":")[0].strip() for line in text[2:]] == TYPES
    assert f"FB1: {100 * result['types']['PER']['f1']:6.2f}" in text[2 + TYPES.index("PER")]


def test_predict_labels_each_entity_with_its_type_in_every_format(softmax_model):
    lines = [json.loads(line) for line in
             invoke("predict", "--model", softmax_model, "--format", "json", input="\n".join(TEXT) + "\n").stdout
             .splitlines()]
    entities = [(i, e["text"], e["label"]) for i, line in enumerate(lines) for e in line["entities"]]
    assert {label for _, _, label in entities} <= set(TYPES) and len({label for _, _, label in entities}) >= 2
    inline = invoke("predict", "--model", softmax_model, input="\n".join(TEXT) + "\n").stdout.splitlines()
    for i, line in enumerate(inline):
        assert [(i, text, label) for _, text, label in entities if _ == i] == \
            [(i, mark.split(" ", 1)[1], mark.split(" ", 1)[0]) for mark in _marks(line)]
    conll = invoke("predict", "--model", softmax_model, "--format", "conll", input="\n".join(TEXT) + "\n").stdout
    tagged = [row.split("\t") for row in conll.splitlines() if row]
    sentences = [[]]
    for row in conll.splitlines():
        sentences[-1].append(row.split("\t")[1]) if row else sentences.append([])
    found = [(i, kind) for i, tags in enumerate(sentences[:2]) for kind, _, _ in get_entities(tags)]
    assert found == [(i, label) for i, _, label in entities] and len(tagged) == sum(len(t.split()) for t in TEXT)


def _marks(line: str) -> list[str]:
    return [part.split("]", 1)[0] for part in line.split("[")[1:]]


@pytest.mark.parametrize("chosen", ["O", "LOC", "PER"])
def test_explain_a_chosen_class_parts_add_up_to_its_logit(softmax_model, chosen):
    loaded = checkpoint.load(softmax_model)
    [sentence] = explain.explain_lines(loaded, [TEXT[0]], every_token=True, chosen=chosen)
    windows = loaded.featurizer.windows([TEXT[0].split()])
    params64 = {k: v.astype(np.float64) for k, v in loaded.params.items()}
    logits, _ = model.forward(params64, windows, loaded.config.model.activation)  # (N, 5)
    column = ["O", *TYPES].index(chosen)
    for e in sentence.explained:
        assert sum(e.contributions) + e.bias == pytest.approx(e.score, abs=1e-9)
        assert e.score == pytest.approx(logits[e.index, column], abs=1e-9)
        assert e.location == (decode.decide(loaded.type_scores(windows), loaded.thresholds)[e.index]
                              == (TYPES.index(chosen) if chosen in TYPES else decode.OUTSIDE))
    result = invoke("explain", TEXT[0], "--model", softmax_model, "--class", chosen, "--all")
    assert result.exit_code == 0 and f"= logit f_{chosen}" in result.stdout


def test_explain_refuses_a_class_the_model_does_not_have(softmax_model):
    result = invoke("explain", TEXT[0], "--model", softmax_model, "--class", "DATE")
    assert result.exit_code == 1 and "--class 'DATE': the model's classes are O, LOC, MISC, ORG, PER" in result.stderr


def test_gradcheck_covers_the_softmax_objective():
    result = invoke("gradcheck", DEFAULT_CONFIG, "model.hidden=6", *SOFTMAX[:2], "--windows", "1")
    assert result.exit_code == 0, result.output
    assert "softmax with cross-entropy" in result.stdout and result.stdout.splitlines()[-1].startswith("PASS")
    assert any(line.startswith("U ") for line in result.stdout.splitlines())


def test_two_class_model_is_the_target_alone(tmp_path):
    run_dir = tmp_path / "run"
    result = invoke("train", DEFAULT_CONFIG, f"output.run_dir={run_dir}", "train.objective=softmax",
                    "model.hidden=16", "train.epochs=2")
    assert result.exit_code == 0, result.output
    meta = read_meta(run_dir / "model-best")
    assert meta["types"] == ["LOC"] and read_weights(run_dir / "model-best")["U"].shape == (2, 16)


def test_a_version_1_model_directory_still_loads_as_max_margin(tmp_path):
    run_dir = tmp_path / "run"
    assert invoke("train", DEFAULT_CONFIG, f"output.run_dir={run_dir}", "model.hidden=8", "train.epochs=1").exit_code == 0
    directory = run_dir / "model-best"
    meta = read_meta(directory)
    before = invoke("predict", TEXT[0], "--model", directory, "--format", "json").stdout
    old = {k: v for k, v in meta.items() if k not in ("objective", "types", "thresholds", "dev_types", "dev_overall")}
    (directory / "meta.json").write_text(json.dumps({**old, "format_version": 1}))
    loaded = checkpoint.load(directory)
    assert (loaded.objective_name, loaded.types) == ("max_margin", ("LOC",))
    assert invoke("predict", TEXT[0], "--model", directory, "--format", "json").stdout == before


@pytest.mark.parametrize("changes, expected", [
    ({"data": {"types": "all"}}, "data.types: needs train.objective: softmax"),
    ({"data": {"types": ["PER"]}, "train": {"objective": "softmax"}}, "does not hold data.target 'LOC'"),
    ({"data": {"types": "some"}, "train": {"objective": "softmax"}}, "expected 'all' or a list of entity types"),
    ({"train": {"objective": "hinge"}}, "train.objective: must be one of max_margin, softmax"),
])
def test_objective_settings_are_checked(changes, expected):
    assert expected in error_message(config_module.from_dict, changes)


def test_a_type_missing_from_the_training_data_is_an_error():
    cfg = config_module.from_dict({"train": {"objective": "softmax"}, "data": {"types": ["LOC", "DATE"]}})
    assert "no 'DATE' entities" in error_message(recipe.prepare, cfg, np.random.default_rng(0))


def test_report_gives_every_types_dev_f1(softmax_model, tmp_path):
    result = invoke("report", softmax_model.parent, "--out", tmp_path / "report.png")
    assert result.exit_code == 0, result.output
    [line] = [line for line in result.stdout.splitlines() if line.startswith("best epoch dev F1 per type: ")]
    assert all(f"{kind} " in line for kind in TYPES) and "overall" in line


def test_eval_errors_lists_the_target_types_mistakes(softmax_model):
    result = json.loads(invoke("eval", softmax_model, SAMPLE_DEV, "--format", "json", "--errors", "1000").stdout)
    loc = result["types"]["LOC"]
    assert len(result["false_positives"]) == loc["predicted"] - loc["correct"]
    assert len(result["false_negatives"]) == loc["gold"] - loc["correct"]
    assert all(m["context"].count("[LOC ") == 1 for m in result["false_positives"] + result["false_negatives"])


def test_a_resumed_softmax_run_ends_with_the_parameters_of_an_uninterrupted_one(tmp_path):
    settings = [*SOFTMAX[:3], "train.batch_size=64", "train.patience=0"]
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert invoke("train", DEFAULT_CONFIG, f"output.run_dir={straight}", *settings, "train.epochs=2").exit_code == 0
    assert invoke("train", DEFAULT_CONFIG, f"output.run_dir={resumed}", *settings, "train.epochs=1").exit_code == 0
    result = invoke("train", DEFAULT_CONFIG, f"output.run_dir={resumed}", *settings, "train.epochs=2", "--resume")
    assert result.exit_code == 0, result.output
    a, b = read_weights(straight / "model-last"), read_weights(resumed / "model-last")
    assert set(a) == set(b) and all(a[key].tobytes() == b[key].tobytes() for key in a)


def test_a_run_written_before_the_softmax_objective_still_resumes(tmp_path):
    """model-last of an earlier winner: meta.json of format 1 (no objective, types or thresholds) and
    training_state.json of format 1, which this winner still writes."""
    run_dir = tmp_path / "run"
    settings = ["model.hidden=8", "train.patience=0"]
    assert invoke("train", DEFAULT_CONFIG, f"output.run_dir={run_dir}", *settings, "train.epochs=1").exit_code == 0
    last = run_dir / "model-last"
    state = json.loads((last / "training_state.json").read_text())
    assert state["format_version"] == 1
    meta = read_meta(last)
    old = {k: v for k, v in meta.items() if k not in ("objective", "types", "thresholds", "dev_types", "dev_overall")}
    (last / "meta.json").write_text(json.dumps({**old, "format_version": 1}))
    result = invoke("train", DEFAULT_CONFIG, f"output.run_dir={run_dir}", *settings, "train.epochs=2", "--resume")
    assert result.exit_code == 0, result.output
    assert read_meta(run_dir / "model-last")["epoch"] == 2
