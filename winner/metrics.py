"""Entity-level scores with conlleval's chunk rules, and the threshold search.

An entity is counted correct only when its start, end and type all match a
gold entity. Improper sequences are repaired as conlleval repairs them: an
I- tag that follows O, or a tag of another type, opens a new entity. IOBES
tags are read with the rules of the IOBES-aware conlleval (E- and S- close
an entity), which seqeval's default mode shares.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np


def _split(tag: str) -> tuple[str, str]:
    if tag == "O":
        return "O", ""
    return tag[0], tag[2:]


def _ends(prev_tag, tag, prev_type, type_) -> bool:
    """conlleval's endOfChunk: does an entity end between the previous token and this one?"""
    if prev_tag in ("E", "S"):
        return True
    if prev_tag in ("B", "I") and tag in ("B", "S", "O"):
        return True
    return prev_tag != "O" and prev_type != type_


def _starts(prev_tag, tag, prev_type, type_) -> bool:
    """conlleval's startOfChunk: does an entity start at this token?"""
    if tag in ("B", "S"):
        return True
    if tag in ("I", "E") and prev_tag in ("E", "S", "O"):
        return True
    return tag != "O" and prev_type != type_


def chunks(tags) -> list[tuple[str, int, int]]:
    """Entities of one sentence as (type, start, end), end exclusive."""
    found = []
    prev_tag, prev_type, start = "O", "", None
    for i, tag in enumerate(list(tags) + ["O"]):
        tag_, type_ = _split(tag)
        if start is not None and _ends(prev_tag, tag_, prev_type, type_):
            found.append((prev_type, start, i))
            start = None
        if _starts(prev_tag, tag_, prev_type, type_):
            start = i
        prev_tag, prev_type = tag_, type_
    return found


@dataclass(frozen=True)
class Scores:
    precision: float
    recall: float
    f1: float
    gold: int  # entities in the gold standard
    predicted: int  # entities the model found
    correct: int  # predicted entities that match a gold one exactly

    @classmethod
    def from_counts(cls, gold: int, predicted: int, correct: int) -> "Scores":
        p = correct / predicted if predicted else 0.0
        r = correct / gold if gold else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return cls(p, r, f, gold, predicted, correct)

    def as_dict(self) -> dict:
        return asdict(self)


def score_spans(gold: set, predicted: set) -> Scores:
    """Scores of two sets of (sentence, type, start, end) entities."""
    return Scores.from_counts(len(gold), len(predicted), len(gold & predicted))


def score_tags(gold_sentences, predicted_sentences, entity_type: str | None = None) -> Scores:
    """conlleval's entity scores of tag sequences, for one type or (None) for all."""
    gold, predicted = set(), set()
    for index, (g, p) in enumerate(zip(gold_sentences, predicted_sentences)):
        gold |= {(index, *c) for c in chunks(g) if entity_type in (None, c[0])}
        predicted |= {(index, *c) for c in chunks(p) if entity_type in (None, c[0])}
    return score_spans(gold, predicted)


