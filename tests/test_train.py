"""The training loop on the sample corpus: sampling, stopping, freezing, the divergence rule.

(Divergence through the CLI is tested in test_reliability.py.)
"""

import dataclasses

import numpy as np
import pytest

from winner import config as config_module, model, objectives, recipe, train
from winner.errors import WinnerError


def sample_config(**train_changes):
    cfg = config_module.Config()
    return dataclasses.replace(cfg, train=dataclasses.replace(cfg.train, **train_changes))


@pytest.fixture(scope="module")
def prepared():
    return recipe.prepare(sample_config(), np.random.default_rng(0))


def test_outside_corruption_draws_only_non_target_centres(prepared):
    data = prepared.train
    negatives = np.flatnonzero(~data.positive)
    batch = np.flatnonzero(data.positive)[:5]
    windows = objectives.corrupt(data, batch, 7, "outside", negatives, 100, np.random.default_rng(1))
    assert windows["word"].shape == (35, 5)
    centre_ids = windows["word"][:, 2]
    # every drawn window is one of the training windows whose centre is outside a location
    negative_windows = {tuple(row) for row in data.ids["word"][negatives]}
    assert all(tuple(row) in negative_windows for row in windows["word"])
    assert len(set(centre_ids)) > 1


def test_replace_centre_changes_only_the_centre_word(prepared):
    data = prepared.train
    batch = np.flatnonzero(data.positive)[:4]
    vocab_size = prepared.params["E_word"].shape[0]
    windows = objectives.corrupt(data, batch, 3, "replace_centre", None, vocab_size, np.random.default_rng(2))
    originals = data.take(np.repeat(batch, 3))
    assert np.array_equal(np.delete(windows["word"], 2, axis=1), np.delete(originals["word"], 2, axis=1))
    assert np.array_equal(windows["caps"], originals["caps"])
    assert ((windows["word"][:, 2] >= 3) & (windows["word"][:, 2] < vocab_size)).all()


def test_epochs_report_progress_and_best(prepared):
    params = {k: v.copy() for k, v in prepared.params.items()}
    results = list(train.train_epochs(params, prepared.train, prepared.dev, sample_config(epochs=4, patience=0).train,
                                      "tanh", np.random.default_rng(0)))
    assert [r.epoch for r in results] == [1, 2, 3, 4]
    assert results[-1].loss < results[0].loss
    best_so_far = -1.0
    for r in results:
        assert r.is_best == (r.dev.f1 > best_so_far)
        best_so_far = max(best_so_far, r.dev.f1)
        assert r.windows_per_s > 0 and 0 <= r.dev.f1 <= 1
    assert results[-1].dev.f1 > 0.3  # it learns something on the sample corpus


def test_early_stopping_after_patience(prepared):
    """With a learning rate too small to change anything, dev F1 never improves after epoch 1."""
    params = {k: v.copy() for k, v in prepared.params.items()}
    cfg = sample_config(epochs=10, patience=2, lr=1e-12, optimizer="sgd").train
    results = list(train.train_epochs(params, prepared.train, prepared.dev, cfg, "tanh", np.random.default_rng(0)))
    assert [r.epoch for r in results] == [1, 2, 3]
    assert results[-1].stop_reason and "early stop" in results[-1].stop_reason


def test_frozen_table_does_not_move(prepared):
    params = {k: v.copy() for k, v in prepared.params.items()}
    before = params["E_word"].copy()
    list(train.train_epochs(params, prepared.train, prepared.dev, sample_config(epochs=1).train, "tanh",
                            np.random.default_rng(0), frozen=("E_word",)))
    assert np.array_equal(params["E_word"], before)
    assert not np.array_equal(params["W"], prepared.params["W"])


def test_no_target_entities_is_a_clear_error(tmp_path):
    corpus = tmp_path / "t.txt"
    corpus.write_text("Rome B-PER\nis O\nold O\n")
    cfg = config_module.Config()
    cfg = dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, train=str(corpus), dev=str(corpus)))
    with pytest.raises(WinnerError, match="no 'LOC' entities"):
        recipe.prepare(cfg, np.random.default_rng(0))


@pytest.mark.parametrize("values, margin, blown", [
    (0.0, 1.0, False), (-1.0e6, 1.0, False), (1.0e6, 1.0, False), (np.array([3.0, -1.5e6]), 1.0, True),
    (1.5e6, 2.0, False), (2.5e6, 2.0, True), (float("nan"), 1.0, True), (np.array([1.0, np.inf]), 1.0, True),
    (np.array([], dtype=np.float32), 1.0, False),
])
def test_the_divergence_rule_is_a_bound_in_margins(values, margin, blown):
    assert train.blown_up(values, margin) == blown


def test_parameters_far_beyond_their_scale_stop_training_at_the_first_step(prepared):
    """Scores near 1e8 overflow nothing in float32, yet the run has blown up: it stops at once."""
    params = {k: v.copy() for k, v in prepared.params.items()}
    params["u"] *= np.float32(1e9)
    steps = []
    results = list(train.train_epochs(params, prepared.train, prepared.dev, sample_config(epochs=3).train, "tanh",
                                      np.random.default_rng(0), on_step=lambda *args: steps.append(args)))
    assert len(results) == 1 and results[0].diverged and "train.lr" in results[0].stop_reason
    assert steps == []  # the first step's loss was beyond the bound
    assert np.isfinite(results[0].loss) and all(np.isfinite(p).all() for p in params.values())


def test_dev_scores_beyond_the_bound_stop_training_though_the_loss_is_small(prepared, monkeypatch):
    params = {k: v.copy() for k, v in prepared.params.items()}
    steps = int(np.ceil(prepared.train.positive.sum() / sample_config().train.batch_size))
    real, calls = model.loss_and_grads, []

    def blows_up_after_the_last_step_of_epoch_two(params, *args, **kwargs):
        out = real(params, *args, **kwargs)
        calls.append(1)
        if len(calls) == 2 * steps:
            params["u"] *= np.float32(1e9)  # after the step's loss was computed
        return out

    monkeypatch.setattr(model, "loss_and_grads", blows_up_after_the_last_step_of_epoch_two)
    results = list(train.train_epochs(params, prepared.train, prepared.dev, sample_config(epochs=4).train, "tanh",
                                      np.random.default_rng(0)))
    assert [r.diverged for r in results] == [False, True]
    assert not train.blown_up(results[1].loss, 1.0) and not results[1].is_best


@pytest.mark.parametrize("output", ["u", "U"])
def test_l2_shrinks_the_weights_and_the_output_layer_of_either_objective(output):
    """train.l2 acts on W and on the output layer, u (max-margin) or U (softmax), never on b or embeddings."""
    from winner.optim import Optimizer

    params = {key: np.ones(shape, np.float32) for key, shape in
              {"W": (2, 3), "b": (2,), output: (2,) if output == "u" else (3, 2)}.items()}
    Optimizer(params, "sgd", 0.1, l2=1.0).step(params, {key: np.zeros_like(p) for key, p in params.items()})
    np.testing.assert_allclose(params["W"], 0.9)
    np.testing.assert_allclose(params[output], 0.9)
    np.testing.assert_array_equal(params["b"], 1.0)


def test_an_unknown_objective_is_refused():
    with pytest.raises(ValueError, match="unknown objective 'hinge'"):
        objectives.make("hinge", ("LOC",))
