"""From scores to entity spans for raw text lines, and the output formats of
`winner predict`. Imports only what tagging needs, so that `winner predict`
starts quickly; works on whole batches of lines at once, so that a stream of
text costs little Python per token."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property
from itertools import chain
from typing import Iterable, Iterator

import numpy as np

from winner import checkpoint, decode
from winner.checkpoint import LoadedModel
from winner.corpus import spans, split
from winner.metrics import sentence_edges


@dataclass
class Entity:
    text: str
    start: int  # character offset into the input line
    end: int  # exclusive
    score: float  # mean score of its tokens for its type
    first_token: int  # token indices within the line, end exclusive
    end_token: int
    label: str  # its entity type

    def as_dict(self) -> dict:
        return {"text": self.text, "start": self.start, "end": self.end, "score": round(self.score, 4),
                "label": self.label}


@dataclass
class TaggedLine:
    text: str
    tokens: list[str]
    scores: np.ndarray  # (tokens, T) score of each token for each entity type
    types: tuple[str, ...]  # the model's entity types
    runs: list[tuple[int, int, float, int]] = field(default_factory=list)  # entities: first token, end token,
    #                                                                           mean score, type index

    def tags(self) -> list[str]:
        """IOB2 tags of the tokens: every entity starts with B-."""
        tags = ["O"] * len(self.tokens)
        for first, stop, _, kind in self.runs:
            tags[first:stop] = [f"B-{self.types[kind]}"] + [f"I-{self.types[kind]}"] * (stop - first - 1)
        return tags

    @cached_property
    def entities(self) -> list[Entity]:
        """The entities with character offsets into the line (found only when asked: CoNLL output needs none)."""
        if not self.runs:
            return []
        bounds = spans(self.text)
        return [Entity(self.text[bounds[first][0]: bounds[stop - 1][1]], bounds[first][0], bounds[stop - 1][1],
                       mean, first, stop, self.types[kind]) for first, stop, mean, kind in self.runs]


@dataclass
class TaggedBatch:
    """Tagged lines laid end to end: line i's tokens are tokens[offsets[i]: offsets[i+1]]."""

    lines: list[str]
    tokens: list[str]  # (N,)
    offsets: np.ndarray  # (L+1,)
    scores: np.ndarray  # (N, T) score of each token for each entity type
    labels: np.ndarray  # (N,) each token's type index, decode.OUTSIDE (-1) for O
    types: tuple[str, ...]  # the model's entity types
    starts: np.ndarray  # (E,) first token of each entity
    ends: np.ndarray  # (E,) end token of each entity, exclusive
    kinds: np.ndarray  # (E,) type index of each entity
    means: np.ndarray  # (E,) mean score of each entity's tokens for its type

    def line_of(self, tokens: np.ndarray) -> np.ndarray:
        """The line each of the given token indices lies on."""
        return np.searchsorted(self.offsets, tokens, side="right") - 1

    def tagged_lines(self) -> list[TaggedLine]:
        """One TaggedLine per line, each with the token range and mean score of its entities."""
        offsets = self.offsets.tolist()
        tagged = [TaggedLine(line, self.tokens[offsets[i]: offsets[i + 1]], self.scores[offsets[i]: offsets[i + 1]],
                             self.types) for i, line in enumerate(self.lines)]
        for i, start, end, mean, kind in zip(self.line_of(self.starts).tolist(), self.starts.tolist(),
                                             self.ends.tolist(), self.means.tolist(), self.kinds.tolist()):
            tagged[i].runs.append((start - offsets[i], end - offsets[i], mean, kind))
        return tagged

    def conll(self) -> str:
        """Token TAB IOB2 tag on each line, a blank line after each input line's tokens.

        One list of alternating tokens and tag endings, joined once: no Python
        runs per token.
        """
        n = len(self.tokens)
        # code of each token: 0 O, 1 + 2t B-type t, 2 + 2t I-type t; plus K = 1 + 2T on a line's last
        # token, whose ending adds the blank line
        code = np.where(self.labels < 0, 0, 2 + 2 * self.labels)
        code[self.starts] = 1 + 2 * self.kinds
        has_tokens = np.diff(self.offsets) > 0
        code[self.offsets[1:][has_tokens] - 1] += 1 + 2 * len(self.types)
        tags = ("O", *(f"{prefix}-{kind}" for kind in self.types for prefix in "BI"))
        endings = np.array([f"\t{tag}\n" for tag in tags] + [f"\t{tag}\n\n" for tag in tags], dtype=object)
        pieces = [""] * (2 * n)
        pieces[0::2] = self.tokens
        pieces[1::2] = endings[code].tolist()
        lead = ""  # a line without tokens is one blank line, after the block of the line before it
        for line in np.flatnonzero(~has_tokens).tolist():
            tokens_before = int(self.offsets[line])
            if tokens_before:
                pieces[2 * tokens_before - 1] += "\n"
            else:
                lead += "\n"
        return lead + "".join(pieces)

    def inline(self) -> str:
        """The lines with [TYPE ...] around each entity; lines without one are copied as they are."""
        out = list(self.lines)
        lines_with_entities = list(dict.fromkeys(self.line_of(self.starts).tolist()))  # np.unique would import numpy.ma
        tagged = self.tagged_lines() if lines_with_entities else []
        for i in lines_with_entities:
            out[i] = inline(tagged[i])
        return "".join(line + "\n" for line in out)


