"""Seeing inside a model: explain, gradcheck, eval --errors, report, predict colour.

Small models (hidden 16, one epoch on the sample corpus) are trained once per
module for each activation; the commands run in-process through CliRunner
from the repository root. gradcheck runs on configs/default.yaml with a small
hidden size (model.hidden=10): the full size is the same check, only slower.
"""

from __future__ import annotations

import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from typer.testing import CliRunner

from winner import checkpoint, colour, config as config_module, explain, gates, model, recipe, train
from winner.cli import app

pytestmark = pytest.mark.usefixtures("in_repo_root")
REPO = Path(__file__).resolve().parents[1]
DEFAULT_CONFIG = "configs/default.yaml"
SAMPLE_DEV = "data/sample/dev.txt"
SENTENCE = "Not all museums in Paris are amazing."
SENTENCES = [SENTENCE, "I flew from Berlin to Madrid via the Strait of Gibraltar .", "nothing here", "",
             "Rain fell on Lagos , Cape Town and Nairobi ."]
ACTIVATIONS = sorted(gates.ACTIVATIONS)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def invoke(*args, input: str | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


@pytest.fixture(scope="module")
def models(in_repo_root, tmp_path_factory) -> dict[str, Path]:
    """activation -> a model directory trained for one epoch (hidden 16) on the sample corpus."""
    out = {}
    for activation in ACTIVATIONS:
        base = config_module.Config()
        cfg = dataclasses.replace(base, model=dataclasses.replace(base.model, hidden=16, activation=activation),
                                  train=dataclasses.replace(base.train, epochs=1))
        prepared = recipe.prepare(cfg, np.random.default_rng(0))
        [result] = train.train_epochs(prepared.params, prepared.train, prepared.dev, cfg.train, activation,
                                      np.random.default_rng(0))
        out[activation] = tmp_path_factory.mktemp(activation) / "model-best"
        checkpoint.save(out[activation], prepared.params, prepared.featurizer, cfg,
                        {"target": "LOC", "threshold": result.threshold, "epoch": 1})
    return out


@pytest.fixture(scope="module")
def trained_run(in_repo_root, tmp_path_factory) -> Path:
    run_dir = tmp_path_factory.mktemp("run") / "run"
    result = invoke("train", DEFAULT_CONFIG, "train.epochs=3", "model.hidden=16", f"output.run_dir={run_dir}")
    assert result.exit_code == 0, result.output
    return run_dir


# --------------------------------------------------------------------------- explain


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_parts_add_up_to_the_score_for_every_token(models, activation):
    loaded = checkpoint.load(models[activation])
    explained = explain.explain_lines(loaded, SENTENCES, every_token=True)
    windows = loaded.featurizer.windows([[t for t, _, _ in s.tokens] for s in explained])
    float32_scores = model.score(loaded.params, windows, activation)
    parts = [e for s in explained for e in s.explained]
    assert len(parts) == len(float32_scores) > 20
    for e, s32 in zip(parts, float32_scores):
        assert abs(sum(e.contributions) + e.bias - e.score) < 1e-5
        assert abs(e.score - s32) < 1e-4  # the float64 score is the model's score
        assert e.location == bool(s32 > loaded.threshold)  # the decision is predict's


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_location_tokens_alone_are_explained_by_default(models, activation):
    loaded = checkpoint.load(models[activation])
    for sentence in explain.explain_lines(loaded, SENTENCES):
        assert [e.index for e in sentence.explained] == [i for i, loc in enumerate(sentence.locations) if loc]
        for e in sentence.explained:
            assert abs(sum(e.contributions) + e.bias - e.score) < 1e-5


def test_relu_parts_are_plain_gradient_times_input(models):
    loaded = checkpoint.load(models["relu"])
    windows = loaded.featurizer.windows([SENTENCE.split(), SENTENCES[1].split()])
    params = {key: value.astype(np.float64) for key, value in loaded.params.items()}
    s, contributions, bias = explain.attribute(params, windows, "relu")

    _, cache = model.forward(params, windows, "relu")
    dh, _ = gates.dot_backward(np.ones(len(s)), cache["dot"])  # (N, H)
    dz = gates.relu_backward(dh, cache["activation"])  # (N, H): the plain gradient
    dx, _, _ = gates.affine_backward(dz, cache["affine"])  # (N, D)
    per_entry = dx * cache["affine"][0]  # (N, D): gradient x input
    blocks = np.split(per_entry, np.cumsum([ids.shape[1] * d for _, (ids, d) in cache["lookups"]])[:-1], axis=1)
    plain = sum(block.reshape(len(s), 5, -1).sum(axis=2) for block in blocks)  # (N, w): per window position
    np.testing.assert_allclose(contributions, plain, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(bias, dz @ params["b"], rtol=1e-12, atol=1e-12)


def test_rescale_slope_at_zero_is_the_derivative():
    zero = np.zeros((1, 1))
    assert explain.average_slope(zero, "tanh")[0, 0] == 1.0
    assert explain.average_slope(zero, "sigmoid")[0, 0] == 0.25
    assert explain.average_slope(np.array([[2.0]]), "hardtanh")[0, 0] == 0.5  # clip(2) / 2


def test_explain_json_gives_one_object_per_sentence(models):
    result = invoke("explain", "--model", models["tanh"], "--format", "json", "--all",
                    input="\n".join(SENTENCES) + "\n")
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in records] == SENTENCES
    for record in records:
        assert {"text", "target", "threshold", "tokens", "explanations"} <= set(record)
        assert len(record["explanations"]) == len(record["tokens"])  # --all: every token
        for token, e in zip(record["tokens"], record["explanations"]):
            assert record["text"][token["start"]: token["end"]] == token["text"] == e["text"]
            assert [p["position"] for p in e["window"]] == [-2, -1, 0, 1, 2]
            assert e["window"][2]["word"] == e["text"]
            assert abs(sum(p["contribution"] for p in e["window"]) + e["bias"] - e["score"]) < 1e-5
    first = records[0]["explanations"][0]
    assert [p["word"] for p in first["window"][:2]] == ["<s>", "<s>"]
    last = records[0]["explanations"][-1]
    assert [p["word"] for p in last["window"][3:]] == ["</s>", "</s>"]


def test_explain_text_shows_the_window_score_and_threshold(models):
    loaded = checkpoint.load(models["tanh"])
    result = invoke("explain", "--model", models["tanh"], "--all", SENTENCE)
    assert result.exit_code == 0, result.output
    assert invoke("explain", "-m", models["tanh"], "--all", SENTENCE).stdout == result.stdout  # -m as predict has
    text = result.stdout
    assert f"threshold {loaded.threshold:+.3f}" in text and "bias" in text and "= score" in text
    assert "<s>" in text and "</s>" in text
    assert not ANSI.search(text) and "█" not in text  # piped: plain characters
    assert re.search(r"[+-]#+", text)


def test_explain_bars_on_a_terminal_are_blocks_in_colour(models):
    [sentence] = explain.explain_lines(checkpoint.load(models["tanh"]), [SENTENCE], every_token=True)
    text = explain.render_text(sentence, 2, "LOC", 0.0, terminal=True, coloured=True)
    assert "█" in text and "\x1b[32m+" in text and "\x1b[31m-" in text


# --------------------------------------------------------------------------- gradcheck


def test_gradcheck_passes_on_the_default_config():
    result = invoke("gradcheck", DEFAULT_CONFIG, "model.hidden=10")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    for key in ("E_word", "E_caps", "W", "b", "u"):
        assert any(line.startswith(f"{key} ") for line in lines), key
    assert "only the rows the batch looks up" in result.stdout
    assert lines[-1].startswith("PASS")


def test_gradcheck_without_the_caps_feature():
    """Windows carry caps ids even when the model has no caps table; the check must skip them."""
    result = invoke("gradcheck", DEFAULT_CONFIG, "features.caps_dim=0", "model.hidden=5")
    assert result.exit_code == 0, result.output
    assert "E_caps" not in result.stdout and result.stdout.splitlines()[-1].startswith("PASS")


def test_gradcheck_fails_on_a_broken_gate(monkeypatch):
    forward, _ = gates.ACTIVATIONS["tanh"]
    monkeypatch.setitem(gates.ACTIVATIONS, "tanh", (forward, lambda dh, h: dh))  # forgets tanh' = 1 - h^2
    result = invoke("gradcheck", DEFAULT_CONFIG, "model.hidden=10")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[-1].startswith("FAIL")
    assert "W" in result.stdout.splitlines()[-1]


def test_gradcheck_of_a_trained_model_directory(models):
    result = invoke("gradcheck", "--model", models["relu"], "--windows", "1")
    assert result.exit_code == 0, result.output
    assert "trained parameters" in result.stdout and result.stdout.splitlines()[-1].startswith("PASS")


@pytest.mark.parametrize("args", [[], [DEFAULT_CONFIG, "--model", "runs/default/model-best"]], ids=["neither", "both"])
def test_gradcheck_needs_a_config_or_a_model(args):
    result = invoke("gradcheck", *args)
    assert result.exit_code == 1
    assert "CONFIG or --model" in result.output


@pytest.mark.slow
@pytest.mark.parametrize("config", ["configs/conll2003.yaml", "configs/conll2003-novectors.yaml", "configs/bench.yaml",
                                    "configs/conll2003-types.yaml"])
def test_gradcheck_passes_on_every_shipped_conll2003_config(config):
    """Every shipped config's model, all its feature tables included (tiny hidden size: the same check, faster)."""
    named = yaml.safe_load((REPO / config).read_text())
    needed = [named["data"]["train"], named["data"]["dev"], named["features"].get("vectors"),
              named["features"].get("gazetteer")]
    missing = [path for path in needed if path and not (REPO / path).is_file()]
    if missing:
        pytest.skip(f"not under data/: {', '.join(missing)} (see README: CoNLL-2003, GloVe, make gazetteer)")
    result = invoke("gradcheck", config, "model.hidden=4", "train.k=2", "--windows", "1")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].startswith("PASS")


