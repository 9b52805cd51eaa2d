"""Where the time of one training step goes: `python tests/profile_step.py [CONFIG]`.

Replays the steps of one epoch of configs/bench.yaml (by default) phase by
phase, the way winner.model.loss_and_grads and winner.optim compose them,
and prints the mean time of each phase per step. Run it on a quiet machine;
it trains nothing that is kept.
"""

from __future__ import annotations

import sys
import time
from collections import defaultdict

import numpy as np

from winner import config as config_module, gates, model, objectives, recipe
from winner.optim import Optimizer


def main() -> None:
    config_path = sys.argv[1] if len(sys.argv) > 1 else "configs/bench.yaml"
    cfg = config_module.load(config_path)
    rng = np.random.default_rng(cfg.train.seed)
    prepared = recipe.prepare(cfg, rng)
    params, data, t = prepared.params, prepared.train, cfg.train
    f_forward, f_backward = gates.ACTIVATIONS[cfg.model.activation]
    optimizer = Optimizer(params, t.optimizer, t.lr, t.l2)
    positives, negatives = np.flatnonzero(data.positive), np.flatnonzero(~data.positive)
    spent: dict[str, float] = defaultdict(float)
    clock = time.perf_counter

    def timed(name, fn, *args):
        started = clock()
        out = fn(*args)
        spent[name] += clock() - started
        return out

    order = rng.permutation(positives)
    steps = 0
    for start in range(0, len(order), t.batch_size):
        batch = order[start: start + t.batch_size]
        true = timed("sample windows", data.take, batch)
        corrupt = timed("sample windows", objectives.corrupt, data, batch, t.k, t.corruption, negatives,
                        params["E_word"].shape[0], rng)
        both = timed("sample windows", lambda: {k: np.concatenate([true[k], corrupt[k]]) for k in true})
        parts, caches = [], []
        for name in model.feature_names(params):
            part, cache = timed("forward: lookup", gates.lookup_forward, params[f"E_{name}"], both[name])
            parts.append(part)
            caches.append((name, cache))
        x = timed("forward: lookup", np.concatenate, parts, 1)
        z, affine = timed("forward: affine Wx+b", gates.affine_forward, x, params["W"], params["b"])
        h, act = timed("forward: activation", f_forward, z)
        s, dot = timed("forward: score u.h", gates.dot_forward, h, params["u"])
        B = len(batch)
        J, hinge = timed("hinge", gates.hinge_forward, s[:B], s[B:].reshape(B, -1), t.margin)
        ds_true, ds_corrupt = timed("hinge", gates.hinge_backward, 1.0, hinge)
        ds = np.concatenate([ds_true, ds_corrupt.ravel()]).astype(s.dtype)
        rows = timed("select active windows", np.flatnonzero, ds)
        cache = timed("select active windows", model.select_windows,
                      {"lookups": caches, "affine": affine, "activation": act, "dot": dot, "fn": cfg.model.activation},
                      rows)
        dh, du = timed("backward: score", gates.dot_backward, ds[rows], cache["dot"])
        dz = timed("backward: activation", f_backward, dh, cache["activation"])
        dx, dW, db = timed("backward: affine", gates.affine_backward, dz, cache["affine"])
        grads = {"W": dW, "b": db, "u": du}
        offset = 0
        for name, (ids, d) in cache["lookups"]:
            width = ids.shape[1] * d
            grads[f"E_{name}"] = timed("backward: embedding row sums", gates.lookup_backward,
                                       dx[:, offset: offset + width], (ids, d))
            offset += width
        timed("update (AdaGrad)", optimizer.step, params, grads)
        steps += 1
    total = sum(spent.values())
    windows = len(order) * (1 + t.k)
    print(f"{config_path}: {steps} steps of {t.batch_size} true + {t.batch_size * t.k} corrupted windows, "
          f"{windows / total:,.0f} windows/s over the phases below (first epoch)")
    for name, seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {name:32s} {1e3 * seconds / steps:7.3f} ms/step  {100 * seconds / total:5.1f}%")
    print(f"  {'total':32s} {1e3 * total / steps:7.3f} ms/step")


if __name__ == "__main__":
    main()
