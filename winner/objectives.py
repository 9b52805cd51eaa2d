"""The two training objectives, each one object that training and decoding ask.

    max_margin  one score s = u . h per window; each step takes true windows
                (centre inside the target type) and k corrupted windows each,
                J = mean max(0, margin - s + s_c)  (Collobert & Weston)
    softmax     one logit per class f = U h, classes O and the entity types;
                each epoch runs over every window of the corpus,
                J = mean -log p(y|x), p(y|x) = exp(f_y) / sum_c exp(f_c)

What differs in training and tagging lives here: the output layer, which
windows an epoch goes over, one step's loss and gradients, and how a window's
scores become one score per (token, entity type), the score a type's
threshold is compared with, and which one-score graph explain splits into
parts. For max_margin a type's score is s itself (one type); for softmax it
is the log-odds of each type, log p(t) - log(1 - p(t)). (gradcheck still
builds its batch by the objective's name: a batch of labelled windows or of
true and corrupted pairs.)
"""

from __future__ import annotations

import numpy as np

from winner import gates, model
from winner.config_values import OBJECTIVES

NAMES = OBJECTIVES  # train.objective's choices, each a class below (make)


def corrupt(data, batch: np.ndarray, k: int, how: str,
            negatives: np.ndarray, vocab_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """k corrupted windows per true window, rows i*k ... i*k+k-1 for true window i.

    'outside': windows drawn uniformly from those whose centre is not a target;
    'replace_centre': the true window with its centre word swapped for a random
    vocabulary word (Collobert & Weston), the other features kept.
    """
    if how == "outside":
        return data.take(negatives[rng.integers(len(negatives), size=len(batch) * k)])
    windows = data.take(np.repeat(batch, k))
    centre = windows["word"].shape[1] // 2
    windows["word"][:, centre] = rng.integers(3, vocab_size, size=len(batch) * k)  # ids 0-2 are specials
    return windows


def step_mask(params, rows: int, rate: float, rng: np.random.Generator) -> np.ndarray | None:
    """The dropout mask of one training step's `rows` windows (rows, D), or None when rate is 0.

    Drawn from training's own generator, so a run is reproduced (and resumed) with it.
    """
    return gates.dropout_mask((rows, params["W"].shape[1]), rate, rng) if rate else None


def log_odds(f: np.ndarray) -> np.ndarray:
    """f (N, C) logits -> (N, C-1) log p(t) - log(1 - p(t)) of every class t but the first (O).

    Computed as f_t - log sum_{c != t} exp(f_c), with that log-sum-exp's max
    taken out first: exact where 1 - p(t) would round to 0.
    """
    out = np.empty((len(f), f.shape[1] - 1), dtype=f.dtype)  # (N, T)
    for t in range(1, f.shape[1]):
        others = np.delete(f, t, axis=1)  # (N, C-1)
        top = others.max(axis=1)  # (N,)
        out[:, t - 1] = f[:, t] - (top + np.log(np.exp(others - top[:, None]).sum(axis=1)))
    return out


class MaxMargin:
    """Today's objective: sampled (true, corrupted) pairs, one target type."""

    name = "max_margin"
    score_name = "score s"  # what a type's score is, for labels
    loss_name, scale_name = "hinge", "train.margin"  # for the divergence message
    label_types = None  # windows need no class labels: a window is true when its centre is inside the target
    summary = None  # nothing to add to training's notes
    logits = False  # the network's one output is the type's score itself

    def __init__(self, types: tuple[str, ...]):
        self.types = tuple(types)  # the one target type

    @property
    def classes(self) -> tuple[str, ...]:
        """What one output of the network scores: the target type."""
        return self.types

    @staticmethod
    def one_score_params(params: dict, chosen: str) -> dict:
        """The parameters of the one-score graph s = u . f(W x + b) for a class: the model's own."""
        return params

    def output_shapes(self, hidden: int) -> dict:
        return {"u": (hidden,)}

    def init_params(self, tables, width: int, hidden: int, rng: np.random.Generator) -> dict:
        return model.init_params(tables, width, hidden, rng)

    def epoch_order(self, data, rng: np.random.Generator) -> np.ndarray:
        """The true windows, shuffled: an epoch is one pass over them."""
        return rng.permutation(np.flatnonzero(data.positive))

    def epoch_size(self, data) -> int:
        return int(data.positive.sum())

    def scale(self, cfg) -> float:
        """The size of healthy losses and scores, in whose units train.DIVERGENCE_BOUND is counted."""
        return cfg.margin

    def step(self, params, data, rows: np.ndarray, cfg, activation: str, frozen, rng) -> tuple[float, dict, int]:
        """Loss and gradients of one batch; returns (J, grads, windows through the network)."""
        vocab_size = params["E_word"].shape[0]
        corrupt_windows = corrupt(data, rows, cfg.k, cfg.corruption, data.negatives, vocab_size, rng)
        mask = step_mask(params, len(rows) * (1 + cfg.k), cfg.dropout, rng)
        loss, grads, _ = model.loss_and_grads(params, data.take(rows), corrupt_windows, activation, cfg.margin, frozen,
                                              mask=mask)
        return loss, grads, len(rows) * (1 + cfg.k)

    def type_scores(self, params, windows, activation: str) -> np.ndarray:
        """(N, 1): the window score s."""
        return self.types_from_outputs(model.score(params, windows, activation))

    @staticmethod
    def types_from_outputs(s: np.ndarray) -> np.ndarray:
        """s (N,) -> (N, 1): the score is the type's score."""
        return s[:, None]


class Softmax:
    """Softmax with cross-entropy over O and the entity types, every window each epoch."""

    name = "softmax"
    score_name = "log-odds"
    loss_name, scale_name = "cross-entropy", None
    logits = True  # the network's outputs are the classes' logits; a type's score is its log-odds

    def __init__(self, types: tuple[str, ...]):
        self.types = tuple(types)  # classes 1 .. T; class 0 is O

    @property
    def classes(self) -> tuple[str, ...]:
        return ("O", *self.types)

    def one_score_params(self, params: dict, chosen: str) -> dict:
        """The one-score graph of class `chosen`'s logit f_c = U_c . h: the graph with u = U_c (row c of U)."""
        one = {key: value for key, value in params.items() if key != "U"}
        one["u"] = params["U"][self.classes.index(chosen)]
        return one

    @property
    def label_types(self) -> tuple[str, ...]:
        """The types whose windows get class labels (winner.recipe.class_labels)."""
        return self.types

    @property
    def summary(self) -> str:
        return f"objective: softmax with cross-entropy over {len(self.classes)} classes: {', '.join(self.classes)}"

    def output_shapes(self, hidden: int) -> dict:
        return {"U": (len(self.classes), hidden)}

    def init_params(self, tables, width: int, hidden: int, rng: np.random.Generator) -> dict:
        return model.init_params(tables, width, hidden, rng, classes=len(self.classes))

    def epoch_order(self, data, rng: np.random.Generator) -> np.ndarray:
        """Every window, shuffled."""
        return rng.permutation(len(data.labels))

    def epoch_size(self, data) -> int:
        return len(data.labels)

    def scale(self, cfg) -> float:
        """Cross-entropy and log-odds have no margin: the divergence bound counts in units of 1."""
        return 1.0

    def step(self, params, data, rows: np.ndarray, cfg, activation: str, frozen, rng) -> tuple[float, dict, int]:
        targets = data.labels if data.soft is None else data.soft  # a teacher's probabilities: winner.distill
        mask = step_mask(params, len(rows), cfg.dropout, rng)
        loss, grads = model.softmax_loss_and_grads(params, data.take(rows), targets[rows], activation, frozen, mask)
        return loss, grads, len(rows)

    def type_scores(self, params, windows, activation: str) -> np.ndarray:
        """(N, T): each entity type's log-odds."""
        return self.types_from_outputs(model.score(params, windows, activation))

    @staticmethod
    def types_from_outputs(f: np.ndarray) -> np.ndarray:
        """f (N, C) logits -> (N, T) log-odds of every type."""
        return log_odds(f)


def make(name: str, types) -> MaxMargin | Softmax:
    """The objective called `name` (train.objective) over these entity types."""
    kinds = {"max_margin": MaxMargin, "softmax": Softmax}
    if name not in kinds:
        raise ValueError(f"unknown objective {name!r}: expected one of {', '.join(kinds)}")
    return kinds[name](types)
