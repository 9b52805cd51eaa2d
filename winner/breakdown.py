"""Scores on the slices of a file that predict how a model does on text it has not seen:
`winner eval --breakdown`.

Two ways to slice the entities of the model's target type:

- seen / unseen in training: whether the entity's string, lowercased, is the
  string of a target entity of the training data. A model directory keeps
  those strings in NAMES_FILE (one a line, tokens joined by one space),
  written when the model is saved; a model saved before winner wrote it
  cannot tell, and says so.
- the casing of the entity's sentence: mixed, lower or upper
  (winner.casing.sentence_casing).

A slice's counts follow conlleval's rule, exact start, end and type, within
the slice: gold = the gold entities in the slice; predicted = the predicted
entities in the slice, judged by their own string and sentence; correct =
the predicted entities in the slice that match a gold entity. A correct
entity has its gold entity's string and sentence, so it is in the same
slice: precision = correct / predicted and recall = correct / gold of the
slice, and the slices of one kind add up to the whole file's counts. A
false positive on an unseen string (an organisation named after a place)
lowers the unseen slice's precision.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from winner.casing import SENTENCE_CASINGS, sentence_casing
from winner.errors import lines, read_text
from winner.gazetteer import names_in
from winner.metrics import Scores

NAMES_FILE = "training-names.txt"
SEEN = ("seen", "unseen")


def training_names(sentences, target: str) -> list[str]:
    """The distinct lowercased strings of the target entities of `sentences`, sorted: what NAMES_FILE holds."""
    return sorted({" ".join(name).lower() for name in names_in(sentences, target)})


def names_text(names: list[str]) -> str:
    return "".join(name + "\n" for name in names)


def read_names(model_dir) -> set[str] | None:
    """The training names a model directory records, or None when it records none (an older model).

    Lines end at \n only (winner.errors.lines), as everywhere winner reads text: a token may hold
    U+2028 or U+0085. An unreadable file, or one that is not UTF-8, is a WinnerError naming it.
    """
    path = Path(model_dir) / NAMES_FILE
    if not path.is_file():
        return None
    return set(lines(read_text(path, "training names file")))


def unavailable(model_dir) -> str:
    return (f"{Path(model_dir) / NAMES_FILE} is missing: the model was saved before winner recorded the "
            f"names it saw in training; retrain it to get this slice")


def _slice_scores(correct: np.ndarray, gold_slice: np.ndarray, predicted_slice: np.ndarray, names) -> dict[str, dict]:
    """{slice name: Scores as a dict}: gold_slice (G,) and predicted_slice (P,) hold each entity's slice,
    correct (P,) whether each predicted entity matches a gold one."""
    return {name: Scores.from_counts(int((gold_slice == name).sum()), int((predicted_slice == name).sum()),
                                     int((correct & (predicted_slice == name)).sum())).as_dict()
            for name in names}


def breakdown(scored, positive: np.ndarray, names: set[str] | None) -> dict:
    """Scores of the slices of a winner.scoring.ScoredFile whose tokens `positive` (N,) bool the model tags.

    Returns {"seen_in_training": {"seen": scores, "unseen": scores} or None when `names` is None,
    "casing": {"mixed": ..., "lower": ..., "upper": ...}}, each scores a dict of precision,
    recall, f1, gold, predicted, correct. The entities are the scorer's own, the very ones
    eval counts.
    """
    scorer, sentences = scored.dev.scorer, scored.sentences
    tokens = [t for s in sentences for t in s.tokens]
    offsets = np.concatenate(([0], np.cumsum([len(s.tokens) for s in sentences])))  # (S+1,)
    casing = np.array([sentence_casing(s.tokens) for s in sentences])  # (S,)
    predicted = scorer.predicted_keys(positive)  # (P,)
    correct = np.isin(predicted, scorer.gold_keys, assume_unique=True)  # (P,)

    def slices(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(seen or unseen, casing of the sentence) of the entities whose keys are given."""
        starts, ends = np.divmod(keys, scorer.n + 1)
        strings = [" ".join(tokens[a:b]).lower() for a, b in zip(starts.tolist(), ends.tolist())]
        seen = np.array([SEEN[name not in names] for name in strings] if names is not None else [], dtype=object)
        return seen, casing[np.searchsorted(offsets, starts, side="right") - 1]

    gold_seen, gold_casing = slices(scorer.gold_keys)
    predicted_seen, predicted_casing = slices(predicted)
    return {
        "seen_in_training": None if names is None else
        _slice_scores(correct, gold_seen, predicted_seen, SEEN),
        "casing": _slice_scores(correct, gold_casing, predicted_casing, SENTENCE_CASINGS),
    }


LABELS = {"seen": "seen in training", "unseen": "unseen in training",
          "mixed": "mixed-case sentences", "lower": "lowercase sentences", "upper": "uppercase sentences"}


def render_text(result: dict, target: str, reason: str | None = None) -> str:
    """A table of the slices, conlleval's numbers in conlleval's units; `reason` says why the
    seen/unseen slice is missing when it is."""
    lines = ["", f"breakdown of {target}: conlleval's counts within each slice; recall over the slice's gold",
             "entities, precision over the predicted entities whose own string and sentence are in the slice",
             f"  {'slice':<22}{'gold':>6}{'found':>7}{'correct':>9}{'precision':>11}{'recall':>9}{'FB1':>8}"]
    kinds = [result["casing"]]
    if result["seen_in_training"] is not None:
        kinds.insert(0, result["seen_in_training"])
    for kind in kinds:
        for name, s in kind.items():
            lines.append(f"  {LABELS[name]:<22}{s['gold']:>6}{s['predicted']:>7}{s['correct']:>9}"
                         f"{100 * s['precision']:>10.2f}%{100 * s['recall']:>8.2f}%{100 * s['f1']:>8.2f}")
    if result["seen_in_training"] is None:
        lines.append(f"  seen/unseen in training: unavailable: {reason}")
    return "\n".join(lines) + "\n"
