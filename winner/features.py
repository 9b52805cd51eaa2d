"""From tokens to integer windows: vocabulary, word normalisation, caps feature.

Every token becomes the centre of a window of 2h+1 positions. Each position
carries one id per feature (its word id, its capitalisation class); windows
that run past a sentence edge are filled with boundary symbols.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

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
    if digits_to_zero:
        token = _DIGIT.sub("0", token)
    return token


def caps_class(token: str) -> int:
    """Index into CAPS_CLASSES."""
    if not any(c.isalpha() for c in token):
        return 5
    if token.islower():
        return 1
    if token.isupper():
        return 2
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


@dataclass(frozen=True)
class Featurizer:
    """Turns sentences into window id arrays; everything a model needs to see text."""

    vocab: Vocab
    half_window: int
    lowercase: bool = True
    digits_to_zero: bool = True

    @property
    def width(self) -> int:
        return 2 * self.half_window + 1

    def word_ids(self, tokens) -> np.ndarray:
        index, lc, dz = self.vocab.index, self.lowercase, self.digits_to_zero
        return np.fromiter((index.get(normalise(t, lc, dz), 0) for t in tokens), dtype=np.int32, count=len(tokens))

    def windows(self, sentences) -> dict[str, np.ndarray]:
        """{'word': (N, 2h+1), 'caps': (N, 2h+1)} int32 ids for the N tokens of all sentences, in order."""
        h = self.half_window
        words, caps = [], []
        left_w, right_w = np.full(h, 1, np.int32), np.full(h, 2, np.int32)
        pad_c = np.full(h, CAPS_BOUNDARY, np.int32)
        for tokens in sentences:
            words += [left_w, self.word_ids(tokens), right_w]
            caps += [pad_c, np.fromiter(map(caps_class, tokens), np.int32, len(tokens)), pad_c]
        return {"word": _centre_windows(words, h), "caps": _centre_windows(caps, h)}


def _centre_windows(padded_pieces: list[np.ndarray], h: int) -> np.ndarray:
    """Windows of 2h+1 around every real token of the concatenated padded sentences."""
    flat = np.concatenate(padded_pieces) if padded_pieces else np.zeros(0, np.int32)
    if flat.size < 2 * h + 1:  # no real token at all: only padding, if anything
        return np.zeros((0, 2 * h + 1), np.int32)
    is_real = np.ones(flat.size, bool)
    # pieces come in threes: left pad, tokens, right pad
    offset = 0
    for i, piece in enumerate(padded_pieces):
        if i % 3 != 1:
            is_real[offset: offset + piece.size] = False
        offset += piece.size
    all_windows = np.lib.stride_tricks.sliding_window_view(flat, 2 * h + 1)  # (len - 2h, 2h+1)
    centres = np.flatnonzero(is_real) - h
    return np.ascontiguousarray(all_windows[centres])
