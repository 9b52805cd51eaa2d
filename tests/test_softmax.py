"""The softmax objective's maths: the cross-entropy gate, the class logits,
the whole loss w.r.t. every parameter (float64 central differences, with a
negative control), the log-odds, and the decision rule over several types."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from test_gradients import ACTIVATIONS, TOLERANCE, gate_check
from winner import config as config_module, decode, gates, gradcheck, model, objectives, recipe, train
from winner.metrics import SpanScorer, sentence_edges

C = 5  # classes: O and four entity types


def test_softmax_ce_gate():
    rng = np.random.default_rng(0)
    f, y = rng.standard_normal((6, C)) * 3, rng.integers(0, C, 6)

    def forward(logits):
        J, cache = gates.softmax_ce_forward(logits, y)
        return np.array(J), cache

    (error,) = gate_check(forward, lambda dJ, cache: gates.softmax_ce_backward(float(dJ), cache), [f])
    assert error < TOLERANCE


def test_softmax_ce_backward_is_p_minus_onehot_over_n():
    f, y = np.array([[0.0, np.log(3.0)], [2.0, 2.0]]), np.array([1, 0])  # p = (1/4, 3/4) and (1/2, 1/2)
    J, cache = gates.softmax_ce_forward(f, y)
    assert J == pytest.approx((-np.log(0.75) - np.log(0.5)) / 2, abs=1e-15)
    np.testing.assert_allclose(gates.softmax_ce_backward(1.0, cache), [[0.125, -0.125], [-0.25, 0.25]], atol=1e-15)


def test_softmax_ce_is_stable_for_large_logits():
    """log-sum-exp: logits far beyond exp's range give the loss of the same logits shifted to 0."""
    f, y = np.array([[1000.0, 0.0, -1000.0], [0.0, 2.0, 1.0]]), np.array([1, 2])
    with np.errstate(over="raise", invalid="raise"):
        J, cache = gates.softmax_ce_forward(f, y)
        df = gates.softmax_ce_backward(1.0, cache)
    assert J == pytest.approx(gates.softmax_ce_forward(f - f.max(axis=1, keepdims=True), y)[0], rel=1e-15)
    assert np.isfinite(J) and np.isfinite(df).all()
    # row 0: -log p_1 = 1000 + log(1 + e^-1000 + e^-2000); row 1: -log p_2 = log(1 + e^2 + e) - 1
    assert J == pytest.approx((1000.0 + np.log(1 + np.e ** 2 + np.e) - 1.0) / 2, rel=1e-12)


def test_project_gate():
    rng = np.random.default_rng(1)
    h, U = rng.standard_normal((5, 4)), rng.standard_normal((C, 4))
    assert max(gate_check(gates.project_forward, gates.project_backward, [h, U])) < TOLERANCE


def softmax_problem(activation, seed=0, N=12, vocab=9, half_window=1, hidden=6):
    """A small float64 problem with every class present, hidden units away from kinks."""
    for attempt in range(100):
        rng = np.random.default_rng(seed * 1000 + attempt)
        width = 2 * half_window + 1
        tables = {"word": rng.standard_normal((vocab, 4)), "caps": rng.standard_normal((6, 3))}
        params = model.init_params(tables, width, hidden, rng, classes=C)
        params = {key: value.astype(np.float64) for key, value in params.items()}
        params["b"] = rng.standard_normal(hidden) * 0.3
        windows = {"word": rng.integers(0, vocab, (N, width)), "caps": rng.integers(0, 6, (N, width))}
        labels = np.arange(N) % C
        if gradcheck.activation_kink_distance(params, windows, activation) > 1e-3:
            return params, windows, labels
    raise AssertionError("no problem away from kinks")


def check_softmax_loss(params, windows, labels, activation) -> dict[str, float]:
    def loss():
        return model.softmax_loss_and_grads(params, windows, labels, activation)[0]

    _, grads = model.softmax_loss_and_grads(params, windows, labels, activation)
    return {key: gradcheck.relative_error(gradcheck.dense(grads[key], params[key].shape),
                                          gradcheck.numeric_gradient(loss, params[key]))
            for key in params}


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_whole_cross_entropy_loss_gradient_of_every_parameter(activation):
    errors = check_softmax_loss(*softmax_problem(activation), activation)
    assert set(errors) == {"E_word", "E_caps", "W", "b", "U"}
    assert max(errors.values()) < TOLERANCE, errors


def test_negative_control_softmax_backward_without_the_onehot(monkeypatch):
    """df = p (forgetting the - onehot(y) of the correct class) must be caught."""
    def forgets_onehot(dJ, cache):
        p, y = cache
        return p * dJ / len(y)

    monkeypatch.setattr(gates, "softmax_ce_backward", forgets_onehot)
    errors = check_softmax_loss(*softmax_problem("tanh"), "tanh")
    assert errors["U"] > 1e-2 and errors["W"] > 1e-2


