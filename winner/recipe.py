"""From a config to everything training needs: corpora read, vocabulary
built, windows made, parameters initialised. The one place where the
config's sections meet."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from winner import embeddings, metrics, model
from winner.config import Config
from winner.corpus import Sentence, parse_tag, read_conll
from winner.errors import WinnerError
from winner.features import CAPS_CLASSES, Featurizer, Vocab
from winner.train import DevSet, Windows


@dataclass
class Prepared:
    featurizer: Featurizer
    params: dict
    train: Windows
    dev: DevSet
    frozen: tuple
    notes: list  # lines worth telling the user (vocabulary size, vector coverage)


def inside_target(sentences: list[Sentence], target: str) -> np.ndarray:
    """(N,) bool: is each token inside an entity of the target type?"""
    return np.array([parse_tag(t)[1] == target for s in sentences for t in s.tags], dtype=bool)


def make_windows(featurizer: Featurizer, sentences: list[Sentence], target: str) -> Windows:
    return Windows(featurizer.windows([s.tokens for s in sentences]), inside_target(sentences, target))


def make_dev(featurizer: Featurizer, sentences: list[Sentence], target: str) -> DevSet:
    scorer = metrics.SpanScorer([len(s.tokens) for s in sentences], [s.tags for s in sentences], target)
    return DevSet(make_windows(featurizer, sentences, target), scorer)


def prepare(config: Config, rng: np.random.Generator) -> Prepared:
    d, f, m = config.data, config.features, config.model
    train_sentences = read_conll(d.train, d.scheme, d.label_map)
    dev_sentences = read_conll(d.dev, d.scheme, d.label_map)
    vocab = Vocab.build((t for s in train_sentences for t in s.tokens), f.min_count, f.lowercase, f.digits_to_zero)
    notes = []
    vectors = None
    if f.vectors:
        vector_words, vectors = embeddings.read_vectors(f.vectors, f.word_dim, f.lowercase, f.digits_to_zero)
        # Words the vectors know but training never saw keep their pretrained
        # vectors, so the model can tag place names it has not seen in training.
        vocab = vocab.extend(vector_words)
    featurizer = Featurizer(vocab, f.half_window, f.lowercase, f.digits_to_zero)
    train = make_windows(featurizer, train_sentences, d.target)
    if not train.positive.any():
        raise WinnerError(f"{d.train}: no '{d.target}' entities: training cannot learn the target type "
                          f"(check data.target and data.label_map)")
    dev = make_dev(featurizer, dev_sentences, d.target)
    if vectors is not None:
        word_table, found = embeddings.pretrained_table(vocab.words, vector_words, vectors, rng)
        notes.append(f"vectors: {found:,} of {len(vocab):,} vocabulary words from {f.vectors}")
    else:
        word_table = embeddings.random_table(len(vocab), f.word_dim, rng)
    caps_table = embeddings.random_table(len(CAPS_CLASSES), f.caps_dim, rng) if f.caps_dim else None
    params = model.init_params(word_table, caps_table, featurizer.width, m.hidden, rng)
    frozen = ("E_word",) if (f.vectors and f.freeze_vectors) else ()
    notes.insert(0, f"train: {len(train_sentences):,} sentences, {len(train.positive):,} windows, "
                    f"{int(train.positive.sum()):,} inside {d.target}; dev: {len(dev_sentences):,} sentences, "
                    f"{len(dev.scorer.gold_keys):,} {d.target} entities; vocabulary {len(vocab):,}")
    return Prepared(featurizer, params, train, dev, frozen, notes)
