"""From scores per (token, entity type) to one label per token, and per-type scores.

Every model gives one score per token and entity type (winner.objectives):
the window score s for a max-margin model (one type), each type's log-odds
log p(t) - log(1 - p(t)) for a softmax model. Each type has its own
threshold, picked on dev (metrics.best_threshold on that type's column).

The rule: a token takes, among the types whose score is above their own
threshold, the one with the highest score (for log-odds, the highest
probability, since log-odds grows with p(t)); a token where no type clears
its threshold is O. Consecutive tokens of the same type inside a sentence
form one entity. With one type this is today's rule, s > threshold.
"""

from __future__ import annotations

import numpy as np

from winner import consistency, metrics

OUTSIDE = -1  # the label of a token outside every entity


def decide(scores: np.ndarray, thresholds) -> np.ndarray:
    """scores (N, T), thresholds (T,) -> labels (N,) int64: the index of the token's type, or OUTSIDE."""
    # compared in float64, as metrics.best_threshold compares when it picks the thresholds
    cleared = scores > np.asarray(thresholds, dtype=np.float64)  # (N, T); one type: exactly s > threshold
    best = np.where(cleared, scores, -np.inf).argmax(axis=1)  # (N,) highest score among the cleared types
    return np.where(cleared.any(axis=1), best, OUTSIDE).astype(np.int64)


def smooth(scores: np.ndarray, groups: np.ndarray, weight: float) -> np.ndarray:
    """Document consistency (winner.consistency) applied to each type's column of (N, T) scores."""
    if weight == 0:
        return scores
    return np.stack([consistency.smooth(scores[:, t], groups, weight) for t in range(scores.shape[1])], axis=1)


def pick_thresholds(scores: np.ndarray, scorers: list) -> np.ndarray:
    """(T,) each type's F1-maximising threshold on its own column of scores (N, T)."""
    return np.array([metrics.best_threshold(scores[:, t], scorer)[0] for t, scorer in enumerate(scorers)])


def score_types(labels: np.ndarray, scorers: list) -> list[metrics.Scores]:
    """Entity scores of each type, from the labels decide() gave."""
    return [scorer(labels == t) for t, scorer in enumerate(scorers)]


def overall(per_type: list[metrics.Scores]) -> metrics.Scores:
    """conlleval's overall line: entities of every type counted together."""
    return metrics.Scores.from_counts(sum(s.gold for s in per_type), sum(s.predicted for s in per_type),
                                      sum(s.correct for s in per_type))


def entity_runs(labels: np.ndarray, first: np.ndarray, last: np.ndarray):
    """Entities of labels (N,): (starts, ends, types), ends exclusive. An entity is a maximal run of
    tokens of one type inside one sentence (first, last: (N,) sentence edge masks)."""
    starts, ends = metrics.label_runs(labels, first, last, OUTSIDE)
    return starts, ends, labels[starts]
