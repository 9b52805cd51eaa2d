"""Knowledge distillation: one model trained on a teacher's class probabilities (train.teacher).

An ensemble (winner.ensemble) tags at n members' cost. A single network
trained to reproduce its class probabilities, softmax(mean of the members'
logits), on the training windows tags at one model's cost and keeps part of
its gain (Hinton, Vinyals & Dean 2015, "Distilling the knowledge in a
neural network"; Buciluǎ et al. 2006). The loss is the cross-entropy against
the teacher's probabilities q instead of the gold class,

    J = (1/N) sum_i -sum_c q_ic log p(c|x_i),   dJ/df = (p - q) / N

(winner.gates.soft_ce_*: softmax_ce's p - onehot(y) with q for the one-hot
row), at temperature 1. The teacher sees each training window as it saw text
in training: through its own featurizer, with the held-out names-seen-in-
training classes (winner.gazetteer.held_out_classes), so it need not share
the student's vocabulary or features; it must be a softmax model of the same
classes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from winner import checkpoint
from winner.errors import WinnerError


def load_teacher(path, classes: tuple[str, ...]) -> checkpoint.LoadedModel:
    """The teacher model directory (train.teacher), checked to be a softmax model over `classes`
    (O first, then the student's entity types, in order); a WinnerError names the key otherwise."""
    teacher = checkpoint.load(path)
    if teacher.objective_name != "softmax":
        raise WinnerError(f"train.teacher: {path} is a {teacher.objective_name} model; a teacher gives class "
                          f"probabilities, so it must be a softmax model")
    theirs = teacher.objective.classes
    if tuple(theirs) != tuple(classes):
        raise WinnerError(f"train.teacher: {path} has classes {', '.join(theirs)}, the model trained has "
                          f"{', '.join(classes)}; they must be the same, in the same order")
    return teacher


def soft_targets(teacher: checkpoint.LoadedModel, sentences: list, gazetteer_classes) -> np.ndarray:
    """(N, C) float32: the teacher's class probabilities for the windows of the N tokens of
    `sentences` (softmax of its logits, through its fast path); gazetteer_classes as for
    Featurizer.windows (held-out training classes), None when the teacher has no gazetteer."""
    windows = teacher.featurizer.windows([s.tokens for s in sentences],
                                         gazetteer_classes if teacher.featurizer.gazetteers else None)
    f = teacher.scorer.score(windows).astype(np.float64)  # (N, C) logits
    f -= f.max(axis=1, keepdims=True)
    p = np.exp(f)
    return (p / p.sum(axis=1, keepdims=True)).astype(np.float32)


def summary(path, q: np.ndarray, labels: np.ndarray) -> str:
    """A line for training's notes: how often the teacher's likeliest class is the gold one."""
    agree = float(np.mean(q.argmax(axis=1) == labels)) if len(labels) else 0.0
    return (f"teacher {Path(path)}: trained on its class probabilities; its likeliest class is the gold one "
            f"for {agree:.2%} of the training windows")
