"""The window network: the computation graph, composed from gates in order.

    ids (N, w) -lookup-> x (N, D) [-dropout(m)-> x m] -affine(W, b)-> z (N, H) -f-> h (N, H) -dot(u)-> s (N,)
                                                                                      -project(U)-> f (N, C)
    max-margin:    J = mean over pairs max(0, margin - s_true + s_corrupt)
    cross-entropy: J = mean over windows -log softmax(f)_y

Legend: N windows, w = 2h+1 positions, d word size, c caps size,
D = w * (d + c), H hidden size, C classes. Parameters and gradients are
dicts with the same keys: E_word (V, d), E_caps (6, c), W (H, D), b (H,),
the output layer, u (H,) for one score or U (C, H) for C class logits, and
the tables of optional features (E_suffix, E_places, E_seen, E_other).
Which output layer a params dict has decides the graph's last gate.
Embedding-table gradients are SparseRows: only the rows a batch touched.
The dropout gate is there only in training steps with train.dropout > 0:
the caller draws the mask m (gates.dropout_mask), so that forward stays a
pure function and a gradient check can hold m fixed.
"""

from __future__ import annotations

import numpy as np

from winner import gates

# window id arrays, in the order their embeddings are concatenated into x
FEATURES = ("word", "caps", "suffix", "places", "seen", "other")


def init_params(tables: dict[str, np.ndarray], width: int, hidden: int,
                rng: np.random.Generator, classes: int | None = None) -> dict[str, np.ndarray]:
    """Glorot-uniform W and output layer, zero b; the embedding tables {feature: (rows, dim)} come ready-made.

    classes None gives the one-score output u (H,); an integer C gives the
    class logits' U (C, H).
    """
    params = {f"E_{name}": tables[name] for name in FEATURES if name in tables}
    D = width * sum(params[f"E_{name}"].shape[1] for name in feature_names(params))
    limit_w = np.sqrt(6.0 / (D + hidden))
    params["W"] = rng.uniform(-limit_w, limit_w, (hidden, D)).astype(np.float32)
    params["b"] = np.zeros(hidden, np.float32)
    if classes is None:
        limit_u = np.sqrt(6.0 / (hidden + 1))
        params["u"] = rng.uniform(-limit_u, limit_u, hidden).astype(np.float32)
    else:
        limit_u = np.sqrt(6.0 / (hidden + classes))
        params["U"] = rng.uniform(-limit_u, limit_u, (classes, hidden)).astype(np.float32)
    return params


def output_key(params) -> str:
    """'u' (one score per window) or 'U' (one logit per class)."""
    return "U" if "U" in params else "u"


# the output layer's gates, by its parameter's key
OUTPUT_GATES = {"u": (gates.dot_forward, gates.dot_backward), "U": (gates.project_forward, gates.project_backward)}


def feature_names(params) -> list[str]:
    return [name for name in FEATURES if f"E_{name}" in params]


def forward(params, windows: dict[str, np.ndarray], activation: str, mask: np.ndarray | None = None):
    """windows: {feature: (N, w) ids} -> s (N,) with u, or f (N, C) with U; cache for backward.

    mask (N, D), if given, is a dropout mask applied to x (training only).
    """
    f_forward, _ = gates.ACTIVATIONS[activation]
    lookups, parts = [], []
    for name in feature_names(params):
        part, cache = gates.lookup_forward(params[f"E_{name}"], windows[name])  # (N, w*d)
        parts.append(part)
        lookups.append((name, cache))
    x = np.concatenate(parts, axis=1) if len(parts) > 1 else parts[0]  # (N, D)
    if mask is not None:
        x, mask = gates.dropout_forward(x, mask)  # (N, D)
    z, affine = gates.affine_forward(x, params["W"], params["b"])  # (N, H)
    h, act = f_forward(z)  # (N, H)
    out = output_key(params)
    s, dot = OUTPUT_GATES[out][0](h, params[out])  # (N,) or (N, C)
    return s, {"lookups": lookups, "dropout": mask, "affine": affine, "activation": act, "dot": dot,
               "fn": activation, "out": out}


def backward(ds: np.ndarray, cache, frozen=()) -> dict:
    """ds (N,) = dJ/ds, or (N, C) = dJ/df -> gradients of every parameter not in `frozen`."""
    _, f_backward = gates.ACTIVATIONS[cache["fn"]]
    dh, du = OUTPUT_GATES[cache["out"]][1](ds, cache["dot"])  # (N, H), (H,) or (C, H)
    dz = f_backward(dh, cache["activation"])  # (N, H)
    dx, dW, db = gates.affine_backward(dz, cache["affine"])  # (N, D), (H, D), (H,)
    if cache["dropout"] is not None:
        dx = gates.dropout_backward(dx, cache["dropout"])  # (N, D)
    grads = {"W": dW, "b": db, cache["out"]: du}
    offset = 0
    for name, (ids, d) in cache["lookups"]:
        width = ids.shape[1] * d
        key = f"E_{name}"
        if key not in frozen:
            grads[key] = gates.lookup_backward(dx[:, offset: offset + width], (ids, d))
        offset += width
    return grads


