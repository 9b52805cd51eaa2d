"""From tokens to integer windows: vocabulary, word normalisation, caps feature.

Every token becomes the centre of a window of 2h+1 positions. Each position
carries one id per feature (its word id, its capitalisation class); windows
that run past a sentence edge are filled with boundary symbols.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path

import numpy as np

from winner.errors import WinnerError, lines, read_text
from winner.gazetteer import BOUNDARY, CLASSES, Gazetteer
from winner.keys import normalise_all, surface

UNK, LEFT, RIGHT = "<unk>", "<s>", "</s>"
SPECIALS = (UNK, LEFT, RIGHT)  # ids 0, 1, 2 in every vocabulary

# Capitalisation classes: the caps feature keeps what lowercasing throws away.
CAPS_CLASSES = ("<boundary>", "lower", "UPPER", "Title", "miXed", "no-letters")
CAPS_BOUNDARY = 0
# With features.caps_uncased, one more class: in a sentence written all in lower case or all in
# capitals the case of a word says nothing about it, and its lower or UPPER tokens take this class.
CAPS_UNCASED = len(CAPS_CLASSES)

def word_endings(tokens: list[str], length: int, digits_to_zero: bool = True) -> list[str]:
    """The suffix feature's keys: the last `length` characters of each lowercased word."""
    return [key[-length:] for key in normalise_all(tokens, True, digits_to_zero)]


def caps_class(token: str) -> int:
    """Index into CAPS_CLASSES."""
    if token.islower():  # true only when the token has a cased letter, so it has letters
        return 1
    if token.isupper():
        return 2
    if not token.isalpha() and not any(c.isalpha() for c in token):  # isalpha(): the quick answer for most
        return 5
    if token[0].isupper() and (token[1:].islower() or not any(c.isupper() for c in token[1:])):
        return 3
    return 4


