"""Dropout on the input layer (train.dropout): the mask, the gate's gradient,
both objectives' whole-loss gradients with a mask held fixed (float64 central
differences, with a negative control), and what a training run does with it."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from helpers import error_message
from test_gradients import TOLERANCE, gate_check, loss_problem
from test_config import load_text
from test_softmax import softmax_problem
from winner import config as config_module, gates, gradcheck, model, objectives, recipe, train
from winner.selfcheck import run_gradcheck


def test_mask_zeroes_about_the_rate_and_scales_the_rest_to_keep_the_mean():
    mask = gates.dropout_mask((400, 500), 0.25, np.random.default_rng(0))
    assert mask.dtype == np.float32 and set(np.unique(mask)) == {0.0, np.float32(1 / 0.75)}
    # 200,000 draws: the share zeroed has sd 0.001; 0.01 is ten of them
    assert abs((mask == 0).mean() - 0.25) < 0.01
    assert abs(mask.mean() - 1.0) < 0.02  # E[m] = 1: tagging needs no rescaling


def test_rate_zero_draws_no_mask_and_uses_no_random_numbers():
    rng = np.random.default_rng(3)
    before = rng.bit_generator.state
    assert objectives.step_mask({"W": np.zeros((4, 6))}, 5, 0.0, rng) is None
    assert rng.bit_generator.state == before  # a run without dropout draws what it drew before


def test_dropout_gate():
    rng = np.random.default_rng(1)
    x, mask = rng.standard_normal((5, 6)), gates.dropout_mask((5, 6), 0.5, rng).astype(np.float64)
    assert 0 < (mask == 0).sum() < mask.size  # the case really mixes dropped and kept entries
    (error,) = gate_check(lambda a: gates.dropout_forward(a, mask), gates.dropout_backward, [x])
    assert error < TOLERANCE


def check_with_mask(loss_and_grads) -> dict[str, float]:
    """Relative error of every parameter's gradient, the mask the same in every evaluation."""
    def loss():
        return loss_and_grads()[0]

    params, grads = loss_and_grads.params, loss_and_grads()[1]
    return {key: gradcheck.relative_error(gradcheck.dense(grads[key], params[key].shape),
                                          gradcheck.numeric_gradient(loss, params[key]))
            for key in params}


def max_margin_with_mask(seed=0):
    """A max-margin problem and a mask with no hinge pair near its kink under that mask."""
    for attempt in range(100):
        params, true, corrupt = loss_problem("tanh", seed=seed * 100 + attempt)
        rows = len(true["word"]) + len(corrupt["word"])
        mask = gates.dropout_mask((rows, params["W"].shape[1]), 0.3, np.random.default_rng(attempt))
        s_true, s_corrupt, _ = model.score_pairs(params, true, corrupt, "tanh", mask)
        gaps = 1.0 - s_true[:, None] + s_corrupt
        if np.abs(gaps).min() > 1e-3 and (gaps > 0).any():
            def call():
                J, grads, _ = model.loss_and_grads(params, true, corrupt, "tanh", mask=mask)
                return J, grads
            call.params = params
            return call
    raise AssertionError("no problem away from the hinge's kink")


def softmax_with_mask():
    params, windows, labels = softmax_problem("tanh")
    mask = gates.dropout_mask((len(labels), params["W"].shape[1]), 0.3, np.random.default_rng(0))

    def call():
        return model.softmax_loss_and_grads(params, windows, labels, "tanh", mask=mask)
    call.params = params
    return call


@pytest.mark.parametrize("problem", [max_margin_with_mask, softmax_with_mask], ids=["max_margin", "softmax"])
def test_whole_loss_gradient_of_every_parameter_with_a_dropout_mask(problem):
    errors = check_with_mask(problem())
    assert max(errors.values()) < TOLERANCE, errors