def select_windows(cache, rows: np.ndarray):
    """The cache of a forward pass restricted to some of its windows."""
    x, W = cache["affine"]
    h, u = cache["dot"]
    return {
        "lookups": [(name, (ids[rows], d)) for name, (ids, d) in cache["lookups"]],
        "dropout": None if cache["dropout"] is None else cache["dropout"][rows],
        "affine": (x[rows], W),
        "activation": cache["activation"][rows],
        "dot": (h[rows], u),
        "fn": cache["fn"],
        "out": cache["out"],
    }


def score(params, windows: dict[str, np.ndarray], activation: str, batch: int = 4096) -> np.ndarray:
    """s (N,) (or f (N, C)) for every window, in batches so memory stays flat on large corpora."""
    n = len(next(iter(windows.values())))
    out = np.empty((n, *params[output_key(params)].shape[:-1]), dtype=params["W"].dtype)
    for start in range(0, n, batch):
        part = {k: v[start: start + batch] for k, v in windows.items()}
        out[start: start + batch], _ = forward(params, part, activation)
    return out


def score_pairs(params, true_windows, corrupt_windows, activation: str, mask: np.ndarray | None = None):
    """One forward pass over B true windows and their B*k corrupted ones -> s_true (B,), s_corrupt (B, k), cache.

    mask (B + Bk, D), if given, is the dropout mask of the true windows' rows, then the corrupted ones'.
    """
    B = len(next(iter(true_windows.values())))
    both = {k: np.concatenate([true_windows[k], corrupt_windows[k]]) for k in true_windows}  # (B + Bk, w)
    s, cache = forward(params, both, activation, mask)  # (B + Bk,)
    return s[:B], s[B:].reshape(B, -1), cache


def loss_and_grads(params, true_windows, corrupt_windows, activation: str, margin: float = 1.0,
                   frozen=(), skip_satisfied: bool = True, mask: np.ndarray | None = None):
    """Max-margin loss of B true windows against k corrupted ones each.

    true_windows: {feature: (B, w)}; corrupt_windows: {feature: (B*k, w)},
    the k corrupted windows of true window i at rows i*k ... i*k+k-1.
    mask (B + Bk, D): an optional dropout mask (score_pairs). Returns (J, grads, active_pairs). With skip_satisfied, backward runs only
    on windows whose pairs still violate the margin: the others have
    dJ/ds = 0 exactly and add nothing to any gradient.
    """
    s_true, s_corrupt, cache = score_pairs(params, true_windows, corrupt_windows, activation, mask)  # (B,), (B, k)
    J, hinge = gates.hinge_forward(s_true, s_corrupt, margin)
    ds_true, ds_corrupt = gates.hinge_backward(1.0, hinge)
    ds = np.concatenate([ds_true, ds_corrupt.ravel()]).astype(s_true.dtype)  # (B + Bk,)
    if skip_satisfied:
        rows = np.flatnonzero(ds)
        cache, ds = select_windows(cache, rows), ds[rows]
    return J, backward(ds, cache, frozen), int(hinge[0].sum())


def softmax_loss_and_grads(params, windows, labels: np.ndarray, activation: str, frozen=(),
                           mask: np.ndarray | None = None):
    """Cross-entropy of N windows' class logits against their classes, or against target probabilities.

    windows: {feature: (N, w)}; labels (N,) class ids into the rows of U, or (N, C) a teacher's
    class probabilities (winner.distill). Returns (J, grads): J = (1/N) sum_i -log p(y_i|x_i),
    or (1/N) sum_i -sum_c q_ic log p(c|x_i), p = softmax(U h_i). mask (N, D): an optional dropout mask.
    """
    f, cache = forward(params, windows, activation, mask)  # (N, C)
    forward_ce, backward_ce = ((gates.soft_ce_forward, gates.soft_ce_backward) if labels.ndim == 2
                               else (gates.softmax_ce_forward, gates.softmax_ce_backward))
    J, ce = forward_ce(f, labels)
    df = backward_ce(1.0, ce).astype(f.dtype)  # (N, C)
    return J, backward(df, cache, frozen)


def score_hidden(params, z: np.ndarray, activation: str) -> np.ndarray:
    """s (N,) or f (N, C) from the hidden pre-activation z (N, H) = W x + b: f, then the output layer,
    as forward() computes them (winner.fastscore finds z another way)."""
    f_forward, _ = gates.ACTIVATIONS[activation]
    h, _ = f_forward(z)  # (N, H)
    out = output_key(params)
    s, _ = OUTPUT_GATES[out][0](h, params[out])  # (N,) or (N, C)
    return s