def caps_in_context(caps: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """(N,) caps classes of sentences laid end to end (`lengths` (S,)), with the lower and UPPER
    tokens of every uncased sentence given CAPS_UNCASED. A sentence is uncased when it has a
    token with letters and those tokens are all lower, or all UPPER."""
    sentence = np.repeat(np.arange(lengths.size), lengths)  # (N,)

    def none_outside(classes) -> np.ndarray:  # (S,) no token of the sentence has another class
        return np.bincount(sentence, ~np.isin(caps, classes), lengths.size) == 0

    letters = np.bincount(sentence, caps != 5, lengths.size) > 0  # (S,) 5: no-letters
    uncased = (none_outside((1, 5)) | none_outside((2, 5))) & letters  # 1: lower, 2: UPPER
    return np.where(uncased[sentence] & np.isin(caps, (1, 2)), CAPS_UNCASED, caps).astype(caps.dtype)


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
        counts = Counter(normalise_all(list(tokens), lowercase, digits_to_zero))
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


class TokenTable:
    """Word id, caps class and suffix id of every distinct token string met so far.

    Text repeats its words: each new string is worked out once, all of a
    batch's new strings together, and every token then costs one dict lookup.
    A stream that keeps bringing new strings (numbers, addresses) would grow
    the table without end, so past `limit` strings it starts afresh.
    """

    def __init__(self, limit: int = 1 << 20):
        self.limit = limit
        self.row: dict[str, int] = {}
        self.ids = np.zeros((0, 3), np.int32)  # (distinct strings, 3)

    def lookup(self, tokens: list[str], work_out) -> np.ndarray:
        """(N, 3) ids of `tokens`; work_out(new strings) -> their (M, 3) ids."""
        new = [token for token in dict.fromkeys(tokens) if token not in self.row]
        if len(self.row) + len(new) > self.limit:
            self.row, self.ids = {}, self.ids[:0]
            new = list(dict.fromkeys(tokens))
        if new:
            self.row.update(zip(new, range(len(self.row), len(self.row) + len(new))))
            self.ids = np.concatenate([self.ids, work_out(new)])
        return self.ids[np.fromiter(map(self.row.__getitem__, tokens), np.intp, len(tokens))]


class WindowLayout:
    """Where the window of each token reads, for sentences laid end to end.

    Every sentence gets h `left` ids before it and h `right` ids after it in a
    padded row, so that no window reaches into a neighbouring sentence. The
    positions are worked out once and serve every feature.
    """

    def __init__(self, lengths: np.ndarray, h: int):
        sentence = np.repeat(np.arange(lengths.size), lengths)  # (N,) sentence of each token
        self.position = np.arange(sentence.size) + (2 * sentence + 1) * h  # (N,) each token in the padded row
        starts = np.cumsum(lengths) - lengths + 2 * h * np.arange(lengths.size)  # (S,) first pad of each sentence
        self.left_pads = (starts[:, None] + np.arange(h)).ravel()
        self.size = sentence.size + 2 * h * lengths.size
        self.reads = self.position[:, None] + np.arange(-h, h + 1)  # (N, 2h+1)

    def windows(self, ids: np.ndarray, left: int, right: int) -> np.ndarray:
        """(N, 2h+1) windows around each of the N tokens, whose ids are `ids` (N,)."""
        padded = np.full(self.size, right, np.int32)
        padded[self.left_pads] = left
        padded[self.position] = ids
        return np.take(padded, self.reads)


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
    caps_uncased: bool = False  # CAPS_UNCASED for the lower and UPPER tokens of uncased sentences
    _known: TokenTable = field(default_factory=TokenTable, init=False, repr=False, compare=False)

    @property
    def width(self) -> int:
        return 2 * self.half_window + 1

    def sizes(self) -> dict[str, int]:
        """Number of ids of every feature this featurizer produces."""
        sizes = {"word": len(self.vocab), "caps": len(CAPS_CLASSES) + self.caps_uncased}
        if self.suffixes is not None:
            sizes["suffix"] = len(self.suffixes)
        sizes.update({name: len(CLASSES) for name in self.gazetteers})
        return sizes

    def token_ids(self, tokens: list[str]) -> np.ndarray:
        """(N, 3) word id, caps class and suffix id of each token (suffix id 0 without the suffix feature)."""
        return self._known.lookup(tokens, self._work_out)

    def _work_out(self, tokens: list[str]) -> np.ndarray:
        """token_ids() of distinct token strings not met before."""
        keys = normalise_all(tokens, self.lowercase, self.digits_to_zero)
        word_id = self.vocab.index.get
        columns = [[word_id(key, 0) for key in keys], [caps_class(t if t.isascii() else surface(t)) for t in tokens]]
        if self.suffixes is None:
            columns.append([0] * len(tokens))
        else:
            suffix_id = self.suffixes.index.get
            columns.append([suffix_id(key, 0) for key in word_endings(tokens, self.suffix_length, self.digits_to_zero)])
        return np.array(columns, np.int32).T  # (M, 3)

    def windows(self, sentences, gazetteer_classes: dict | None = None) -> dict[str, np.ndarray]:
        """{feature: (N, 2h+1) int32 ids} for the N tokens of all sentences, in order.

        gazetteer_classes {name: per-sentence class lists} replaces a
        gazetteer's own matches (training sentences use held-out names).
        """
        sentences = list(sentences)
        lengths = np.fromiter(map(len, sentences), np.int64, len(sentences))  # (S,)
        return self.windows_flat(list(chain.from_iterable(sentences)), lengths, gazetteer_classes)

    def windows_flat(self, tokens: list[str], lengths: np.ndarray,
                     gazetteer_classes: dict | None = None) -> dict[str, np.ndarray]:
        """windows() of sentences laid end to end: `tokens` all their tokens, `lengths` (S,) how many each has."""
        ids = self.token_ids(tokens)  # (N, 3)
        layout = WindowLayout(lengths, self.half_window)
        caps = caps_in_context(ids[:, 1], lengths) if self.caps_uncased else ids[:, 1]
        out = {"word": layout.windows(ids[:, 0], left=1, right=2),
               "caps": layout.windows(caps, left=CAPS_BOUNDARY, right=CAPS_BOUNDARY)}
        if self.suffixes is not None:
            out["suffix"] = layout.windows(ids[:, 2], left=1, right=2)
        lower = normalise_all(tokens, True, False) if self.gazetteers else []
        for name, gazetteer in self.gazetteers.items():
            given = (gazetteer_classes or {}).get(name)
            if given is not None:
                flat = np.fromiter(chain.from_iterable(given), np.int32, len(tokens))
            else:
                flat = gazetteer.classes_flat(lower, lengths)
            out[name] = layout.windows(flat, left=BOUNDARY, right=BOUNDARY)
        return out


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
        words = lines(read_text(path, "file", ", but the model directory needs it"))
        try:
            return Vocab(words)
        except ValueError as exc:
            raise WinnerError(f"{path}: {exc}") from None

    gazetteers = {}
    for name, wanted in (("places", f.gazetteer), ("seen", f.train_gazetteer), ("other", f.other_gazetteer)):
        if wanted:
            path = directory / f"gazetteer-{name}.txt"
            names = lines(read_text(path, "file", ", but the model directory needs it"))
            gazetteers[name] = Gazetteer.from_lines(names)
    return Featurizer(vocab("vocab.txt"), f.half_window, f.lowercase, f.digits_to_zero,
                      vocab("suffixes.txt") if f.suffix_dim else None, f.suffix_length, gazetteers, f.caps_uncased)