# --------------------------------------------------------------------------- eval --errors


@pytest.mark.parametrize("limit", [3, 100000])
def test_eval_errors_lists_false_positives_and_negatives(models, limit):
    model_dir = models["tanh"]
    scores = json.loads(invoke("eval", model_dir, SAMPLE_DEV, "--format", "json").stdout)
    assert "false_positives" not in scores
    result = invoke("eval", model_dir, SAMPLE_DEV, "--format", "json", "--errors", limit)
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    fp, fn = found["false_positives"], found["false_negatives"]
    assert scores["predicted"] - scores["correct"] > 3 and scores["gold"] - scores["correct"] > 3
    assert len(fp) == min(limit, scores["predicted"] - scores["correct"])
    assert len(fn) == min(limit, scores["gold"] - scores["correct"])
    assert [m["score"] for m in fp] == sorted((m["score"] for m in fp), reverse=True)
    assert [m["score"] for m in fn] == sorted(m["score"] for m in fn)
    assert all(m["score"] > scores["threshold"] for m in fp)  # every token of a predicted span is above it
    dev_lines = (REPO / SAMPLE_DEV).read_text(encoding="utf-8").splitlines()
    for m in fp + fn:
        assert f"[LOC {m['text']}]" in m["context"]
        assert dev_lines[m["line"] - 1].split()[0] == m["text"].split()[0]


