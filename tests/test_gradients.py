"""Every hand-written gradient against central differences, in float64.

Each gate is checked on its own, then the whole max-margin loss with respect
to every parameter (embedding rows included), for every activation. Negative
controls show the check has teeth: a backward pass with a deliberate mistake
must fail it.
"""

import numpy as np
import pytest

from winner import gates, gradcheck, model
from winner.gates import SparseRows
from winner.optim import Optimizer

TOLERANCE = 1e-6
ACTIVATIONS = sorted(gates.ACTIVATIONS)


def gate_check(forward, backward, inputs, seed=0):
    """Relative errors of backward() against differences of sum(G * forward(inputs)), G random."""
    out, cache = forward(*inputs)
    upstream = np.random.default_rng(seed).standard_normal(np.shape(out))
    analytic = backward(upstream, cache)
    if isinstance(analytic, SparseRows) or not isinstance(analytic, tuple):  # one gradient, not several
        analytic = (analytic,)

    def objective():
        return float(np.sum(upstream * forward(*inputs)[0]))

    return [gradcheck.relative_error(gradcheck.dense(a, x.shape), gradcheck.numeric_gradient(objective, x))
            for a, x in zip(analytic, inputs)]


def away_from_kinks(values, kinks, distance=1e-3):
    """Shift entries that sit near a kink (where the derivative jumps) away from it."""
    for kink in kinks:
        near = np.abs(values - kink) < distance
        values[near] = kink + 0.1
    return values


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_gates(name):
    forward, backward = gates.ACTIVATIONS[name]
    z = away_from_kinks(np.random.default_rng(1).standard_normal((5, 4)) * 2, kinks=(-1.0, 0.0, 1.0))
    (error,) = gate_check(forward, backward, [z])
    assert error < TOLERANCE


def test_affine_gate():
    rng = np.random.default_rng(2)
    x, W, b = rng.standard_normal((5, 6)), rng.standard_normal((4, 6)), rng.standard_normal(4)
    errors = gate_check(gates.affine_forward, gates.affine_backward, [x, W, b])
    assert max(errors) < TOLERANCE


def test_dot_gate():
    rng = np.random.default_rng(3)
    h, u = rng.standard_normal((5, 4)), rng.standard_normal(4)
    errors = gate_check(gates.dot_forward, gates.dot_backward, [h, u])
    assert max(errors) < TOLERANCE


def test_lookup_gate_sums_repeated_rows():
    rng = np.random.default_rng(4)
    table = rng.standard_normal((6, 3))
    ids = np.array([[0, 2, 2], [5, 2, 0]])  # rows 0 and 2 are used more than once

    def forward(t):
        return gates.lookup_forward(t, ids)

    (error,) = gate_check(forward, gates.lookup_backward, [table])
    assert error < TOLERANCE


def test_hinge_gate():
    rng = np.random.default_rng(5)
    s_true = rng.standard_normal(4)
    s_corrupt = s_true[:, None] + rng.choice([-3.0, -0.5, 0.5], size=(4, 3))  # gaps 1 + these: some satisfied, none at 0

    def forward(a, b):
        J, cache = gates.hinge_forward(a, b, 1.0)
        return np.array(J), cache

    def backward(dJ, cache):
        return gates.hinge_backward(float(dJ), cache)

    errors = gate_check(forward, backward, [s_true, s_corrupt])
    assert max(errors) < TOLERANCE
    _, cache = gates.hinge_forward(s_true, s_corrupt, 1.0)
    assert 0 < cache[0].sum() < cache[0].size  # the case really mixes active and satisfied pairs


def loss_problem(activation, seed=0, B=3, k=4, vocab=9, half_window=1, hidden=6):
    """A small float64 problem whose loss is differentiable (no pair or unit at a kink)."""
    for attempt in range(100):
        rng = np.random.default_rng(seed * 1000 + attempt)
        width = 2 * half_window + 1
        tables = {"word": rng.standard_normal((vocab, 4)), "caps": rng.standard_normal((6, 3))}
        params = model.init_params(tables, width, hidden, rng)
        params = {key: value.astype(np.float64) for key, value in params.items()}
        params["b"] = rng.standard_normal(hidden) * 0.3
        params["u"] *= 3.0  # spread scores so that some pairs satisfy the margin
        true = {"word": rng.integers(0, vocab, (B, width)), "caps": rng.integers(0, 6, (B, width))}
        corrupt = {"word": rng.integers(0, vocab, (B * k, width)), "caps": rng.integers(0, 6, (B * k, width))}
        if gradcheck.kink_distance(params, true, corrupt, activation) > 1e-3:
            return params, true, corrupt
    raise AssertionError("no problem away from kinks")


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_whole_loss_gradient_of_every_parameter(activation):
    params, true, corrupt = loss_problem(activation)
    errors = gradcheck.check_loss_gradients(params, true, corrupt, activation)
    assert set(errors) == {"E_word", "E_caps", "W", "b", "u"}
    assert max(errors.values()) < TOLERANCE, errors


