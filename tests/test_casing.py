"""Tests for winner/casing.py: sentence casing, re-casing, and training copies in other casings
(`data.case_augment_lower`, `data.case_augment_upper`); the caps class of uncased sentences
(`features.caps_uncased`); and the training names a saved model keeps."""

from __future__ import annotations

import numpy as np
import pytest

from helpers import error_message
from winner import breakdown, checkpoint, config as config_module, recipe
from winner.casing import augment, recase, sentence_casing
from winner.corpus import Sentence, read_conll
from winner.features import CAPS_CLASSES, CAPS_UNCASED, Featurizer, Vocab, caps_class, caps_in_context
from winner.metrics import chunks
from winner.run import run_training

pytestmark = pytest.mark.usefixtures("in_repo_root")
SAMPLE_TRAIN = "data/sample/train.txt"


@pytest.mark.parametrize("tokens, casing", [
    (["Rain", "in", "Paris", "."], "mixed"),
    (["rain", "in", "paris", "."], "lower"),
    (["RAIN", "IN", "PARIS", "."], "upper"),
    (["PARIS", "1996-08-30"], "upper"),
    (["1996-08-30", ","], "mixed"),  # no cased letter: neither lower nor upper
    (["Paris"], "mixed"),
    (["straße"], "lower"),
])
def test_sentence_casing(tokens, casing):
    assert sentence_casing(tokens) == casing


def test_recase_changes_tokens_only():
    sentence = Sentence(["Rain", "in", "Paris"], ["O", "O", "B-LOC"], doc=3, line=17)
    lower, upper = recase([sentence], "lower")[0], recase([sentence], "upper")[0]
    assert lower == Sentence(["rain", "in", "paris"], ["O", "O", "B-LOC"], 3, 17)
    assert upper == Sentence(["RAIN", "IN", "PARIS"], ["O", "O", "B-LOC"], 3, 17)
    assert sentence.tokens == ["Rain", "in", "Paris"]  # the original is untouched