class Tagger:
    def __init__(self, loaded: LoadedModel):
        self.model = loaded

    def tag_batch(self, lines: list[str]) -> TaggedBatch:
        """Tokenize, score and find the entities of a batch of raw text lines (the rule: winner.decode)."""
        token_lists = [split(line) for line in lines]
        lengths = np.fromiter(map(len, token_lists), np.int64, len(token_lists))  # (L,)
        tokens = list(chain.from_iterable(token_lists))
        windows = self.model.featurizer.windows_flat(tokens, lengths)
        scores = self.model.type_scores(windows)  # (N, T)
        labels = decode.decide(scores, self.model.thresholds)  # (N,)
        starts, ends, kinds = decode.entity_runs(labels, *sentence_edges(lengths))
        chosen = np.take_along_axis(scores, np.maximum(labels, 0)[:, None], axis=1)[:, 0]  # (N,) score of its type
        running = np.concatenate(([0.0], np.cumsum(chosen, dtype=np.float64)))
        means = (running[ends] - running[starts]) / (ends - starts)  # mean score of each entity
        return TaggedBatch(lines, tokens, np.concatenate(([0], np.cumsum(lengths))), scores, labels,
                           self.model.types, starts, ends, kinds, means)

    def tag_lines(self, lines: list[str]) -> list[TaggedLine]:
        """tag_batch(), one TaggedLine per line."""
        return self.tag_batch(lines).tagged_lines()


def inline(tagged: TaggedLine) -> str:
    """The line with [TYPE ...] around each entity."""
    out, cursor = [], 0
    for e in tagged.entities:
        out += [tagged.text[cursor: e.start], f"[{e.label} ", tagged.text[e.start: e.end], "]"]
        cursor = e.end
    out.append(tagged.text[cursor:])
    return "".join(out)


def predict_lines(model_dir, lines: Iterable[str], fmt: str, chunk: int = 4096) -> Iterator[str]:
    """Tag raw text lines, `chunk` at a time. Yields the output in pieces of whole
    records: a batch of lines at a time for conll and inline, one line's record for json."""
    loaded = checkpoint.load(model_dir)
    tagger = Tagger(loaded)

    def records(batch):
        tagged = tagger.tag_batch(batch)
        if fmt == "conll":
            yield tagged.conll()
        elif fmt == "json":
            for line in tagged.tagged_lines():
                entities = [e.as_dict() for e in line.entities]
                yield json.dumps({"text": line.text, "entities": entities}, ensure_ascii=False) + "\n"
        else:
            yield tagged.inline()

    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= chunk:
            yield from records(batch)
            batch = []
    if batch:
        yield from records(batch)
