"""A model's mistakes on a CoNLL file, most confident first: `winner eval --errors N`.

A false positive is a predicted entity that matches no gold entity, a false
negative a gold entity that no predicted entity matches, by the same exact
rule as the scores (start, end and type), so there are predicted - correct
of the first and gold - correct of the second. Each is shown in its sentence
with the span marked and scored by the mean window score of its tokens; the
ones to look at first are the false positives the model scored highest and
the false negatives it scored lowest (most sure they were not locations).
For a model of several entity types the lists are those of its target type
(data.target), scored by that type's log-odds; a token counts as predicted
target when decode.decide gives it the target type.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

CONTEXT = 12  # tokens shown on each side of a span; longer sentences are cut with '...'


@dataclass
class Mistake:
    text: str  # the span's tokens, space-separated
    score: float  # mean window score of its tokens
    line: int  # line of its first token in the file
    context: str  # its sentence with the span marked

    def as_dict(self) -> dict:
        return {"text": self.text, "score": round(self.score, 4), "line": self.line, "context": self.context}


@dataclass
class Mistakes:
    false_positives: list[Mistake]  # the listed ones, at most `limit`
    false_negatives: list[Mistake]
    false_positive_count: int  # all of them
    false_negative_count: int


def marked(tokens: list[str], start: int, end: int, target: str) -> str:
    """The sentence with [TARGET ...] around tokens start..end, cut to CONTEXT tokens each side."""
    left, right = max(0, start - CONTEXT), min(len(tokens), end + CONTEXT)
    words = tokens[left:start] + [f"[{target} " + " ".join(tokens[start:end]) + "]"] + tokens[end:right]
    return ("... " if left else "") + " ".join(words) + (" ..." if right < len(tokens) else "")


def find(scored, limit: int = 10) -> Mistakes:
    """Up to `limit` false positives (highest score first) and false negatives (lowest first)
    of a winner.scoring.ScoredFile, at its model's threshold.

    The entities are the scorer's own, the very ones eval counts, so the lists
    always agree with the counts.
    """
    target, sentences, scorer = scored.loaded.target, scored.sentences, scored.dev.scorer
    scores = scored.scores[:, scored.dev.target]  # (N,) the target type's scores
    predicted = scorer.predicted_keys(scored.labels == scored.dev.target)
    offsets = np.concatenate(([0], np.cumsum([len(s.tokens) for s in sentences])))  # (S+1,)

    def mistakes(keys: np.ndarray) -> list[Mistake]:
        """The entities whose keys are given (start * (n + 1) + end, file order), each in its sentence."""
        starts, ends = np.divmod(keys, scorer.n + 1)  # in the file's tokens
        sentence = np.searchsorted(offsets, starts, side="right") - 1
        firsts, stops = starts - offsets[sentence], ends - offsets[sentence]  # in the sentence's tokens
        found = []
        for i, start, end, first, stop in zip(sentence.tolist(), starts.tolist(), ends.tolist(),
                                              firsts.tolist(), stops.tolist()):
            tokens = sentences[i].tokens
            found.append(Mistake(" ".join(tokens[first:stop]), float(np.mean(scores[start:end])),
                                 sentences[i].line + first, marked(tokens, first, stop, target)))
        return found

    false_positives = mistakes(np.setdiff1d(predicted, scorer.gold_keys, assume_unique=True))
    false_negatives = mistakes(np.setdiff1d(scorer.gold_keys, predicted, assume_unique=True))
    false_positives.sort(key=lambda m: -m.score)  # stable: ties keep file order
    false_negatives.sort(key=lambda m: m.score)
    return Mistakes(false_positives[:limit], false_negatives[:limit], len(false_positives), len(false_negatives))


def render_text(found: Mistakes, data_file) -> str:
    """Both lists under a heading each, one mistake a line: score, file:line, marked sentence."""
    lines = [""]
    for heading, listed, order in ((f"false positives: {found.false_positive_count} predicted entities match "
                                    f"no gold entity", found.false_positives, "highest"),
                                   (f"false negatives: {found.false_negative_count} gold entities were missed",
                                    found.false_negatives, "lowest")):
        lines.append(heading + (f"; the {len(listed)} scored {order}:" if listed else ""))
        lines += [f"  {m.score:+8.3f}  {data_file}:{m.line}  {m.context}" for m in listed]
    return "\n".join(lines) + "\n"
