"""The computation graph's gates, each a pure pair of functions.

    forward(inputs...)   -> (output, cache)
    backward(upstream, cache) -> gradients of the inputs

Every backward line is one application of the chain rule,
downstream = upstream x local gradient. Nothing is stored between calls
except what the cache carries. Shapes: N windows, w = 2h+1 positions,
d embedding size, D = w * (sum of embedding sizes), H hidden units.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class SparseRows(NamedTuple):
    """Gradient of an embedding table that touches only some rows: table[rows] += values."""

    rows: np.ndarray  # (R,) distinct row ids, sorted
    values: np.ndarray  # (R, d)

    def to_dense(self, shape) -> np.ndarray:
        dense = np.zeros(shape, dtype=self.values.dtype)
        dense[self.rows] = self.values
        return dense


# --- embedding lookup: x = table[ids], flattened per window -----------------

def lookup_forward(table: np.ndarray, ids: np.ndarray):
    """table (V, d), ids (N, w) -> out (N, w*d)."""
    # (N, w*d), the width spelled out so that N = 0 (a line without tokens) works too;
    # np.take gathers rows faster than table[ids].
    out = np.take(table, ids, axis=0).reshape(len(ids), ids.shape[1] * table.shape[1])
    return out, (ids, table.shape[1])


def lookup_backward(dout: np.ndarray, cache) -> SparseRows:
    """Fan-out adds up: a row used by several positions receives the sum of their gradients."""
    ids, d = cache
    return sum_rows(ids.ravel(), dout.reshape(-1, d))  # (N*w,), (N*w, d)


def sum_rows(ids: np.ndarray, values: np.ndarray) -> SparseRows:
    """Sum `values` (M, d) grouped by `ids` (M,).

    Sorting once and adding contiguous runs (np.add.reduceat) gives the same
    sums as np.add.at, many times faster.
    """
    if ids.size == 0:
        return SparseRows(ids.astype(np.int64), values[:0])
    order = np.argsort(ids, kind="stable")
    sorted_ids = ids[order]
    starts = np.flatnonzero(np.concatenate(([True], sorted_ids[1:] != sorted_ids[:-1])))  # (R,) first of each run
    return SparseRows(sorted_ids[starts], np.add.reduceat(values[order], starts, axis=0))


# --- affine: z = W x + b -----------------------------------------------------

def affine_forward(x: np.ndarray, W: np.ndarray, b: np.ndarray):
    """x (N, D), W (H, D), b (H,) -> z (N, H)."""
    z = x @ W.T  # (N, H)
    z += b  # in place: no second (N, H) array
    return z, (x, W)


def affine_backward(dz: np.ndarray, cache):
    """-> dx (N, D), dW (H, D), db (H,)."""
    x, W = cache
    dx = dz @ W  # (N, D): dz/dx = W
    dW = dz.T @ x  # (H, D): each z_i = W_i . x, so dz_i/dW_i = x
    db = dz.sum(axis=0)  # (H,): dz/db = 1, summed over windows
    return dx, dW, db


# --- dropout on the input layer: x' = x * m ----------------------------------

def dropout_mask(shape: tuple, rate: float, rng: np.random.Generator) -> np.ndarray:
    """A float32 mask of `shape` (N, D): 0 with probability `rate`, else 1 / (1 - rate).

    Inverted dropout (Srivastava et al. 2014): dividing the kept entries by the
    keep probability makes E[x * m] = x, so tagging uses x as it is, unmasked
    and unscaled. rate in [0, 1).
    """
    keep = rng.random(shape, dtype=np.float32) >= rate
    return keep * np.float32(1.0 / (1.0 - rate))


def dropout_forward(x: np.ndarray, mask: np.ndarray):
    """x (N, D), mask (N, D) from dropout_mask -> x * mask (N, D)."""
    return x * mask, mask


def dropout_backward(dout: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """-> dx (N, D) = dout * mask: d(x_i m_i)/dx_i = m_i, the mask held fixed."""
    return dout * mask


# --- element-wise nonlinearities: h = f(z) ------------------------------------

def tanh_forward(z):
    h = np.tanh(z)
    return h, h


def tanh_backward(dh, h):
    return dh * (1.0 - h * h)  # tanh' = 1 - tanh^2


def sigmoid_forward(z):
    h = 0.5 * (1.0 + np.tanh(0.5 * z))  # the same value as 1/(1+e^-z), without overflow
    return h, h


def sigmoid_backward(dh, h):
    return dh * h * (1.0 - h)  # sigma' = sigma (1 - sigma)


def hardtanh_forward(z):
    return np.clip(z, -1.0, 1.0), z


def hardtanh_backward(dh, z):
    return dh * ((z > -1.0) & (z < 1.0))  # slope 1 inside [-1, 1], 0 outside


def relu_forward(z):
    return np.maximum(z, 0.0), z


def relu_backward(dh, z):
    return dh * (z > 0)


ACTIVATIONS = {
    "tanh": (tanh_forward, tanh_backward),
    "sigmoid": (sigmoid_forward, sigmoid_backward),
    "hardtanh": (hardtanh_forward, hardtanh_backward),
    "relu": (relu_forward, relu_backward),
}


# --- score: s = u . h ---------------------------------------------------------

def dot_forward(h: np.ndarray, u: np.ndarray):
    """h (N, H), u (H,) -> s (N,)."""
    return h @ u, (h, u)


def dot_backward(ds: np.ndarray, cache):
    """-> dh (N, H), du (H,)."""
    h, u = cache
    dh = np.outer(ds, u)  # (N, H): ds/dh = u
    du = h.T @ ds  # (H,): ds/du = h, summed over windows
    return dh, du


# --- class logits: f = U h ----------------------------------------------------

def project_forward(h: np.ndarray, U: np.ndarray):
    """h (N, H), U (C, H) -> f (N, C), one logit per class (the lecture's s = U f(Wx + b), no bias)."""
    return h @ U.T, (h, U)


def project_backward(df: np.ndarray, cache):
    """-> dh (N, H), dU (C, H)."""
    h, U = cache
    dh = df @ U  # (N, H): df_c/dh = U_c, summed over classes
    dU = df.T @ h  # (C, H): df_c/dU_c = h, summed over windows
    return dh, dU


# --- softmax with cross-entropy: J = mean -log p(y|x) ------------------------

def log_softmax(f: np.ndarray) -> np.ndarray:
    """f (N, C) -> log p (N, C), log p_c = f_c - log sum_c' exp(f_c'), with the max subtracted
    first (log-sum-exp) so that no exp overflows."""
    shifted = f - f.max(axis=1, keepdims=True)  # (N, C), largest entry 0
    return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))


