"""From tokens to integer windows: vocabulary, word normalisation, caps feature.

Every token becomes the centre of a window of 2h+1 positions. Each position
carries one id per feature (its word id, its capitalisation class); windows
that run past a sentence edge are filled with boundary symbols.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from winner.errors import WinnerError, read_text
from winner.gazetteer import BOUNDARY, CLASSES, Gazetteer

UNK, LEFT, RIGHT = "<unk>", "<s>", "</s>"
SPECIALS = (UNK, LEFT, RIGHT)  # ids 0, 1, 2 in every vocabulary

# Capitalisation classes: the caps feature keeps what lowercasing throws away.
CAPS_CLASSES = ("<boundary>", "lower", "UPPER", "Title", "miXed", "no-letters")
CAPS_BOUNDARY = 0

_DIGIT = re.compile(r"\d")


def normalise(token: str, lowercase: bool = True, digits_to_zero: bool = True) -> str:
    """The vocabulary key of a token: 'Paris' -> 'paris', '1996' -> '0000'."""
    if lowercase:
        token = token.lower()
    if digits_to_zero and _DIGIT.search(token):
        token = _DIGIT.sub("0", token)
    return token


def word_ending(token: str, length: int, digits_to_zero: bool = True) -> str:
    """The suffix feature's key: the last `length` characters of the lowercased word."""
    return normalise(token, True, digits_to_zero)[-length:]


def caps_class(token: str) -> int:
    """Index into CAPS_CLASSES."""
    if token.islower():  # true only when the token has a cased letter, so it has letters
        return 1
    if token.isupper():
        return 2
    if not any(c.isalpha() for c in token):
        return 5
    if token[0].isupper() and not any(c.isupper() for c in token[1:]):
        return 3
    return 4


class Vocab:
    """Word <-> id. Ids 0-2 are the unknown word and the two boundary symbols."""

    def __init__(self, words):
        self.words = list(words)
        if tuple(self.words[:3]) != SPECIALS:
            raise ValueError(f"a vocabulary starts with {SPECIALS}")
        self.index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    @classmethod
    def build(cls, tokens, min_count: int = 1, lowercase: bool = True, digits_to_zero: bool = True) -> "Vocab":
        """Vocabulary of normalised training tokens seen at least min_count times, most frequent first."""
        counts = Counter(normalise(t, lowercase, digits_to_zero) for t in tokens)
        kept = [w for w, c in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0])) if c >= min_count and w not in SPECIALS]
        return cls(list(SPECIALS) + kept)

    def extend(self, words) -> "Vocab":
        """A new vocabulary with `words` appended (those not already in it)."""
        extra = [w for w in dict.fromkeys(words) if w not in self.index]
        return Vocab(self.words + extra)


def feature_dims(f) -> dict[str, int]:
    """Embedding size of every feature a FeaturesConfig switches on, in the order they make up x."""
    dims = {"word": f.word_dim, "caps": f.caps_dim, "suffix": f.suffix_dim,
            "places": f.gazetteer_dim if f.gazetteer else 0, "seen": f.gazetteer_dim if f.train_gazetteer else 0,
            "other": f.gazetteer_dim if f.other_gazetteer else 0}
    return {name: dim for name, dim in dims.items() if dim}