def sentences(count: int) -> list[Sentence]:
    return [Sentence([f"Word{i}", "Paris"], ["O", "B-LOC"], doc=i // 3, line=i) for i in range(count)]


def test_augment_off_returns_the_sentences_as_they_are():
    original = sentences(10)
    assert augment(original, {"lower": 0.0, "upper": 0.0}, seed=0) == original


def test_augment_copies_the_share_of_sentences_in_each_casing():
    original = sentences(10)
    out = augment(original, {"lower": 1.0, "upper": 0.5}, seed=0)
    assert out[:10] == original
    lowered, uppered = out[10:20], out[20:]
    assert lowered == recase(original, "lower")  # share 1: every sentence, in order
    assert len(uppered) == 5 and len({s.line for s in uppered}) == 5
    for copy in uppered:
        assert copy == recase([original[copy.line]], "upper")[0]  # keeps its document and line
    assert augment(original, {"lower": 1.0, "upper": 0.5}, seed=0) == out  # deterministic per seed


def test_augment_draws_differ_between_seeds():
    picks = {tuple(s.line for s in augment(sentences(40), {"upper": 0.25}, seed=seed)[40:]) for seed in range(4)}
    assert len(picks) > 1


def prepared(*overrides):
    cfg = config_module.load("configs/default.yaml", ["features.train_gazetteer=true",
                                                     "features.other_gazetteer=true", *overrides])
    return recipe.prepare(cfg, np.random.default_rng(0))


def test_lowercased_copies_keep_word_and_gazetteer_ids_and_change_only_caps():
    plain = prepared()
    copied = prepared("data.case_augment_lower=1")
    n = len(plain.train.positive)
    assert len(copied.train.positive) == 2 * n
    assert (copied.train.positive[n:] == plain.train.positive).all()
    for feature in ("word", "seen", "other"):
        # held-out names: a copy sits in its original's fold, so it sees what the original sees
        assert (copied.train.ids[feature][n:] == copied.train.ids[feature][:n]).all(), feature
    allowed = [CAPS_CLASSES.index(c) for c in ("<boundary>", "lower", "no-letters")]
    assert np.isin(copied.train.ids["caps"][n:], allowed).all()
    assert not np.isin(copied.train.ids["caps"][:n], allowed).all()
    assert (copied.dev.windows.ids["caps"] == plain.dev.windows.ids["caps"]).all()  # dev is never copied


def test_case_augment_out_of_range_is_refused_naming_the_key():
    message = error_message(config_module.load, "configs/default.yaml", ["data.case_augment_upper=1.5"])
    assert message == "override 'data.case_augment_upper=1.5': must be a number from 0 to 1, got 1.5"


def test_a_saved_model_keeps_the_lowercased_target_names_of_its_training_data(tmp_path):
    run_training("configs/default.yaml", ["train.epochs=1", f"output.run_dir={tmp_path}"], log=lambda _: None)
    expected = sorted({" ".join(s.tokens[a:b]).lower() for s in read_conll(SAMPLE_TRAIN)
                       for kind, a, b in chunks(s.tags) if kind == "LOC"})
    assert expected and any(" " in name for name in expected)
    for model in ("model-best", "model-last"):
        assert (tmp_path / model / breakdown.NAMES_FILE).read_text(encoding="utf-8").splitlines() == expected
        assert breakdown.read_names(tmp_path / model) == set(expected)


def test_cased_robust_recipe_is_the_recommended_one_with_lowercased_copies_and_uncased_caps():
    robust, final = (config_module.load(f"configs/{name}.yaml").to_dict()
                     for name in ("conll2003-cased-robust", "conll2003"))
    assert robust["data"].pop("case_augment_lower") == 1.0 and final["data"].pop("case_augment_lower") == 0.0
    assert robust["features"].pop("caps_uncased") is True and final["features"].pop("caps_uncased") is False
    assert robust["output"].pop("run_dir") != final["output"].pop("run_dir")
    assert robust == final


CASED_TOKENS = ["Rain", "in", "PARIS", ",", "1996", "McDonald", "x"]


def test_caps_in_context_follows_the_sentence_rule():
    rng = np.random.default_rng(0)
    sentences = [list(rng.choice(CASED_TOKENS, size=rng.integers(1, 6))) for _ in range(300)]
    sentences += [[t.lower() for t in s] for s in sentences[:100]] + [[t.upper() for t in s] for s in sentences[:100]]
    lengths = np.array([len(s) for s in sentences])
    caps = np.array([caps_class(t) for s in sentences for t in s], np.int32)
    got = caps_in_context(caps, lengths)
    expected = [CAPS_UNCASED if sentence_casing(s) != "mixed" and t.isalpha() else caps_class(t)
                for s in sentences for t in s]
    assert got.tolist() == expected
    assert (got == CAPS_UNCASED).any() and (got == CAPS_CLASSES.index("lower")).any()


def featurizer(caps_uncased: bool) -> Featurizer:
    return Featurizer(Vocab.build(["rain", "in", "paris"]), 2, caps_uncased=caps_uncased)


def test_with_caps_uncased_a_lowercased_and_an_uppercased_sentence_look_the_same():
    sentence = ["Rain", "in", "Paris", "."]
    lower, upper, cased = ([t.lower() for t in sentence], [t.upper() for t in sentence], sentence)
    on, off = featurizer(True), featurizer(False)
    assert on.sizes()["caps"] == len(CAPS_CLASSES) + 1 and off.sizes()["caps"] == len(CAPS_CLASSES)
    assert (on.windows([lower])["caps"] == on.windows([upper])["caps"]).all()
    assert not (off.windows([lower])["caps"] == off.windows([upper])["caps"]).all()
    assert (on.windows([cased])["caps"] == off.windows([cased])["caps"]).all()  # cased text: classes as before


def test_a_caps_uncased_model_saves_and_loads(tmp_path):
    cfg = config_module.load("configs/default.yaml", ["features.caps_uncased=true", "data.case_augment_lower=1",
                                                     f"output.run_dir={tmp_path}", "train.epochs=1"])
    prepared = recipe.prepare(cfg, np.random.default_rng(0))
    assert prepared.params["E_caps"].shape[0] == len(CAPS_CLASSES) + 1
    checkpoint.save(tmp_path / "m", prepared.params, prepared.featurizer, cfg, {"target": "LOC", "threshold": 0.0})
    loaded = checkpoint.load(tmp_path / "m")
    assert loaded.featurizer.caps_uncased
    tokens = [["rain", "in", "paris"]]
    assert (loaded.featurizer.windows(tokens)["caps"] == prepared.featurizer.windows(tokens)["caps"]).all()