def sentence_edges(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(N,) bool masks of the first and the last token of each sentence laid end to end."""
    n = int(lengths.sum())
    ends = np.cumsum(lengths)
    first, last = np.zeros(n, bool), np.zeros(n, bool)
    first[(ends - lengths)[lengths > 0]] = True
    last[ends[lengths > 0] - 1] = True
    return first, last


def label_runs(labels: np.ndarray, first: np.ndarray, last: np.ndarray, outside) -> tuple[np.ndarray, np.ndarray]:
    """Maximal runs of one label other than `outside` that stay inside one sentence: (starts, ends), ends exclusive.

    labels, first, last: (N,) over the concatenated tokens of all sentences; first/last mark each
    sentence's edge tokens, and a sentence edge always ends a run (conlleval never joins sentences).
    """
    inside = labels != outside
    same_prev = np.concatenate(([False], labels[1:] == labels[:-1])) & ~first
    same_next = np.concatenate((labels[:-1] == labels[1:], [False])) & ~last
    return np.flatnonzero(inside & ~same_prev), np.flatnonzero(inside & ~same_next) + 1


def runs_within(positive: np.ndarray, first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Maximal runs of positive tokens (N,) bool inside one sentence: the entities of one type's decisions."""
    return label_runs(positive, first, last, outside=False)


class SpanScorer:
    """Scores binary token decisions against gold entities of one type, fast.

    Tokens of all sentences are concatenated; a predicted entity is a maximal
    run of positive tokens inside one sentence. Gold and predicted entities are
    encoded as integers start * (n + 1) + end so that matching is one np.isin.
    """

    def __init__(self, sentence_lengths, gold_tag_sentences, entity_type: str):
        lengths = np.asarray(sentence_lengths, dtype=np.int64)
        self.n = int(lengths.sum())
        offsets = np.concatenate(([0], np.cumsum(lengths)))
        self.first, self.last = sentence_edges(lengths)
        keys = [(offsets[i] + s) * (self.n + 1) + offsets[i] + e
                for i, tags in enumerate(gold_tag_sentences)
                for (t, s, e) in chunks(tags) if t == entity_type]
        self.gold_keys = np.unique(np.array(keys, dtype=np.int64))

    def gold_spans(self) -> tuple[np.ndarray, np.ndarray]:
        """(starts, ends) of the gold entities, token indices into the concatenated sentences, ends
        exclusive: (G,) each."""
        return self.gold_keys // (self.n + 1), self.gold_keys % (self.n + 1)

    def predicted_keys(self, positive: np.ndarray) -> np.ndarray:
        starts, ends = runs_within(positive, self.first, self.last)
        return starts * (self.n + 1) + ends

    def __call__(self, positive: np.ndarray) -> Scores:
        keys = self.predicted_keys(positive)
        correct = int(np.isin(keys, self.gold_keys, assume_unique=True).sum())
        return Scores.from_counts(len(self.gold_keys), len(keys), correct)


def best_threshold(scores: np.ndarray, scorer: SpanScorer, candidates: int = 400) -> tuple[float, Scores]:
    """The threshold that maximises entity F1 on these scores (ties: the higher threshold).

    Candidates lie midway between neighbouring scores, at evenly spaced ranks
    among the highest scores: a threshold only matters where it separates two.
    """
    if scores.size == 0:
        return 0.0, scorer(np.zeros(0, bool))
    ordered = np.sort(scores)[::-1]
    top = min(ordered.size, 4 * max(len(scorer.gold_keys), 1) + 100)
    ranks = np.unique(np.linspace(0, top - 1, min(candidates, top)).astype(int))
    below = np.concatenate((ordered, [ordered[-1] - 1.0]))  # past the lowest score: everything positive
    thresholds = (below[ranks] + below[ranks + 1]) / 2.0
    thresholds = np.concatenate(([ordered[0] + 1.0], thresholds))  # above the highest: nothing positive
    best = (-1.0, 0.0, None)
    for t in thresholds:
        result = scorer(scores > t)
        if result.f1 > best[0]:
            best = (result.f1, float(t), result)
    return best[1], best[2]


def iob2_codes(starts: np.ndarray, ends: np.ndarray, kinds: np.ndarray, n: int) -> np.ndarray:
    """(n,) each token's IOB2 tag as a number, 0 for O, 1 + 2k for B- and 2 + 2k for I- of type k, from
    the entities' starts, ends (exclusive) and type indices k, (E,) each, which do not overlap."""
    code = np.zeros(n, np.int64)
    lengths = ends - starts
    inside = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(int(lengths.sum()))
    code[inside] = np.repeat(2 + 2 * kinds, lengths)
    code[starts] = 1 + 2 * kinds
    return code


def tag_accuracy(gold_codes: np.ndarray, predicted_codes: np.ndarray) -> float:
    """conlleval's token accuracy: the share of tokens whose whole tag, B-, I- or O and type, is right
    (conlleval.pl counts a token correct when both its chunk tag and its type equal the gold ones).
    The codes are iob2_codes'; 0.0 for no tokens."""
    return float((gold_codes == predicted_codes).mean()) if gold_codes.size else 0.0


def report(overall: Scores, per_type: dict[str, Scores], tokens: int, accuracy: float) -> str:
    """conlleval's text report, line for line: the overall line, then one line per entity type (the
    formats of conlleval.pl's printf calls, so that scripts that read its output read this)."""
    lines = [
        f"processed {tokens} tokens with {overall.gold} phrases; "
        f"found: {overall.predicted} phrases; correct: {overall.correct}.\n",
        f"accuracy: {100 * accuracy:6.2f}%; "
        f"precision: {100 * overall.precision:6.2f}%; recall: {100 * overall.recall:6.2f}%; "
        f"FB1: {100 * overall.f1:6.2f}\n",
    ]
    for entity_type, scores in per_type.items():
        lines.append(f"{entity_type:>17}: precision: {100 * scores.precision:6.2f}%; "
                     f"recall: {100 * scores.recall:6.2f}%; FB1: {100 * scores.f1:6.2f}  {scores.predicted}\n")
    return "".join(lines)