def test_eval_errors_agree_with_the_counts_under_document_consistency(tmp_path):
    """With document consistency on, the listed mistakes come from the same smoothed scores as the counts."""
    run_dir = tmp_path / "run"
    trained = invoke("train", DEFAULT_CONFIG, "train.epochs=3", "decode.document_consistency=0.5",
                     f"output.run_dir={run_dir}")
    assert trained.exit_code == 0, trained.output
    result = invoke("eval", run_dir / "model-best", SAMPLE_DEV, "--format", "json", "--errors", 100000)
    found = json.loads(result.stdout)
    assert len(found["false_positives"]) == found["predicted"] - found["correct"]
    assert len(found["false_negatives"]) == found["gold"] - found["correct"]


def test_eval_errors_text_follows_the_report(models):
    scores = json.loads(invoke("eval", models["tanh"], SAMPLE_DEV, "--format", "json").stdout)
    result = invoke("eval", models["tanh"], SAMPLE_DEV, "--errors", 2)
    assert result.exit_code == 0, result.output
    report, _, listing = result.stdout.partition("\n\n")
    assert report.startswith("processed")
    assert f"false positives: {scores['predicted'] - scores['correct']} " in listing
    assert f"false negatives: {scores['gold'] - scores['correct']} " in listing
    assert listing.count(f"{SAMPLE_DEV}:") == 4


# --------------------------------------------------------------------------- report


def test_report_writes_a_png_with_matplotlib(trained_run, tmp_path):
    pytest.importorskip("matplotlib")
    out = tmp_path / "pictures" / "report.png"
    result = invoke("report", trained_run, "--out", out)
    assert result.exit_code == 0, result.output
    data = out.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert b"Matplotlib" in data[:1000]  # the Software text chunk
    assert "best epoch" in result.stdout and f"plot: {out}" in result.stdout


def test_report_without_matplotlib_prints_the_summary_and_a_hint(trained_run, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # `import matplotlib` now raises ImportError
    result = invoke("report", trained_run)
    assert result.exit_code == 0, result.output
    assert "best epoch" in result.stdout and "epochs run" in result.stdout and "windows/s" in result.stdout
    assert "pip install -e '.[plot]'" in result.stderr
    assert not (trained_run / "report.png").exists()


def test_report_of_a_directory_that_is_not_a_run(tmp_path):
    result = invoke("report", tmp_path)
    assert result.exit_code == 1
    assert "metrics.jsonl" in result.output


# --------------------------------------------------------------------------- predict colour


def test_predict_piped_has_no_escape_codes(models):
    proc = subprocess.run([sys.executable, "-m", "winner", "predict", "--model", str(models["tanh"]), SENTENCE],
                          cwd=REPO, stdin=subprocess.DEVNULL, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "\x1b" not in proc.stdout and "[LOC " in proc.stdout


def test_predict_on_a_terminal_colours_the_same_marks(models, monkeypatch):
    lines = [SENTENCE, "A line with [brackets] and Berlin .", ""]
    plain = invoke("predict", "--model", models["tanh"], input="\n".join(lines) + "\n").stdout
    monkeypatch.setattr(colour, "enabled", lambda stream: True)
    coloured = invoke("predict", "--model", models["tanh"], input="\n".join(lines) + "\n").stdout
    assert ANSI.search(coloured)
    assert ANSI.sub("", coloured) == plain
