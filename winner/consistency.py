"""Document consistency: a post-processing step that looks beyond the window.

A name tends to keep its type within a document: 'Texas' in a paragraph
about a court case is a place every time. Each token's score is pulled
toward the mean score of the same token string in the same document:

    s'_i = (1 - w) s_i + w mean{ s_j : token_j = token_i, doc_j = doc_i }

With w = 0 (the default) scores are untouched; the threshold is picked on
dev after the step, so the two always go together.
"""

from __future__ import annotations

import numpy as np

from winner.keys import surface


def groups(tokens: list[str], docs: list[int]) -> np.ndarray:
    """(N,) group id of each token: equal for equal strings in the same document (strings compared
    as features see them, in normal form C without invisible characters: winner.keys.surface)."""
    index: dict[tuple[int, str], int] = {}
    forms = [t if t.isascii() else surface(t) for t in tokens]
    return np.fromiter((index.setdefault((d, t), len(index)) for t, d in zip(forms, docs)), np.int64, len(tokens))


def smooth(scores: np.ndarray, group: np.ndarray, weight: float) -> np.ndarray:
    """Scores pulled toward their group's mean by `weight` in [0, 1]."""
    if weight == 0 or scores.size == 0:
        return scores
    sums = np.bincount(group, weights=scores)  # (G,)
    counts = np.bincount(group)  # (G,)
    mean = (sums / counts)[group]  # (N,)
    return ((1.0 - weight) * scores + weight * mean).astype(scores.dtype)