@pytest.mark.parametrize("problem", [max_margin_with_mask, softmax_with_mask], ids=["max_margin", "softmax"])
def test_negative_control_backward_that_forgets_the_mask(problem, monkeypatch):
    """dx passed through unmasked (the dropped entries' gradients kept) must be caught in the embeddings."""
    monkeypatch.setattr(gates, "dropout_backward", lambda dout, mask: dout)
    errors = check_with_mask(problem())
    assert errors["E_word"] > 1e-2


def test_the_mask_changes_the_loss_and_a_mask_of_ones_does_not():
    call = softmax_with_mask()
    params, windows, labels = softmax_problem("tanh")
    plain = model.softmax_loss_and_grads(params, windows, labels, "tanh")[0]
    assert call()[0] != plain
    mask = np.ones((len(labels), params["W"].shape[1]))
    assert model.softmax_loss_and_grads(params, windows, labels, "tanh", mask=mask)[0] == plain


@pytest.mark.parametrize("objective", ["max_margin", "softmax"])
def test_gradcheck_of_a_config_with_dropout_holds_a_mask_fixed(in_repo_root, objective, monkeypatch):
    """`winner gradcheck` checks the graph training runs: with train.dropout, a mask drawn as a step draws
    one, in the loss it differences and in the gradients it compares; a backward that forgets the mask
    fails the check."""
    overrides = ["train.dropout=0.5", "model.hidden=6", f"train.objective={objective}"]
    masks = []
    forward = model.forward
    monkeypatch.setattr(model, "forward", lambda params, windows, activation, mask=None:
                        masks.append(mask) or forward(params, windows, activation, mask))
    check = run_gradcheck("configs/default.yaml", overrides, windows=1, log=lambda _: None)
    assert check.passed and "a dropout mask (train.dropout 0.5) held fixed" in check.batch
    assert masks and all(m is not None and (m == 0).any() for m in masks)
    monkeypatch.setattr(gates, "dropout_backward", lambda dout, mask: dout)
    assert not run_gradcheck("configs/default.yaml", overrides, windows=1, log=lambda _: None).passed


def sample_config(dropout: float, objective: str = "softmax"):
    base = config_module.Config()
    return dataclasses.replace(base, train=dataclasses.replace(base.train, objective=objective, epochs=2,
                                                               dropout=dropout),
                               model=dataclasses.replace(base.model, hidden=16))


def trained(cfg):
    prepared = recipe.prepare(cfg, np.random.default_rng(cfg.train.seed))
    results = list(train.train_epochs(prepared.params, prepared.train, prepared.dev, cfg.train, "tanh",
                                      np.random.default_rng(cfg.train.seed), frozen=prepared.frozen,
                                      objective=prepared.objective))
    return prepared.params, results


@pytest.mark.parametrize("objective", ["softmax", "max_margin"])
def test_training_with_dropout_is_reproducible_and_differs_from_training_without(in_repo_root, objective):
    first, results = trained(sample_config(0.3, objective))
    again, _ = trained(sample_config(0.3, objective))
    without, _ = trained(sample_config(0.0, objective))
    assert all(np.array_equal(first[key], again[key]) for key in first)
    assert not np.array_equal(first["W"], without["W"])
    assert all(np.isfinite(r.loss) for r in results)


@pytest.mark.parametrize("value", ["1", "1.5", "-0.1"])
def test_a_rate_outside_zero_to_one_is_refused_with_the_key(value):
    message = error_message(config_module.from_mapping, {}, [f"train.dropout={value}"])
    assert "train.dropout" in message and "from 0 up to" in message


def test_dump_leaves_out_a_zero_rate_and_writes_a_set_one(tmp_path):
    """A model trained without dropout stays readable by a winner older than the key."""
    assert "dropout" not in config_module.dump(config_module.Config())
    cfg = sample_config(0.2)
    text = config_module.dump(cfg)
    assert "dropout: 0.2" in text and load_text(tmp_path, text) == cfg
