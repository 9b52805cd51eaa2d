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

from winner import checkpoint
from winner.checkpoint import LoadedModel
from winner.corpus import spans, split
from winner.fastscore import FastScorer
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


@dataclass
class TaggedBatch:
    """Tagged lines laid end to end: line i's tokens are tokens[offsets[i]: offsets[i+1]]."""

    lines: list[str]
    tokens: list[str]  # (N,)
    offsets: np.ndarray  # (L+1,)
    scores: np.ndarray  # (N,) window score of each token
    starts: np.ndarray  # (E,) first token of each entity
    ends: np.ndarray  # (E,) end token of each entity, exclusive
    means: np.ndarray  # (E,) mean score of each entity's tokens

    def line_of(self, tokens: np.ndarray) -> np.ndarray:
        """The line each of the given token indices lies on."""
        return np.searchsorted(self.offsets, tokens, side="right") - 1

    def tagged_lines(self) -> list[TaggedLine]:
        """One TaggedLine per line, each with the token range and mean score of its entities."""
        offsets = self.offsets.tolist()
        tagged = [TaggedLine(line, self.tokens[offsets[i]: offsets[i + 1]], self.scores[offsets[i]: offsets[i + 1]])
                  for i, line in enumerate(self.lines)]
        for i, start, end, mean in zip(self.line_of(self.starts).tolist(), self.starts.tolist(),
                                       self.ends.tolist(), self.means.tolist()):
            tagged[i].runs.append((start - offsets[i], end - offsets[i], mean))
        return tagged

    def conll(self, target: str) -> str:
        """Token TAB IOB2 tag on each line, a blank line after each input line's tokens.

        One list of alternating tokens and tag endings, joined once: no Python
        runs per token.
        """
        n = len(self.tokens)
        change = np.zeros(n + 1, np.int64)
        change[self.starts] += 1
        change[self.ends] -= 1  # an entity may end where the next line's begins
        # code of each token: 0 O, 1 B-, 2 I-; plus 3 on a line's last token, whose ending adds the blank line
        code = (np.cumsum(change[:n]) > 0) * 2
        code[self.starts] = 1
        has_tokens = np.diff(self.offsets) > 0
        code[self.offsets[1:][has_tokens] - 1] += 3
        tags = ("O", f"B-{target}", f"I-{target}")
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

    def inline(self, target: str) -> str:
        """The lines with [TARGET ...] around each entity; lines without one are copied as they are."""
        out = list(self.lines)
        lines_with_entities = list(dict.fromkeys(self.line_of(self.starts).tolist()))  # np.unique would import numpy.ma
        tagged = self.tagged_lines() if lines_with_entities else []
        for i in lines_with_entities:
            out[i] = inline(tagged[i], target)
        return "".join(line + "\n" for line in out)


class Tagger:
    def __init__(self, loaded: LoadedModel):
        self.model = loaded
        self.activation = loaded.config.model.activation
        self.scorer = FastScorer(loaded.params, self.activation, loaded.featurizer.width)  # kept across batches

    def tag_batch(self, lines: list[str]) -> TaggedBatch:
        """Tokenize, score and find the entities of a batch of raw text lines."""
        token_lists = [split(line) for line in lines]
        lengths = np.fromiter(map(len, token_lists), np.int64, len(token_lists))  # (L,)
        tokens = list(chain.from_iterable(token_lists))
        windows = self.model.featurizer.windows_flat(tokens, lengths)
        scores = self.scorer.score(windows)  # (N,)
        starts, ends = runs_within(scores > self.model.threshold, *sentence_edges(lengths))
        running = np.concatenate(([0.0], np.cumsum(scores, dtype=np.float64)))
        means = (running[ends] - running[starts]) / (ends - starts)  # mean score of each entity
        return TaggedBatch(lines, tokens, np.concatenate(([0], np.cumsum(lengths))), scores, starts, ends, means)

    def tag_lines(self, lines: list[str]) -> list[TaggedLine]:
        """tag_batch(), one TaggedLine per line."""
        return self.tag_batch(lines).tagged_lines()


def inline(tagged: TaggedLine, target: str) -> str:
    """The line with [TARGET ...] around each entity."""
    out, cursor = [], 0
    for e in tagged.entities:
        out += [tagged.text[cursor: e.start], f"[{target} ", tagged.text[e.start: e.end], "]"]
        cursor = e.end
    out.append(tagged.text[cursor:])
    return "".join(out)


def predict_lines(model_dir, lines: Iterable[str], fmt: str, chunk: int = 4096) -> Iterator[str]:
    """Tag raw text lines, `chunk` at a time. Yields the output in pieces of whole
    records: a batch of lines at a time for conll and inline, one line's record for json."""
    loaded = checkpoint.load(model_dir)
    tagger = Tagger(loaded)
    target = loaded.target

    def records(batch):
        tagged = tagger.tag_batch(batch)
        if fmt == "conll":
            yield tagged.conll(target)
        elif fmt == "json":
            for line in tagged.tagged_lines():
                entities = [dict(e.as_dict(), label=target) for e in line.entities]
                yield json.dumps({"text": line.text, "entities": entities}, ensure_ascii=False) + "\n"
        else:
            yield tagged.inline(target)

    batch: list[str] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= chunk:
            yield from records(batch)
            batch = []
    if batch:
        yield from records(batch)
