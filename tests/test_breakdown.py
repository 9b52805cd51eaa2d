"""Tests for `winner eval --breakdown` and `--casing` (winner/breakdown.py, winner/casing.py).

The model here is made by hand, not trained: one feature (the word), a
window of one token, a hidden layer of one unit, so a token's score is
tanh(e_word) and the model tags exactly the words given a positive
embedding. Every count below is worked out by hand from the file and that
word list.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from typer.testing import CliRunner

from winner import breakdown, checkpoint, recipe
from winner.casing import recase, sentence_casing
from winner.cli import app
from winner.config import Config
from winner.corpus import Sentence, read_conll
from winner.features import Featurizer, Vocab
from winner.metrics import chunks

# The model tags these (lowercased) words and no others.
TAGGED = ("paris", "and", "lyon", "york", "texas")
NAMES = "paris\ntexas\n"  # what it "saw" as LOC in training

# Five sentences; the gold LOC entities, with their slices (seen: in NAMES):
#   1 mixed  Paris (seen), Lyon (unseen)           predicted: Paris ok, "and Lyon" wrong
#   2 lower  paris (seen), new york (unseen)       predicted: paris ok, "york" wrong
#   3 upper  none (TEXAS and OHIO are ORG)         predicted: TEXAS wrong (seen)
#   4 mixed  none (no letters at all)              predicted: none
#   5 upper  LYON (unseen)                         predicted: LYON ok
CONLL = """-DOCSTART- O

Rain O
in O
Paris B-LOC
, O
and O
Lyon B-LOC
. O

flights O
to O
paris B-LOC
from O
new B-LOC
york I-LOC

TEXAS B-ORG
BEAT O
OHIO B-ORG

1996-08-30 O

RAIN O
IN O
LYON B-LOC
"""

# slice: (gold, predicted, correct)
EXPECTED = {
    "seen": (2, 3, 2),      # gold Paris, paris; predicted Paris, paris, TEXAS
    "unseen": (3, 3, 1),    # gold Lyon, new york, LYON; predicted and Lyon, york, LYON
    "mixed": (2, 2, 1),     # sentences 1 and 4
    "lower": (2, 2, 1),     # sentence 2
    "upper": (1, 2, 1),     # sentences 3 and 5
}


def invoke(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def hand_made_model(directory: Path, names: str | None = NAMES) -> None:
    vocab = Vocab.build(["rain", "in", "paris", ",", "and", "lyon", ".", "flights", "to", "from", "new", "york",
                         "texas", "beat", "ohio"])
    base = Config()
    config = dataclasses.replace(
        base, features=dataclasses.replace(base.features, half_window=0, word_dim=1, caps_dim=0),
        model=dataclasses.replace(base.model, hidden=1))
    word = np.array([[2.0] if w in TAGGED else [-2.0] for w in vocab.words], np.float32)  # (V, 1)
    params = {"E_word": word, "W": np.ones((1, 1), np.float32), "b": np.zeros(1, np.float32),
              "u": np.ones(1, np.float32)}
    texts = {breakdown.NAMES_FILE: names} if names is not None else None
    checkpoint.save(directory, params, Featurizer(vocab, 0), config, {"target": "LOC", "threshold": 0.0},
                    texts=texts)


@pytest.fixture
def files(tmp_path):
    hand_made_model(tmp_path / "model")
    (tmp_path / "dev.txt").write_text(CONLL, encoding="utf-8")
    return tmp_path / "model", tmp_path / "dev.txt"


def counts(scores: dict) -> tuple[int, int, int]:
    return scores["gold"], scores["predicted"], scores["correct"]


def test_json_breakdown_counts_each_slice_by_hand(files):
    result = invoke("eval", *files, "--breakdown", "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert counts(report) == (5, 6, 3)
    sliced = report["breakdown"]
    for name in ("seen", "unseen"):
        assert counts(sliced["seen_in_training"][name]) == EXPECTED[name], name
    for name in ("mixed", "lower", "upper"):
        assert counts(sliced["casing"][name]) == EXPECTED[name], name
    seen = sliced["seen_in_training"]["seen"]
    assert seen["precision"] == pytest.approx(2 / 3) and seen["recall"] == 1.0 and seen["f1"] == pytest.approx(0.8)
    assert "seen_in_training_unavailable" not in sliced


def test_text_breakdown_prints_every_slice(files):
    result = invoke("eval", *files, "--breakdown")
    assert result.exit_code == 0, result.output
    rows = {line[:24].strip(): line[24:].split() for line in result.output.splitlines() if line.startswith("  ")}
    assert rows["seen in training"] == ["2", "3", "2", "66.67%", "100.00%", "80.00"]
    assert rows["unseen in training"] == ["3", "3", "1", "33.33%", "33.33%", "33.33"]
    assert rows["mixed-case sentences"][:3] == ["2", "2", "1"]
    assert rows["lowercase sentences"][:3] == ["2", "2", "1"]
    assert rows["uppercase sentences"] == ["1", "2", "1", "50.00%", "100.00%", "66.67"]


def test_eval_without_breakdown_prints_none(files):
    text, as_json = invoke("eval", *files), invoke("eval", *files, "--format", "json")
    assert "breakdown" not in text.output and "breakdown" not in json.loads(as_json.output)


def test_model_without_training_names_says_the_slice_is_unavailable(tmp_path, files):
    old = tmp_path / "old-model"
    hand_made_model(old, names=None)
    result = invoke("eval", old, files[1], "--breakdown")
    assert result.exit_code == 0, result.output
    assert "  seen in training " not in result.output and "  unseen in training " not in result.output
    assert f"seen/unseen in training: unavailable: {old / breakdown.NAMES_FILE} is missing" in result.output
    assert "uppercase sentences" in result.output  # the casing slices do not need the names
    report = json.loads(invoke("eval", old, files[1], "--breakdown", "--format", "json").output)
    assert report["breakdown"]["seen_in_training"] is None
    assert "retrain" in report["breakdown"]["seen_in_training_unavailable"]
    assert counts(report["breakdown"]["casing"]["upper"]) == EXPECTED["upper"]


@pytest.mark.parametrize("casing", ["lower", "upper"])
def test_casing_option_recases_the_file_before_tagging(files, casing):
    report = json.loads(invoke("eval", *files, "--breakdown", "--format", "json", "--casing", casing).output)
    # The model lowercases words, so it tags the same tokens; now every sentence with a
    # letter is in the one casing, and seen/unseen (lowercased strings) do not move.
    assert counts(report) == (5, 6, 3)
    assert counts(report["breakdown"]["casing"][casing]) == (5, 6, 3)
    assert counts(report["breakdown"]["casing"]["mixed"]) == (0, 0, 0)  # sentence 4 has no letters
    assert counts(report["breakdown"]["seen_in_training"]["unseen"]) == EXPECTED["unseen"]


def test_casing_option_refuses_other_values(files):
    result = invoke("eval", *files, "--casing", "title")
    assert result.exit_code == 1
    assert "--casing 'title': expected lower or upper" in result.output


def plain_counts(sentences, positive, names) -> dict[str, tuple[int, int, int]]:
    """The slices' counts by the plain rule, sentence by sentence, entity by entity."""
    found: dict[str, list[int]] = {}
    flags = iter(positive.tolist())
    for sentence in sentences:
        gold = {(a, b) for kind, a, b in chunks(sentence.tags) if kind == "LOC"}
        tagged = [next(flags) for _ in sentence.tokens]
        predicted = {(a, b) for kind, a, b in chunks(["B-LOC" if t and not (i and tagged[i - 1]) else
                                                      "I-LOC" if t else "O" for i, t in enumerate(tagged)])}
        for spans, column in ((gold, 0), (predicted, 1), (gold & predicted, 2)):
            for a, b in spans:
                string = " ".join(sentence.tokens[a:b]).lower()
                for name in ("unseen" if string not in names else "seen", sentence_casing(sentence.tokens)):
                    found.setdefault(name, [0, 0, 0])[column] += 1
    return {name: tuple(c) for name, c in found.items()}


