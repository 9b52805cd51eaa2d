"""Parameter updates: plain SGD and AdaGrad, with optional L2.

One loop over the parameter keys serves every parameter. Dense gradients
update the whole array; SparseRows gradients update only the rows a batch
touched, so a step costs the same whatever the vocabulary size.
L2 shrinks the weights W and u (or U) only: shrinking embedding rows would depend on
which rows a step happens to touch, and biases are not shrunk by convention.
"""

from __future__ import annotations

import numpy as np

from winner.gates import SparseRows

DECAYED = ("W", "u", "U")  # train.l2 decays the weight matrices, never embeddings or biases
EPS = 1e-10  # keeps AdaGrad's first step finite


class Optimizer:
    """SGD or AdaGrad over a params dict; `state` holds AdaGrad's squared-gradient sums.

    `state`, when given, is the sums an earlier run saved (optimizer.npz): a
    resumed run continues from them instead of from zero. They are copied, so
    the caller's arrays stay as they were.
    """

    def __init__(self, params: dict, method: str = "adagrad", lr: float = 0.05, l2: float = 0.0,
                 state: dict | None = None):
        self.method, self.lr, self.l2 = method, lr, l2
        if method != "adagrad":
            self.state = {}
        elif state is not None:
            self.state = {k: np.array(state[k], dtype=v.dtype) for k, v in params.items()}
        else:
            self.state = {k: np.zeros_like(v) for k, v in params.items()}

    def step(self, params: dict, grads: dict) -> None:
        for key, grad in grads.items():
            if isinstance(grad, SparseRows):
                params[key][grad.rows] -= self._scaled(key, grad.values, grad.rows)
            else:
                if self.l2 and key in DECAYED:
                    grad = grad + self.l2 * params[key]
                params[key] -= self._scaled(key, grad, None)

    def _scaled(self, key: str, grad: np.ndarray, rows) -> np.ndarray:
        if self.method == "sgd":
            return self.lr * grad
        acc = self.state[key]
        if rows is None:
            acc += grad * grad
            return self.lr * grad / (np.sqrt(acc) + EPS)
        touched = acc[rows] + grad * grad  # (R, d): gathered once, written back once
        acc[rows] = touched
        return self.lr * grad / (np.sqrt(touched) + EPS)