def test_one_score_models_draw_what_they_drew_before_the_class_output():
    """Max-margin figures stay the same for a seed only if init draws what it drew before U existed:
    Glorot-uniform W (H, D), then u (H,), from the one generator, written out here independently."""
    tables = {"word": np.ones((4, 2), np.float32)}
    params = model.init_params(tables, 3, 4, np.random.default_rng(5))
    rng, D, H = np.random.default_rng(5), 3 * 2, 4
    W = rng.uniform(-np.sqrt(6.0 / (D + H)), np.sqrt(6.0 / (D + H)), (H, D)).astype(np.float32)
    u = rng.uniform(-np.sqrt(6.0 / (H + 1)), np.sqrt(6.0 / (H + 1)), H).astype(np.float32)
    assert set(params) == {"E_word", "W", "b", "u"}
    np.testing.assert_array_equal(params["W"], W)
    np.testing.assert_array_equal(params["u"], u)


# --------------------------------------------------------------------------- log-odds


def test_log_odds_is_log_p_over_one_minus_p():
    f = np.random.default_rng(2).standard_normal((20, C)) * 2
    p = np.exp(gates.log_softmax(f))
    np.testing.assert_allclose(objectives.log_odds(f), np.log(p[:, 1:]) - np.log1p(-p[:, 1:]), rtol=1e-9, atol=1e-12)


def test_log_odds_stays_finite_where_one_minus_p_rounds_to_zero():
    f = np.array([[0.0, 120.0, 0.0], [0.0, -120.0, 0.0]], np.float32)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        odds = objectives.log_odds(f)
    assert odds.dtype == np.float32
    np.testing.assert_allclose(odds[:, 0], [120.0 - np.log(2.0), -120.0 - np.log(2.0)], rtol=1e-6)


# --------------------------------------------------------------------------- decisions


def test_decide_takes_the_likeliest_type_that_clears_its_threshold():
    scores = np.array([[2.0, 3.0], [2.0, 0.5], [0.5, 0.5], [1.5, 5.0]])
    thresholds = np.array([1.0, 4.0])
    # row 0: only type 0 clears (3.0 < 4.0); row 1: type 0; row 2: none; row 3: both, type 1 is likelier
    assert decode.decide(scores, thresholds).tolist() == [0, 0, decode.OUTSIDE, 1]


def test_decide_with_one_type_is_score_above_threshold():
    scores = np.random.default_rng(3).standard_normal((50, 1)).astype(np.float32)
    assert np.array_equal(decode.decide(scores, [0.1]) == 0, scores[:, 0] > np.float64(0.1))


def test_entity_runs_split_on_type_changes_and_sentence_edges():
    labels = np.array([0, 0, 1, 1, -1, 1, 1, 0])
    first, last = sentence_edges(np.array([6, 2]))  # the second sentence starts at token 6
    starts, ends, kinds = decode.entity_runs(labels, first, last)
    assert list(zip(starts.tolist(), ends.tolist(), kinds.tolist())) == [(0, 2, 0), (2, 4, 1), (5, 6, 1), (6, 7, 1),
                                                                         (7, 8, 0)]


def test_per_type_scores_and_overall_count_every_type():
    tags = [["B-LOC", "I-LOC", "B-PER", "O"], ["B-PER", "O"]]
    scorers = [SpanScorer([4, 2], tags, kind) for kind in ("LOC", "PER")]
    labels = np.array([0, 0, 1, 1, 1, -1])  # LOC right; PER 2..4 too long; PER at 4 right
    per_type = decode.score_types(labels, scorers)
    assert [(s.gold, s.predicted, s.correct) for s in per_type] == [(1, 1, 1), (2, 2, 1)]
    overall = decode.overall(per_type)
    assert (overall.gold, overall.predicted, overall.correct) == (3, 3, 2)


def test_smooth_pulls_each_type_column_alone():
    scores = np.array([[1.0, 0.0], [3.0, 4.0], [5.0, 8.0]])
    smoothed = decode.smooth(scores, np.array([0, 0, 1]), 0.5)
    np.testing.assert_allclose(smoothed, [[1.5, 1.0], [2.5, 3.0], [5.0, 8.0]])


def test_a_blown_up_softmax_model_stops_at_the_first_step(in_repo_root):
    """The divergence bound counts cross-entropy and log-odds in units of 1 (no margin)."""
    base = config_module.Config()
    cfg = dataclasses.replace(base, train=dataclasses.replace(base.train, objective="softmax", epochs=2),
                              model=dataclasses.replace(base.model, hidden=8))
    prepared = recipe.prepare(cfg, np.random.default_rng(0))
    assert prepared.objective.scale(cfg.train) == 1.0
    prepared.params["U"] *= np.float32(1e9)  # logits near 1e8: finite, but far beyond any healthy run
    steps = []
    [result] = train.train_epochs(prepared.params, prepared.train, prepared.dev, cfg.train, "tanh",
                                  np.random.default_rng(0), on_step=lambda *a: steps.append(a),
                                  objective=prepared.objective)
    assert result.diverged and steps == [] and "cross-entropy loss" in result.stop_reason
