"""From scores to tags and entity spans, for token lists and raw text lines."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from winner import model
from winner.checkpoint import LoadedModel
from winner.corpus import tokenize


@dataclass
class Entity:
    text: str
    start: int  # character offset into the input line (tokens: index of the first token)
    end: int  # exclusive
    score: float  # mean window score of its tokens

    def as_dict(self) -> dict:
        return {"text": self.text, "start": self.start, "end": self.end, "score": round(self.score, 4)}


def runs(positive: np.ndarray) -> list[tuple[int, int]]:
    """Maximal runs of True as (start, end) token indices: consecutive location tokens form one entity."""
    edges = np.flatnonzero(np.diff(np.concatenate(([0], positive.astype(np.int8), [0]))))
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist()))


def iob2(positive: np.ndarray, target: str) -> list[str]:
    tags = ["O"] * len(positive)
    for start, end in runs(positive):
        tags[start] = f"B-{target}"
        for i in range(start + 1, end):
            tags[i] = f"I-{target}"
    return tags


class Tagger:
    def __init__(self, loaded: LoadedModel):
        self.model = loaded
        self.activation = loaded.config.model.activation

    def scores(self, token_lists) -> list[np.ndarray]:
        """Window scores of every token, one array per sentence, scored in one pass."""
        windows = self.model.featurizer.windows(token_lists)
        flat = model.score(self.model.params, windows, self.activation)
        bounds = np.cumsum([len(t) for t in token_lists])[:-1]
        return np.split(flat, bounds)

    def tag_lines(self, lines) -> list[tuple[list[tuple[str, int, int]], np.ndarray, list[Entity]]]:
        """For each raw text line: its tokens with offsets, their scores and the entities found."""
        tokenized = [tokenize(line) for line in lines]
        all_scores = self.scores([[t for t, _, _ in tokens] for tokens in tokenized])
        out = []
        for line, tokens, scores in zip(lines, tokenized, all_scores):
            entities = []
            for start, end in runs(scores > self.model.threshold):
                first, last = tokens[start][1], tokens[end - 1][2]
                entities.append(Entity(line[first:last], first, last, float(scores[start:end].mean())))
            out.append((tokens, scores, entities))
        return out