def test_breakdown_agrees_with_the_plain_rule_and_adds_up(in_repo_root):
    sentences = read_conll("data/sample/dev.txt")
    sentences += recase(sentences[:40], "lower") + recase(sentences[40:80], "upper")
    dev = recipe.make_dev(Featurizer(Vocab.build([]), 0), sentences, "LOC")
    scored = SimpleNamespace(sentences=sentences, dev=dev)
    rng = np.random.default_rng(0)
    gold_names = sorted({" ".join(s.tokens[a:b]).lower() for s in sentences for _, a, b in chunks(s.tags)})
    for trial in range(5):
        positive = rng.random(dev.scorer.n) < (dev.windows.positive * 0.8 + 0.05)  # near the gold, with noise
        names = set(rng.choice(gold_names, size=len(gold_names) // 2, replace=False))
        result = breakdown.breakdown(scored, positive, names)
        plain = plain_counts(sentences, positive, names)
        total = dev.scorer(positive)
        for kind in (result["seen_in_training"], result["casing"]):
            assert tuple(map(sum, zip(*map(counts, kind.values())))) == (total.gold, total.predicted, total.correct)
            for name, scores in kind.items():
                assert counts(scores) == plain.get(name, (0, 0, 0)), (trial, name)


def test_training_names_round_trip_names_holding_unicode_line_breaks(tmp_path):
    names = breakdown.training_names([Sentence(["Saint\u2028Malo", "x\u0085y"], ["B-LOC", "B-LOC"])], "LOC")
    (tmp_path / breakdown.NAMES_FILE).write_text(breakdown.names_text(names), encoding="utf-8")
    assert breakdown.read_names(tmp_path) == {"saint\u2028malo", "x\u0085y"}
