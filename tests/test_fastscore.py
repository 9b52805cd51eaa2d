"""The fast scoring path against its oracle, the plain graph (model.score).

The two sum the same float32 terms in another order, so scores agree to
rounding (compared within 1e-5 of the score's size), never bit for bit; every
location decision at the model's threshold must be the same. The CoNLL-2003
check trains the recommended recipe for one epoch and skips when the data is
absent.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from winner import checkpoint, config as config_module, consistency, decode, fastscore, model, recipe
from winner.conll_tagging import tag_stream
from winner.explain import explain_lines
from winner.fastscore import FastScorer
from winner.forked import share as forked_share
from winner.run import run_training
from winner.scoring import score_file
from winner.tagger import Tagger

REPO = Path(__file__).resolve().parents[1]
CONLL = REPO / "data" / "conll2003"
TOLERANCE = 1e-5

pytestmark = pytest.mark.usefixtures("in_repo_root")


def assert_close(fast: np.ndarray, plain: np.ndarray) -> None:
    assert fast.shape == plain.shape and fast.dtype == plain.dtype
    np.testing.assert_array_less(np.abs(fast - plain), TOLERANCE * np.maximum(1.0, np.abs(plain)))


def trained(tmp_path_factory, config: str, *overrides: str) -> Path:
    """The model-best directory of a training run."""
    run_dir = tmp_path_factory.mktemp("fastscore") / "run"
    run_training(config, [*overrides, f"output.run_dir={run_dir}"], log=lambda _: None)
    return run_dir / "model-best"


@pytest.fixture(scope="module")
def sample_dir(in_repo_root, tmp_path_factory) -> Path:
    """Every optional feature on the sample corpus: word endings and both names-seen-in-training tables."""
    return trained(tmp_path_factory, "configs/default.yaml", "train.epochs=3", "features.suffix_dim=5",
                   "features.train_gazetteer=true", "features.other_gazetteer=true", "model.hidden=40")


@pytest.fixture(scope="module")
def sample_model(sample_dir) -> checkpoint.LoadedModel:
    return checkpoint.load(sample_dir)


@pytest.fixture(scope="module")
def sample_dev(sample_model):
    cfg = sample_model.config
    sentences = recipe.read_conll(cfg.data.dev, cfg.data.scheme, cfg.data.label_map)
    return recipe.make_dev(sample_model.featurizer, sentences, sample_model.target)


def fast(loaded, **kwargs) -> FastScorer:
    return FastScorer(loaded.params, loaded.config.model.activation, loaded.featurizer.width, **kwargs)


def plain(loaded, windows) -> np.ndarray:
    return model.score(loaded.params, windows, loaded.config.model.activation)


def test_sample_dev_scores_and_every_decision_equal_the_plain_graph(sample_model, sample_dev):
    windows = sample_dev.windows.ids
    assert {"suffix", "seen", "other"} <= set(windows)
    fast_scores, plain_scores = fast(sample_model).score(windows), plain(sample_model, windows)
    assert_close(fast_scores, plain_scores)
    threshold = sample_model.threshold
    assert np.array_equal(fast_scores > threshold, plain_scores > threshold)
    assert (plain_scores > threshold).any() and not (plain_scores > threshold).all()


def test_a_softmax_models_logits_and_every_decision_equal_the_plain_graph(in_repo_root, tmp_path_factory):
    """Every type of the sample corpus, cross-entropy: the fast path feeds the class logits f (N, C)."""
    loaded = checkpoint.load(trained(tmp_path_factory, "configs/default.yaml", "train.objective=softmax",
                                     "data.types=all", "train.epochs=2", "model.hidden=30"))
    cfg = loaded.config
    sentences = recipe.read_conll(cfg.data.dev, cfg.data.scheme, cfg.data.label_map)
    windows = recipe.make_dev(loaded.featurizer, sentences, loaded.target).windows.ids
    fast_logits, plain_logits = fast(loaded).score(windows), plain(loaded, windows)
    assert fast_logits.shape == (len(windows["word"]), len(loaded.types) + 1) and len(loaded.types) > 1
    assert_close(fast_logits, plain_logits)
    plain_labels = decode.decide(loaded.objective.types_from_outputs(plain_logits), loaded.thresholds)
    assert np.array_equal(decode.decide(loaded.type_scores(windows), loaded.thresholds), plain_labels)
    assert len(set(plain_labels.tolist())) > 2  # O and more than one type decided: the comparison has teeth


@pytest.mark.parametrize("activation", ["tanh", "sigmoid", "hardtanh", "relu"])
def test_every_activation_on_initial_parameters(in_repo_root, activation):
    cfg = config_module.Config()
    cfg = dataclasses.replace(cfg, model=dataclasses.replace(cfg.model, activation=activation, hidden=30),
                              features=dataclasses.replace(cfg.features, suffix_dim=4, train_gazetteer=True))
    prepared = recipe.prepare(cfg, np.random.default_rng(3))
    windows = prepared.dev.windows.ids
    scores = FastScorer(prepared.params, activation, prepared.featurizer.width).score(windows)
    assert_close(scores, model.score(prepared.params, windows, activation))


def test_windows_not_cut_from_a_text(sample_model):
    """Any ids in range, each window drawn on its own: the path assumes nothing about neighbours."""
    rng = np.random.default_rng(0)
    sizes = sample_model.featurizer.sizes()
    windows = {name: rng.integers(0, sizes[name], (3000, 5)).astype(np.int32) for name in sizes}
    assert_close(fast(sample_model).score(windows), plain(sample_model, windows))


def test_a_full_cache_keeps_its_keys_and_scores_the_others_per_batch(sample_model, sample_dev):
    windows = sample_dev.windows.ids
    small = fast(sample_model, cache_bytes=1)  # room for one key's rows
    scores = small.score(windows)
    assert len(small.known) == small.limit == 1
    assert_close(scores, plain(sample_model, windows))
    assert_close(small.score(windows), scores)  # again, with the kept key and the others worked out anew


def test_scoring_in_pieces_equals_scoring_at_once(sample_model, sample_dev):
    """The cache carries over from call to call, as in a stream of batches."""
    windows = sample_dev.windows.ids
    scorer = fast(sample_model)
    pieces = [scorer.score({k: v[a: a + 700] for k, v in windows.items()}) for a in range(0, len(windows["word"]), 700)]
    assert_close(np.concatenate(pieces), fast(sample_model).score(windows))
    assert_close(np.concatenate(pieces), plain(sample_model, windows))


def random_windows(loaded, count: int, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {name: rng.integers(0, size, (count, loaded.featurizer.width)).astype(np.int32)
            for name, size in loaded.featurizer.sizes().items()}


def test_a_key_met_once_takes_no_room_until_it_is_met_again(sample_model):
    """Random windows: almost every key in one window only. The first pass keeps none of them; the second
    meets them again and keeps them all, and scores as the first did."""
    windows = random_windows(sample_model, 2000)
    scorer = fast(sample_model)
    first = scorer.score(windows)
    assert len(scorer.known) == 0
    second = scorer.score(windows)
    assert len(scorer.known) == len(np.unique(scorer.keys(windows)))
    assert_close(first, plain(sample_model, windows))
    assert_close(second, first)


def test_a_word_met_twice_in_a_batch_is_kept_at_once(sample_model):
    windows = random_windows(sample_model, 200)
    twice = {name: np.concatenate([ids, ids[:1]]) for name, ids in windows.items()}  # window 0 again
    scorer = fast(sample_model)
    scorer.score(twice)
    assert len(scorer.known) == 0  # each key of window 0 is in 2 windows of the batch: no more than w
    token = {name: np.repeat(ids[:1, 2:3], 6, axis=0).repeat(5, axis=1) for name, ids in windows.items()}
    scorer.score(token)  # one key at every position of 6 windows: 30 > w
    assert len(scorer.known) == 1


def test_no_windows(sample_model):
    windows = {name: np.zeros((0, 5), np.int32) for name in sample_model.featurizer.sizes()}
    assert fast(sample_model).score(windows).shape == plain(sample_model, windows).shape == (0,)


def test_predict_eval_and_explain_decide_through_the_fast_path(sample_dir, sample_model, monkeypatch):
    """With the fast path's scores replaced by a marker, predict's and eval's scores are the marker, and
    explain calls every token a location."""
    monkeypatch.setattr(FastScorer, "score",
                        lambda self, windows, processes=1: np.full(len(windows["word"]), 123.0, np.float32))
    assert (Tagger(sample_model).tag_batch(["Flights to Paris ."]).scores == 123.0).all()
    assert (score_file(sample_dir, REPO / sample_model.config.data.dev, {}).scores == 123.0).all()
    assert explain_lines(sample_model, ["the a of ."])[0].locations == [True] * 4


@pytest.mark.slow
@pytest.mark.skipif(not all((CONLL / name).is_file() for name in ("train.txt", "dev.txt"))
                    or not (REPO / "data/vectors/glove.6B.50d.txt").is_file()
                    or not (REPO / "data/gazetteer/places.txt").is_file(),
                    reason="needs CoNLL-2003, the GloVe vectors and make gazetteer (see README)")
def test_conll2003_dev_every_decision_equals_the_plain_graph(tmp_path_factory):
    loaded = checkpoint.load(trained(tmp_path_factory, "configs/conll2003.yaml", "train.epochs=1"))
    cfg = loaded.config
    sentences = recipe.read_conll(cfg.data.dev, cfg.data.scheme, cfg.data.label_map)
    dev = recipe.make_dev(loaded.featurizer, sentences, loaded.target, cfg.decode.document_consistency)
    windows = dev.windows.ids
    fast_scores, plain_scores = fast(loaded).score(windows), plain(loaded, windows)
    assert_close(fast_scores, plain_scores)
    threshold = loaded.threshold
    assert np.array_equal(fast_scores > threshold, plain_scores > threshold)
    smoothed = [consistency.smooth(s, dev.groups, dev.consistency) > threshold for s in (fast_scores, plain_scores)]
    assert np.array_equal(*smoothed)  # as winner eval decides, after document consistency


def test_negative_control_a_wrong_row_is_caught(sample_model, sample_dev):
    """The comparison can fail: one key's rows off by 1e-3 changes scores beyond the tolerance."""
    windows = sample_dev.windows.ids
    scorer = fast(sample_model)
    scorer.score(windows)
    scorer.rows[0] += 1e-3  # the first key kept: its rows at every position
    with pytest.raises(AssertionError):
        assert_close(scorer.score(windows), plain(sample_model, windows))