def test_problem_has_active_and_satisfied_pairs():
    params, true, corrupt = loss_problem("tanh")
    _, _, active = model.loss_and_grads(params, true, corrupt, "tanh")
    assert 0 < active < 3 * 4


def test_negative_control_wrong_activation_backward_fails(monkeypatch):
    """tanh's backward without its local gradient (1 - h^2) must be caught."""
    forward, _ = gates.ACTIVATIONS["tanh"]
    monkeypatch.setitem(gates.ACTIVATIONS, "tanh", (forward, lambda dh, h: dh))
    params, true, corrupt = loss_problem("tanh")
    errors = gradcheck.check_loss_gradients(params, true, corrupt, "tanh")
    assert errors["W"] > 1e-2 and errors["E_word"] > 1e-2


def test_negative_control_fan_out_overwritten_instead_of_summed(monkeypatch):
    """An embedding row used twice must receive both gradients; keeping only one must be caught."""
    def last_one_wins(dout, cache):
        ids, d = cache
        flat_ids, flat = ids.ravel(), dout.reshape(-1, d)
        rows, first = np.unique(flat_ids[::-1], return_index=True)
        return SparseRows(rows, flat[::-1][first])

    monkeypatch.setattr(gates, "lookup_backward", last_one_wins)
    params, true, corrupt = loss_problem("tanh", vocab=4)  # 4 words in 45 positions: rows repeat
    errors = gradcheck.check_loss_gradients(params, true, corrupt, "tanh")
    assert errors["E_word"] > 1e-2
    assert errors["W"] < TOLERANCE  # the mistake is in the lookup alone


def test_sum_rows_equals_np_add_at():
    rng = np.random.default_rng(7)
    ids = rng.integers(0, 50, 400)
    values = rng.standard_normal((400, 5))
    expected = np.zeros((50, 5))
    np.add.at(expected, ids, values)
    summed = gates.sum_rows(ids, values)
    assert np.array_equal(summed.rows, np.unique(ids))
    np.testing.assert_allclose(summed.to_dense((50, 5)), expected, rtol=1e-12, atol=1e-12)


def test_sum_rows_of_nothing():
    summed = gates.sum_rows(np.zeros(0, np.int64), np.zeros((0, 3)))
    assert summed.rows.size == 0 and summed.values.shape == (0, 3)


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_skipping_satisfied_pairs_gives_the_same_gradients(activation):
    params, true, corrupt = loss_problem(activation, seed=3)
    _, fast, _ = model.loss_and_grads(params, true, corrupt, activation, skip_satisfied=True)
    _, plain, _ = model.loss_and_grads(params, true, corrupt, activation, skip_satisfied=False)
    for key in params:
        np.testing.assert_allclose(gradcheck.dense(fast[key], params[key].shape),
                                   gradcheck.dense(plain[key], params[key].shape), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("method", ["sgd", "adagrad"])
def test_fast_path_trains_to_the_same_parameters(method):
    """Twenty float32 steps with and without skipping satisfied pairs end at the same parameters."""
    start, true, corrupt = loss_problem("tanh", seed=4, B=8, k=5, vocab=30)
    start = {key: value.astype(np.float32) for key, value in start.items()}
    results = []
    for skip in (True, False):
        params = {key: value.copy() for key, value in start.items()}
        optimizer = Optimizer(params, method, lr=0.05, l2=1e-4)
        for _ in range(20):
            _, grads, _ = model.loss_and_grads(params, true, corrupt, "tanh", skip_satisfied=skip)
            optimizer.step(params, grads)
        results.append(params)
    for key in start:
        assert not np.array_equal(results[0][key], start[key]) or key == "E_caps"
        np.testing.assert_allclose(results[0][key], results[1][key], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("method", ["sgd", "adagrad"])
def test_sparse_update_equals_dense_update(method):
    """Updating only the touched rows is the same as updating the whole table with zeros elsewhere."""
    rng = np.random.default_rng(8)
    table = rng.standard_normal((10, 3))
    grad = SparseRows(np.array([1, 4, 7]), rng.standard_normal((3, 3)))
    sparse_params, dense_params = {"E_word": table.copy()}, {"E_word": table.copy()}
    sparse_opt, dense_opt = Optimizer(sparse_params, method, 0.1), Optimizer(dense_params, method, 0.1)
    for _ in range(3):
        sparse_opt.step(sparse_params, {"E_word": grad})
        dense_opt.step(dense_params, {"E_word": grad.to_dense(table.shape)})
    np.testing.assert_allclose(sparse_params["E_word"], dense_params["E_word"], rtol=1e-12)
    untouched = [0, 2, 3, 5, 6, 8, 9]
    assert np.array_equal(sparse_params["E_word"][untouched], table[untouched])
