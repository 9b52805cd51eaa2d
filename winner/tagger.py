"""From scores to entity spans for raw text lines, and the output formats of
`winner predict`. Imports only what tagging needs, so that `winner predict`
starts quickly; works on whole batches of lines at once, so that a stream of
text costs little Python per token."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterable, Iterator

import numpy as np

from winner import checkpoint, model
from winner.checkpoint import LoadedModel
from winner.corpus import spans, split
from winner.metrics import runs_within, sentence_edges


@dataclass
class Entity:
    text: str
    start: int  # character offset into the input line
    end: int  # exclusive
    score: float  # mean window score of its tokens
    first_token: int  # token indices within the line, end exclusive
    end_token: int

    def as_dict(self) -> dict:
        return {"text": self.text, "start": self.start, "end": self.end, "score": round(self.score, 4)}


@dataclass
class TaggedLine:
    text: str
    tokens: list[str]
    scores: np.ndarray  # (tokens,) window score of each token
    runs: list[tuple[int, int, float]] = field(default_factory=list)  # entities: first token, end token, mean score

    def tags(self, target: str) -> list[str]:
        """IOB2 tags of the tokens: every entity starts with B-."""
        tags = ["O"] * len(self.tokens)
        for first, stop, _ in self.runs:
            tags[first:stop] = [f"B-{target}"] + [f"I-{target}"] * (stop - first - 1)
        return tags

    @cached_property
    def entities(self) -> list[Entity]:
        """The entities with character offsets into the line (found only when asked: CoNLL output needs none)."""
        if not self.runs:
            return []
        bounds = spans(self.text)
        return [Entity(self.text[bounds[first][0]: bounds[stop - 1][1]], bounds[first][0], bounds[stop - 1][1],
                       mean, first, stop) for first, stop, mean in self.runs]


class Tagger:
    def __init__(self, loaded: LoadedModel):
        self.model = loaded
        self.activation = loaded.config.model.activation

    def tag_lines(self, lines: list[str]) -> list[TaggedLine]:
        """Tokenize, score and find the entities of a batch of raw text lines."""
        token_lists = [split(line) for line in lines]
        lengths = np.fromiter(map(len, token_lists), np.int64, len(token_lists))  # (L,)
        windows = self.model.featurizer.windows(token_lists)
        scores = model.score(self.model.params, windows, self.activation)  # (N,)
        starts, ends = runs_within(scores > self.model.threshold, *sentence_edges(lengths))
        offsets = np.concatenate(([0], np.cumsum(lengths)))  # (L+1,)
        line_of_run = np.searchsorted(offsets, starts, side="right") - 1
        running = np.concatenate(([0.0], np.cumsum(scores, dtype=np.float64)))
        means = (running[ends] - running[starts]) / (ends - starts)  # mean score of each entity
        tagged = [TaggedLine(line, tokens, scores[offsets[i]: offsets[i + 1]])
                  for i, (line, tokens) in enumerate(zip(lines, token_lists))]
        for i, start, end, mean in zip(line_of_run.tolist(), starts.tolist(), ends.tolist(), means.tolist()):
            tagged[i].runs.append((start - offsets[i], end - offsets[i], mean))
        return tagged


def inline(tagged: TaggedLine, target: str) -> str:
    """The line with [TARGET ...] around each entity."""
    out, cursor = [], 0
    for e in tagged.entities:
        out += [tagged.text[cursor: e.start], f"[{target} ", tagged.text[e.start: e.end], "]"]
        cursor = e.end
    out.append(tagged.text[cursor:])
    return "".join(out)


def predict_lines(model_dir, lines: Iterable[str], fmt: str, chunk: int = 4096) -> Iterator[str]:
    """Tag raw text lines; yields one output record per input line."""
    loaded = checkpoint.load(model_dir)
    tagger = Tagger(loaded)
    target = loaded.target

    def records(batch):
        for tagged in tagger.tag_lines(batch):
            if fmt == "json":
                entities = [dict(e.as_dict(), label=target) for e in tagged.entities]
                yield json.dumps({"text": tagged.text, "entities": entities}, ensure_ascii=False) + "\n"
            elif fmt == "conll":
                yield "".join(f"{t}\t{tag}\n" for t, tag in zip(tagged.tokens, tagged.tags(target))) + "\n"
            else:
                yield inline(tagged, target) + "\n"

    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= chunk:
            yield from records(batch)
            batch = []
    if batch:
        yield from records(batch)
