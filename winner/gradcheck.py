"""Numerical gradient checks: every analytic gradient against central differences.

    dJ/dp ~ (J(p + eps) - J(p - eps)) / (2 eps), one entry of one parameter at a time

Run in float64, so that the differences measure the backward pass and not
rounding. Kinks (the hinge at 0, relu at 0, hardtanh at +-1) have no
derivative; `kink_distance` tells how close a problem is to one so that a
check can pick a problem away from them.
"""

from __future__ import annotations

import numpy as np

from winner import model
from winner.gates import SparseRows


def relative_error(analytic: np.ndarray, numeric: np.ndarray) -> float:
    """||a - n|| / (||a|| + ||n||), 0 when both are zero."""
    denominator = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    return float(np.linalg.norm(analytic - numeric) / denominator) if denominator else 0.0


def numeric_gradient(f, array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar function f() w.r.t. every entry of `array`, changed in place."""
    grad = np.zeros_like(array)
    flat, out = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        plus = f()
        flat[i] = saved - eps
        minus = f()
        flat[i] = saved
        out[i] = (plus - minus) / (2 * eps)
    return grad


def dense(grad, shape) -> np.ndarray:
    return grad.to_dense(shape) if isinstance(grad, SparseRows) else grad


def check_loss_gradients(params: dict, true_windows: dict, corrupt_windows: dict, activation: str,
                         margin: float = 1.0, eps: float = 1e-6) -> dict[str, float]:
    """Relative error of every parameter's gradient of the max-margin loss (params in float64)."""
    def loss():
        return model.loss_and_grads(params, true_windows, corrupt_windows, activation, margin)[0]

    _, grads, _ = model.loss_and_grads(params, true_windows, corrupt_windows, activation, margin)
    return {key: relative_error(dense(grads[key], params[key].shape), numeric_gradient(loss, params[key], eps))
            for key in params}


def kink_distance(params: dict, true_windows: dict, corrupt_windows: dict, activation: str,
                  margin: float = 1.0, mask: np.ndarray | None = None) -> float:
    """How far the problem is from the nearest point where the loss has no derivative (mask: the dropout
    mask held fixed, model.score_pairs)."""
    s_true, s_corrupt, cache = model.score_pairs(params, true_windows, corrupt_windows, activation, mask)
    gaps = margin - s_true[:, None] + s_corrupt
    z = cache["affine"][0] @ params["W"].T + params["b"]
    return min(float(np.abs(gaps).min()), _unit_distance(z, activation))


def activation_kink_distance(params: dict, windows: dict, activation: str, mask: np.ndarray | None = None) -> float:
    """How far the hidden units are from the activation's kinks (inf for smooth ones): the only
    kinks of the cross-entropy loss, which is smooth in the logits (mask: the dropout mask held fixed)."""
    _, cache = model.forward(params, windows, activation, mask)
    return _unit_distance(cache["affine"][0] @ params["W"].T + params["b"], activation)


def _unit_distance(z: np.ndarray, activation: str) -> float:
    if activation == "relu":
        return float(np.abs(z).min())
    if activation == "hardtanh":
        return float(np.abs(np.abs(z) - 1.0).min())
    return float("inf")