def test_two_processes_score_as_one(sample_model, sample_dev, monkeypatch):
    """Windows shared out between two processes ROUND at a time (made small here, so that the sample
    dev set makes several rounds) give the scores of one process and of the plain graph."""
    monkeypatch.setattr(fastscore, "BATCH", 128)
    monkeypatch.setattr(fastscore, "ROUND", 512)
    monkeypatch.setattr(fastscore.forked, "available", lambda: True)  # training's tqdm left a thread asleep
    forks = []
    monkeypatch.setattr(fastscore.forked, "share",
                        lambda work, out, processes: forks.append(processes) or forked_share(work, out, processes))
    windows = sample_dev.windows.ids
    assert len(windows["word"]) > 2 * fastscore.ROUND
    shared = fast(sample_model).score(windows, processes=2)
    assert forks and set(forks) == {2}
    assert_close(shared, plain(sample_model, windows))
    assert_close(shared, fast(sample_model).score(windows))


def test_keys_not_kept_are_worked_out_by_each_process_for_its_own_windows(sample_model, monkeypatch):
    """Random windows with room for one key: in every round almost every key is one not kept, more of them
    than the w BATCH slots past the kept hold, so each process works out its own batches' rows; the
    scores are still the plain graph's and one process's."""
    monkeypatch.setattr(fastscore, "BATCH", 256)
    monkeypatch.setattr(fastscore, "ROUND", 1024)
    monkeypatch.setattr(fastscore.forked, "available", lambda: True)
    windows = random_windows(sample_model, 3000, seed=1)
    scorer = fast(sample_model, cache_bytes=1)
    keys = scorer.keys({name: ids[:1024] for name, ids in windows.items()})
    assert len(np.unique(keys)) > sample_model.featurizer.width * fastscore.BATCH
    shared = scorer.score(windows, processes=2)
    assert_close(shared, plain(sample_model, windows))
    assert_close(shared, fast(sample_model, cache_bytes=1).score(windows))


def test_eval_and_conll_tagging_pass_their_process_count_to_the_fast_path(sample_dir, sample_model, monkeypatch):
    """score_file (winner eval) and tag_stream (winner predict --input-format conll) score a whole file at
    once: the count of processes they are given reaches FastScorer.score."""
    counts = []
    real = FastScorer.score
    monkeypatch.setattr(FastScorer, "score", lambda self, windows, processes=1: counts.append(processes)
                        or real(self, windows, processes))
    score_file(sample_model, REPO / sample_model.config.data.dev, {}, processes=3)
    lines = (REPO / sample_model.config.data.dev).read_text(encoding="utf-8").splitlines()
    "".join(tag_stream(sample_model, [lines], processes=2))
    assert counts[0] == 3 and set(counts[1:]) == {2}  # one call per document after the first