@dataclass(frozen=True)
class Featurizer:
    """Turns sentences into window id arrays; everything a model needs to see text.

    Features of a token: its word id, its capitalisation class, optionally the
    id of its last letters (suffix) and its place in gazetteer matches
    ('places': world place names; 'seen' and 'other': names annotated in
    training as the target type and as any other type).
    """

    vocab: Vocab
    half_window: int
    lowercase: bool = True
    digits_to_zero: bool = True
    suffixes: Vocab | None = None  # last suffix_length characters of the normalised word
    suffix_length: int = 3
    gazetteers: dict = field(default_factory=dict)  # feature name -> Gazetteer
    # token -> (word id, caps class, suffix id): text repeats its words, so each is looked up once
    _memo: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def width(self) -> int:
        return 2 * self.half_window + 1

    def sizes(self) -> dict[str, int]:
        """Number of ids of every feature this featurizer produces."""
        sizes = {"word": len(self.vocab), "caps": len(CAPS_CLASSES)}
        if self.suffixes is not None:
            sizes["suffix"] = len(self.suffixes)
        sizes.update({name: len(CLASSES) for name in self.gazetteers})
        return sizes

    def _ids(self, token: str) -> tuple[int, int, int]:
        ids = self._memo.get(token)
        if ids is None:
            word = self.vocab.index.get(normalise(token, self.lowercase, self.digits_to_zero), 0)
            suffix = (self.suffixes.index.get(word_ending(token, self.suffix_length, self.digits_to_zero), 0)
                      if self.suffixes is not None else 0)
            ids = (word, caps_class(token), suffix)
            self._memo[token] = ids
        return ids

    def windows(self, sentences, gazetteer_classes: dict | None = None) -> dict[str, np.ndarray]:
        """{feature: (N, 2h+1) int32 ids} for the N tokens of all sentences, in order.

        gazetteer_classes {name: per-sentence class lists} replaces a
        gazetteer's own matches (training sentences use held-out names).
        """
        sentences = list(sentences)
        h = self.half_window
        lengths = np.fromiter(map(len, sentences), np.int64, len(sentences))  # (S,)
        memo = self._memo
        ids = np.array([memo[t] if t in memo else self._ids(t) for tokens in sentences for t in tokens],
                       np.int32).reshape(-1, 3)  # (N, 3)
        out = {"word": _centre_windows(ids[:, 0], lengths, h, left=1, right=2),
               "caps": _centre_windows(ids[:, 1], lengths, h, left=CAPS_BOUNDARY, right=CAPS_BOUNDARY)}
        if self.suffixes is not None:
            out["suffix"] = _centre_windows(ids[:, 2], lengths, h, left=1, right=2)
        lower = [t.lower() for tokens in sentences for t in tokens] if self.gazetteers else []
        for name, gazetteer in self.gazetteers.items():
            given = (gazetteer_classes or {}).get(name)
            if given is not None:
                flat = np.fromiter((c for sentence in given for c in sentence), np.int32, len(ids))
            else:
                flat = gazetteer.classes_flat(lower, lengths)
            out[name] = _centre_windows(flat, lengths, h, left=BOUNDARY, right=BOUNDARY)
        return out


def _centre_windows(ids: np.ndarray, lengths: np.ndarray, h: int, left: int, right: int) -> np.ndarray:
    """(N, 2h+1) windows around each of the N tokens of sentences laid end to end.

    Every sentence gets h `left` ids before it and h `right` ids after it, so
    that no window reaches into a neighbouring sentence.
    """
    n = ids.size
    if n == 0:
        return np.zeros((0, 2 * h + 1), np.int32)
    sentence = np.repeat(np.arange(lengths.size), lengths)  # (N,) sentence of each token
    position = np.arange(n) + (2 * sentence + 1) * h  # (N,) where each token lands in the padded row
    padded = np.full(n + 2 * h * lengths.size, right, np.int32)
    starts = np.cumsum(lengths) - lengths + 2 * h * np.arange(lengths.size)  # (S,) first pad of each sentence
    padded[(starts[:, None] + np.arange(h)).ravel()] = left
    padded[position] = ids
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * h + 1)  # (len - 2h, 2h+1)
    return np.ascontiguousarray(windows[position - h])


def save_featurizer(featurizer: Featurizer, directory: Path, write) -> None:
    """The text files a model directory needs to rebuild its featurizer; write(path, text) writes one."""
    write(directory / "vocab.txt", "\n".join(featurizer.vocab.words) + "\n")
    if featurizer.suffixes is not None:
        write(directory / "suffixes.txt", "\n".join(featurizer.suffixes.words) + "\n")
    for name, gazetteer in featurizer.gazetteers.items():
        write(directory / f"gazetteer-{name}.txt", "".join(" ".join(n) + "\n" for n in gazetteer.names))


def load_featurizer(directory: Path, f) -> Featurizer:
    """The featurizer save_featurizer wrote, for the FeaturesConfig `f` the model was trained with."""
    def vocab(name: str) -> Vocab:
        path = directory / name
        words = read_text(path, "file", ", but the model directory needs it").split("\n")
        if words and words[-1] == "":
            words.pop()
        try:
            return Vocab(words)
        except ValueError as exc:
            raise WinnerError(f"{path}: {exc}") from None

    gazetteers = {}
    for name, wanted in (("places", f.gazetteer), ("seen", f.train_gazetteer), ("other", f.other_gazetteer)):
        if wanted:
            path = directory / f"gazetteer-{name}.txt"
            lines = read_text(path, "file", ", but the model directory needs it").splitlines()
            gazetteers[name] = Gazetteer((tuple(line.split(" ")) for line in lines), normalised=True)
    return Featurizer(vocab("vocab.txt"), f.half_window, f.lowercase, f.digits_to_zero,
                      vocab("suffixes.txt") if f.suffix_dim else None, f.suffix_length, gazetteers)
