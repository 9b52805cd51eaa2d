"""From a config to everything training needs: corpora read, vocabulary
built, windows made, parameters initialised. The one place where the
config's sections meet."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np

from winner import breakdown, casing, consistency, distill, embeddings, gazetteer, metrics, objectives
from winner.config import Config
from winner.corpus import Sentence, parse_tag, read_conll
from winner.errors import WinnerError
from winner.features import Featurizer, Vocab, feature_dims, word_endings
from winner.gazetteer import Gazetteer
from winner.train import DevSet, Windows


@dataclass
class Prepared:
    featurizer: Featurizer
    params: dict
    train: Windows
    dev: DevSet
    frozen: tuple
    notes: list  # lines worth telling the user (vocabulary size, vector coverage)
    objective: objectives.MaxMargin | objectives.Softmax
    texts: dict  # text files a saved model keeps beside its weights: {file name: content}


def inside_target(sentences: list[Sentence], target: str) -> np.ndarray:
    """(N,) bool: is each token inside an entity of the target type?"""
    return np.array([parse_tag(t)[1] == target for s in sentences for t in s.tags], dtype=bool)


def require_target(sentences: list[Sentence], target: str, path, why: str, hint: str) -> None:
    """Raise WinnerError when no sentence of the file at `path` holds an entity of the target type.

    The message says why that is fatal, which entity types the file does
    have (conlleval's chunk rules, after any label map) and what to check:
    a file whose type is spelled differently (`location`) otherwise scores
    F1 0 or trains a model that tags nothing, without a word.
    """
    counts = Counter(kind for s in sentences for kind, _, _ in metrics.chunks(s.tags))
    if counts[target]:
        return
    found = ", ".join(f"{kind} ({n:,})" for kind, n in sorted(counts.items(), key=lambda c: (-c[1], c[0])))
    raise WinnerError(f"{path}: no '{target}' entities: {why}; the file's entity types: {found or 'none'} ({hint})")


CONFIG_HINT = "check data.target and data.label_map"


def class_labels(sentences: list[Sentence], types) -> np.ndarray:
    """(N,) int8 class of each token: 1 + the index of its entity type in `types`, 0 for O and other types."""
    index = {kind: i + 1 for i, kind in enumerate(types)}
    return np.array([index.get(parse_tag(t)[1], 0) for s in sentences for t in s.tags], dtype=np.int8)


def corpus_types(sentences: list[Sentence]) -> tuple[str, ...]:
    """Every entity type of a corpus, sorted."""
    return tuple(sorted({parse_tag(t)[1] for s in sentences for t in s.tags} - {None, ""}))


def make_windows(featurizer: Featurizer, sentences: list[Sentence], target: str, gazetteer_classes=None,
                 types=None) -> Windows:
    """The windows of a corpus; with `types` (a softmax model's entity types) also each centre's class."""
    return Windows(featurizer.windows([s.tokens for s in sentences], gazetteer_classes),
                   inside_target(sentences, target), None if types is None else class_labels(sentences, types))


def make_dev(featurizer: Featurizer, sentences: list[Sentence], target: str, document_consistency: float = 0.0,
             types=None) -> DevSet:
    """The dev windows and one SpanScorer per entity type (`types`, default the target alone)."""
    model_types = tuple(types) if types is not None else (target,)
    lengths, tags = [len(s.tokens) for s in sentences], [s.tags for s in sentences]
    scorers = [metrics.SpanScorer(lengths, tags, kind) for kind in model_types]
    groups = consistency.groups([t for s in sentences for t in s.tokens], [s.doc for s in sentences for _ in s.tokens])
    return DevSet(make_windows(featurizer, sentences, target, types=types), scorers, groups, model_types,
                  model_types.index(target), document_consistency)


def entity_types(config: Config, train_sentences: list[Sentence]) -> tuple[str, ...]:
    """The model's entity types: data.target alone, data.types, or with 'all' every type of the training data."""
    d = config.data
    if d.types is None:
        return (d.target,)
    if d.types == "all":
        return corpus_types(train_sentences)
    return tuple(d.types)


def make_featurizer(f, train_sentences: list[Sentence], target: str, vector_words=()) -> Featurizer:
    """Vocabularies and gazetteers from the training data (and the vectors' words)."""
    tokens = [t for s in train_sentences for t in s.tokens]
    vocab = Vocab.build(tokens, f.min_count, f.lowercase, f.digits_to_zero)
    # Words the vectors know but training never saw keep their pretrained
    # vectors, so the model can tag place names it has not seen in training.
    vocab = vocab.extend(vector_words)
    suffixes = (Vocab.build(word_endings(tokens, f.suffix_length, f.digits_to_zero), f.min_count, False, False)
                if f.suffix_dim else None)
    gazetteers = {}
    if f.gazetteer:
        gazetteers["places"] = Gazetteer.load(f.gazetteer)
    learned = gazetteer.from_training(train_sentences, target) if (f.train_gazetteer or f.other_gazetteer) else {}
    if f.train_gazetteer:
        gazetteers["seen"] = learned["seen"]
    if f.other_gazetteer:
        gazetteers["other"] = learned["other"]
    return Featurizer(vocab, f.half_window, f.lowercase, f.digits_to_zero, suffixes, f.suffix_length, gazetteers,
                      f.caps_uncased)


def training_sentences(config: Config) -> tuple[list[Sentence], int]:
    """The sentences of data.train, followed by the copies in other casings that data.case_augment_* and
    train.seed draw (winner.casing), and how many the file holds. Raises WinnerError for a file that
    cannot be read or holds no target entity."""
    d = config.data
    sentences = read_conll(d.train, d.scheme, d.label_map)
    require_target(sentences, d.target, d.train, "training cannot learn the target type", CONFIG_HINT)
    augmented = casing.augment(sentences, {"lower": d.case_augment_lower, "upper": d.case_augment_upper},
                               config.train.seed)
    return augmented, len(sentences)


def training_featurizer(config: Config) -> Featurizer:
    """The featurizer prepare() builds from the training data (and the vectors' words), alone: what a
    resumed run's saved vocabularies and gazetteers are checked against. Raises what
    training_sentences and embeddings.read_vectors raise."""
    f = config.features
    vector_words = embeddings.read_vectors(f.vectors, f.word_dim, f.lowercase, f.digits_to_zero)[0] if f.vectors \
        else ()
    return make_featurizer(f, training_sentences(config)[0], config.data.target, vector_words)


def prepare(config: Config, rng: np.random.Generator) -> Prepared:
    d, f, m = config.data, config.features, config.model
    train_sentences, read = training_sentences(config)
    dev_sentences = read_conll(d.dev, d.scheme, d.label_map)
    require_target(dev_sentences, d.target, d.dev, "dev cannot pick the threshold or the best epoch", CONFIG_HINT)
    notes = []
    if len(train_sentences) > read:
        notes.append(f"case_augment: {len(train_sentences) - read:,} copies of training sentences in other casings")
    vector_words, vectors = (), None
    if f.vectors:
        vector_words, vectors = embeddings.read_vectors(f.vectors, f.word_dim, f.lowercase, f.digits_to_zero)
    featurizer = make_featurizer(f, train_sentences, d.target, vector_words)
    held_out = gazetteer.held_out_classes(train_sentences, d.target) if featurizer.gazetteers else None
    types = entity_types(config, train_sentences)
    for kind in types:
        if kind != d.target:  # the target was checked above, with its own message
            require_target(train_sentences, kind, d.train, "training cannot learn that type",
                           "check data.types and data.label_map")
    objective = objectives.make(config.train.objective, types)
    train = make_windows(featurizer, train_sentences, d.target, held_out, objective.label_types)
    if config.train.teacher is not None:
        teacher = distill.load_teacher(config.train.teacher, objective.classes)
        if held_out is None and teacher.featurizer.gazetteers:
            held_out = gazetteer.held_out_classes(train_sentences, d.target)
        train.soft = distill.soft_targets(teacher, train_sentences, held_out)
        notes.append(distill.summary(config.train.teacher, train.soft, train.labels))
    dev = make_dev(featurizer, dev_sentences, d.target, config.decode.document_consistency, objective.label_types)
    vocab = featurizer.vocab
    tables = {}
    for name, dim in feature_dims(f).items():
        if name == "word" and vectors is not None:
            tables[name], found = embeddings.pretrained_table(vocab.words, vector_words, vectors, rng)
            notes.append(f"vectors: {found:,} of {len(vocab):,} vocabulary words from {f.vectors}")
        else:
            tables[name] = embeddings.random_table(featurizer.sizes()[name], dim, rng)
    params = objective.init_params(tables, featurizer.width, m.hidden, rng)
    frozen = ("E_word",) if (f.vectors and f.freeze_vectors) else ()
    notes.insert(0, f"train: {len(train_sentences):,} sentences, {len(train.positive):,} windows, "
                    f"{int(train.positive.sum()):,} inside {d.target}; dev: {len(dev_sentences):,} sentences, "
                    f"{len(dev.scorer.gold_keys):,} {d.target} entities; vocabulary {len(vocab):,}")
    if objective.summary:
        notes.insert(1, objective.summary)
    for name, g in featurizer.gazetteers.items():
        notes.append(f"gazetteer '{name}': {len(g):,} names")
    texts = {breakdown.NAMES_FILE: breakdown.names_text(breakdown.training_names(train_sentences, d.target))}
    return Prepared(featurizer, params, train, dev, frozen, notes, objective, texts)
