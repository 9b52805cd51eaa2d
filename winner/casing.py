"""Casing of text: which casing a sentence is in, and sentences in another casing.

A tagger trained on newswire learns that locations are capitalised; text in
lower case (chat, speech transcripts) or in capitals (headlines, telegrams)
takes that cue away. Three uses:

- the casing slices of `winner eval --breakdown` (sentence_casing);
- `winner eval --casing lower|upper`, which re-cases a file's tokens before
  tagging, to measure how a model does on such text (recase);
- `data.case_augment`, which adds lowercased and uppercased copies of
  training sentences, as Mayhew et al. (2019, "ner and pos when nothing is
  capitalized") did for uncased named-entity recognition (augment).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from winner.corpus import Sentence

SENTENCE_CASINGS = ("mixed", "lower", "upper")
RECASINGS = ("lower", "upper")


def sentence_casing(tokens: list[str]) -> str:
    """'upper' when the sentence has a cased letter and no lowercase one, 'lower' when it has a
    cased letter and no uppercase one, 'mixed' otherwise (both, or no cased letter at all,
    as in '1996-08-30': such a sentence holds no name to find)."""
    text = " ".join(tokens)
    if text.isupper():  # str.isupper: at least one cased letter, none lowercase
        return "upper"
    if text.islower():
        return "lower"
    return "mixed"


def recase(sentences: list[Sentence], casing: str) -> list[Sentence]:
    """The sentences with every token in `casing` ('lower' or 'upper'); tags, documents and lines kept."""
    change = {"lower": str.lower, "upper": str.upper}[casing]
    return [replace(s, tokens=[change(t) for t in s.tokens]) for s in sentences]


def augment(sentences: list[Sentence], shares: dict[str, float], seed: int) -> list[Sentence]:
    """The training sentences followed by copies in other casings (`data.case_augment_lower`, `_upper`).

    shares {casing: share}: round(share · S) of the S sentences, drawn without
    replacement, get a copy in that casing (share 1: every sentence; 0: none).
    A copy keeps its document, so that the held-out training-name features
    (winner/gazetteer.py) put it in its original's fold and it never sees its
    own names. The draw uses a generator of its own, seeded from `seed`, so
    the training run's generator is left as it would be without copies.
    """
    copies = []
    for casing, share in shares.items():
        if share == 0:
            continue
        rng = np.random.default_rng([seed, RECASINGS.index(casing)])  # a stream apart from the run's own
        chosen = np.sort(rng.choice(len(sentences), size=round(share * len(sentences)), replace=False))
        copies += recase([sentences[i] for i in chosen], casing)
    return sentences + copies