def softmax_ce_forward(f: np.ndarray, y: np.ndarray):
    """f (N, C) logits, y (N,) class ids -> J = (1/N) sum_i -log p(y_i|x_i), cache (p, y)."""
    log_p = log_softmax(f)  # (N, C)
    J = -float(log_p[np.arange(len(y)), y].mean()) if len(y) else 0.0
    return J, (np.exp(log_p), y)


def softmax_ce_backward(dJ: float, cache) -> np.ndarray:
    """-> df (N, C) = dJ (p - onehot(y)) / N.

    The lecture's derivation: for the correct class, d(-log p_y)/df_y = p_y - 1;
    for every other class c, d(-log p_y)/df_c = p_c. The mean over N windows
    divides by N.
    """
    p, y = cache
    df = p.copy()  # (N, C): p_c for c != y
    df[np.arange(len(y)), y] -= 1.0  # p_y - 1 for the correct class
    df *= dJ / max(len(y), 1)
    return df


def soft_ce_forward(f: np.ndarray, q: np.ndarray):
    """f (N, C) logits, q (N, C) target probabilities (each row sums to 1) ->
    J = (1/N) sum_i -sum_c q_ic log p(c|x_i), cache (p, q): the cross-entropy against a teacher's
    probabilities (knowledge distillation, Hinton, Vinyals & Dean 2015, at temperature 1)."""
    log_p = log_softmax(f)  # (N, C)
    J = -float((q * log_p).sum() / len(q)) if len(q) else 0.0
    return J, (np.exp(log_p), q)


def soft_ce_backward(dJ: float, cache) -> np.ndarray:
    """-> df (N, C) = dJ (p - q) / N: softmax_ce_backward's p - onehot(y) with the one-hot row
    replaced by the target distribution (sum_c q_c = 1 gives the same derivation)."""
    p, q = cache
    return (p - q) * (dJ / max(len(q), 1))


# --- max-margin loss: J = mean max(0, margin - s + s_c) ----------------------

def hinge_forward(s_true: np.ndarray, s_corrupt: np.ndarray, margin: float = 1.0):
    """s_true (B,), s_corrupt (B, k) -> J, the mean over the B*k pairs."""
    gaps = margin - s_true[:, None] + s_corrupt  # (B, k)
    active = gaps > 0  # pairs that still violate the margin
    return float(np.sum(gaps, where=active) / gaps.size), (active,)


def hinge_backward(dJ: float, cache):
    """-> ds_true (B,), ds_corrupt (B, k). Satisfied pairs give exactly zero."""
    (active,) = cache
    ds_corrupt = active * (dJ / active.size)  # (B, k): dJ/ds_c = +1/(Bk) where active
    ds_true = -ds_corrupt.sum(axis=1)  # (B,): dJ/ds = -1/(Bk) per active pair
    return ds_true, ds_corrupt
