"""Tests of winner.metrics: conlleval chunk rules, entity scores, SpanScorer, threshold search.

The reference for chunking is conlleval.pl (the IOBES-aware version): an entity
starts at B-/S-, at an I-/E- after O, E- or S-, and at any tag whose type differs
from the previous tag's; it ends before B-/S-/O after B-/I-, after every E-/S-,
and wherever the type changes. Expected values in the hand-worked table below
were derived from these rules and are written out literally.

seqeval's default mode implements the same rules, so it serves as an
independent oracle for the scores of random corpora.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from seqeval.metrics import f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities

from winner.metrics import Scores, SpanScorer, best_threshold, chunks, score_tags

TYPES = ("LOC", "PER", "ORG")
IOB_TAGS = ["O"] + [f"{p}-{t}" for t in TYPES for p in "BI"]
IOBES_TAGS = IOB_TAGS + [f"{p}-{t}" for t in TYPES for p in "ES"]


# --------------------------------------------------------------------------
# 1. Hand-worked conlleval cases for chunks()
# --------------------------------------------------------------------------

CHUNK_CASES = [
    # IOB2
    ("B-LOC I-LOC O B-PER", [("LOC", 0, 2), ("PER", 3, 4)]),
    ("B-LOC B-LOC", [("LOC", 0, 1), ("LOC", 1, 2)]),
    # IOB1: B- only separates two adjacent entities of one type
    ("I-LOC I-LOC B-LOC", [("LOC", 0, 2), ("LOC", 2, 3)]),
    ("I-LOC I-ORG", [("LOC", 0, 1), ("ORG", 1, 2)]),
    ("O I-PER I-PER O I-LOC", [("PER", 1, 3), ("LOC", 4, 5)]),
    # IOBES: E- and S- close the entity
    ("S-LOC B-LOC E-LOC", [("LOC", 0, 1), ("LOC", 1, 3)]),
    ("B-LOC I-LOC E-LOC S-LOC", [("LOC", 0, 3), ("LOC", 3, 4)]),
    ("B-LOC E-LOC B-LOC E-LOC", [("LOC", 0, 2), ("LOC", 2, 4)]),
    ("S-LOC S-LOC", [("LOC", 0, 1), ("LOC", 1, 2)]),
    # improper sequences, repaired as conlleval repairs them
    ("O I-LOC I-LOC", [("LOC", 1, 3)]),  # I- after O opens an entity
    ("B-LOC I-ORG", [("LOC", 0, 1), ("ORG", 1, 2)]),  # type change splits
    ("I-LOC", [("LOC", 0, 1)]),  # I- at sentence start opens an entity
    ("E-LOC", [("LOC", 0, 1)]),  # E- at sentence start opens and closes one
    ("I-LOC E-LOC I-LOC", [("LOC", 0, 2), ("LOC", 2, 3)]),  # I- after E- opens
    ("S-LOC I-LOC", [("LOC", 0, 1), ("LOC", 1, 2)]),  # I- after S- opens
    ("B-PER I-LOC E-LOC", [("PER", 0, 1), ("LOC", 1, 3)]),
    ("B-LOC O I-LOC", [("LOC", 0, 1), ("LOC", 2, 3)]),
    # no entity at all
    ("O O", []),
    ("", []),
]


@pytest.mark.parametrize("tags, expected", CHUNK_CASES, ids=[c[0] or "<empty>" for c in CHUNK_CASES])
def test_chunks_follow_conlleval_rules(tags, expected):
    assert chunks(tags.split()) == expected


def test_chunks_agree_with_seqeval_on_random_iobes_sentences():
    # A cross-check of the table with an independent implementation, including
    # the E-/S- rules; seqeval's end index is inclusive.
    rng = np.random.default_rng(7)
    for _ in range(2000):
        tags = [IOBES_TAGS[i] for i in rng.integers(len(IOBES_TAGS), size=rng.integers(0, 10))]
        assert chunks(tags) == [(t, s, e + 1) for t, s, e in get_entities(tags)], tags


# --------------------------------------------------------------------------
# 2. score_tags against seqeval on random IOB1 / IOB2 corpora
# --------------------------------------------------------------------------


def random_sentence(rng: np.random.Generator, length: int, scheme: str) -> list[str]:
    """A well-formed IOB1 or IOB2 sentence, then ~15% of tags replaced by any tag
    so that improper sequences (I- after O, type changes inside an entity) occur."""
    tags: list[str] = []
    prev_type = None  # type of the entity that ends at the previous token, if any
    while len(tags) < length:
        if rng.random() < 0.45:
            tags.append("O")
            prev_type = None
            continue
        type_ = TYPES[rng.integers(len(TYPES))]
        size = min(int(rng.integers(1, 4)), length - len(tags))
        if scheme == "iob2":
            first = "B"
        else:  # IOB1: B- only when it directly follows an entity of the same type
            first = "B" if prev_type == type_ else "I"
        tags += [f"{first}-{type_}"] + [f"I-{type_}"] * (size - 1)
        prev_type = type_
    return replace_some(rng, tags, 0.15)


def replace_some(rng: np.random.Generator, tags: list[str], rate: float) -> list[str]:
    """The tags with each one, at the given rate, replaced by a random IOB tag."""
    replace = rng.random(len(tags)) < rate
    others = rng.integers(len(IOB_TAGS), size=len(tags))
    return [IOB_TAGS[o] if r else t for t, r, o in zip(tags, replace, others)]


def random_corpus(rng: np.random.Generator, scheme: str):
    """0..15 sentences of 1..12 tokens: gold tags and predicted tags of the same lengths.

    The prediction is either the gold with some tags changed (so many entities
    are correct) or drawn independently (so few are)."""
    gold, predicted = [], []
    for _ in range(rng.integers(0, 16)):
        length = int(rng.integers(1, 13))
        g = random_sentence(rng, length, scheme)
        if rng.random() < 0.7:
            p = replace_some(rng, g, 0.2)
        else:
            p = random_sentence(rng, length, scheme)
        gold.append(g)
        predicted.append(p)
    return gold, predicted


def only_type(sentences, entity_type: str):
    """The sentences with every tag of another type replaced by O."""
    return [[t if t != "O" and t[2:] == entity_type else "O" for t in s] for s in sentences]


def seqeval_scores(gold, predicted) -> Scores:
    """Scores computed by seqeval's default (conlleval-compatible) mode."""
    if not gold:
        # seqeval rejects a corpus of no sentences (TypeError: "without list of
        # list"); it has no entities, so every count and score is 0.
        return Scores(0.0, 0.0, 0.0, gold=0, predicted=0, correct=0)
    gold_entities = set(get_entities(gold))
    predicted_entities = set(get_entities(predicted))
    return Scores(
        precision=precision_score(gold, predicted, zero_division=0),
        recall=recall_score(gold, predicted, zero_division=0),
        f1=f1_score(gold, predicted, zero_division=0),
        gold=len(gold_entities),
        predicted=len(predicted_entities),
        correct=len(gold_entities & predicted_entities),
    )


def assert_same_scores(ours: Scores, reference: Scores, context):
    assert (ours.gold, ours.predicted, ours.correct) == (
        reference.gold,
        reference.predicted,
        reference.correct,
    ), context
    # seqeval computes F1 as (1 + b^2) p r / (b^2 p + r): equal up to rounding
    assert ours.precision == pytest.approx(reference.precision, abs=1e-12), context
    assert ours.recall == pytest.approx(reference.recall, abs=1e-12), context
    assert ours.f1 == pytest.approx(reference.f1, abs=1e-12), context


@pytest.mark.parametrize("scheme, seed", [("iob1", 101), ("iob2", 202)])
def test_score_tags_matches_seqeval_on_random_corpora(scheme, seed):
    rng = np.random.default_rng(seed)
    for case in range(1000):
        gold, predicted = random_corpus(rng, scheme)
        context = (scheme, case, gold, predicted)

        # all types together
        assert_same_scores(score_tags(gold, predicted), seqeval_scores(gold, predicted), context)

        # LOC only: seqeval has no type filter with counts, so compare against
        # seqeval on the corpus with non-LOC tags mapped to O. That projection
        # must not move any LOC entity (a non-LOC tag and O both end and start
        # LOC entities in the same places); check it before relying on it.
        gold_loc, predicted_loc = only_type(gold, "LOC"), only_type(predicted, "LOC")
        for original, projected in zip(gold + predicted, gold_loc + predicted_loc):
            assert [c for c in chunks(original) if c[0] == "LOC"] == chunks(projected), original
        assert_same_scores(
            score_tags(gold, predicted, "LOC"), seqeval_scores(gold_loc, predicted_loc), context
        )


def test_score_tags_counts_entities_per_sentence():
    # The same entity position in two sentences counts twice; an entity can't
    # run on into the next sentence (seqeval joins sentences with O for this).
    gold = [["I-LOC", "I-LOC"], ["I-LOC", "O"]]
    predicted = [["B-LOC", "I-LOC"], ["B-LOC", "B-LOC"]]
    assert score_tags(gold, predicted) == Scores.from_counts(gold=2, predicted=3, correct=2)


# --------------------------------------------------------------------------
# 3. SpanScorer on boolean tokens == score_tags on IOB2 tags from runs of True
# --------------------------------------------------------------------------


def runs_to_iob2(lengths, positive, entity_type: str) -> list[list[str]]:
    """One entity per maximal run of True inside a sentence, in IOB2."""
    sentences, offset = [], 0
    for length in lengths:
        tags = []
        for i in range(length):
            if not positive[offset + i]:
                tags.append("O")
            elif i > 0 and positive[offset + i - 1]:
                tags.append(f"I-{entity_type}")
            else:
                tags.append(f"B-{entity_type}")
        sentences.append(tags)
        offset += length
    return sentences


@st.composite
def gold_and_decisions(draw):
    """Sentence lengths (empty sentences allowed), gold tags of any type and scheme,
    and one boolean decision per token."""
    lengths = draw(st.lists(st.integers(0, 7), max_size=6))
    gold = [draw(st.lists(st.sampled_from(IOBES_TAGS), min_size=n, max_size=n)) for n in lengths]
    positive = draw(st.lists(st.booleans(), min_size=sum(lengths), max_size=sum(lengths)))
    return lengths, gold, np.array(positive, dtype=bool)


@settings(max_examples=200, deadline=None)
@given(gold_and_decisions())
def test_span_scorer_matches_score_tags_of_runs(case):
    lengths, gold, positive = case
    expected = score_tags(gold, runs_to_iob2(lengths, positive, "LOC"), "LOC")
    assert SpanScorer(lengths, gold, "LOC")(positive) == expected


def test_span_scorer_splits_a_run_at_the_sentence_boundary():
    # Tokens 1 and 2 are one run of True in the concatenation, but they belong
    # to two sentences, so they are two predicted entities, both correct (the
    # I-LOC that opens sentence 2 is an entity of its own).
    lengths = [2, 2]
    gold = [["O", "B-LOC"], ["I-LOC", "O"]]
    positive = np.array([False, True, True, False])
    scorer = SpanScorer(lengths, gold, "LOC")
    assert scorer(positive) == Scores(1.0, 1.0, 1.0, gold=2, predicted=2, correct=2)
    assert scorer(positive) == score_tags(gold, runs_to_iob2(lengths, positive, "LOC"), "LOC")


def test_span_scorer_run_across_boundary_is_half_wrong():
    # Same run, but the gold only has the first half: one of two predictions is right.
    lengths = [2, 2]
    gold = [["O", "B-LOC"], ["O", "O"]]
    positive = np.array([False, True, True, False])
    assert SpanScorer(lengths, gold, "LOC")(positive) == Scores(0.5, 1.0, 2 / 3, gold=1, predicted=2, correct=1)


# --------------------------------------------------------------------------
# 4. best_threshold
# --------------------------------------------------------------------------


def test_best_threshold_is_at_least_as_good_as_every_midpoint():
    rng = np.random.default_rng(404)
    for case in range(300):
        lengths = list(rng.integers(1, 9, size=rng.integers(1, 5)))
        gold = [random_sentence(rng, int(n), "iob2") for n in lengths]
        n = sum(lengths)
        # coarse scores make ties, fine ones make every token distinct
        scores = rng.integers(0, 6, n) / 5.0 if case % 2 else rng.random(n)
        scorer = SpanScorer(lengths, gold, "LOC")

        threshold, result = best_threshold(scores, scorer)

        distinct = np.unique(scores)
        midpoints = (distinct[:-1] + distinct[1:]) / 2.0
        brute = max((scorer(scores > m).f1 for m in midpoints), default=0.0)
        assert result.f1 >= brute - 1e-12, (case, lengths, gold, scores)
        # the Scores returned are those of the threshold returned
        assert result == scorer(scores > threshold)


def test_best_threshold_returns_zero_f1_when_nothing_can_be_correct():
    # Gold: one LOC entity over tokens 0-1. Every threshold predicts {}, {0},
    # {0, 2} or {0, 1, 2} as runs, none of which is exactly tokens 0-1.
    scorer = SpanScorer([3], [["B-LOC", "I-LOC", "O"]], "LOC")
    scores = np.array([0.9, 0.1, 0.5])
    threshold, result = best_threshold(scores, scorer)
    assert result.f1 == 0.0
    assert result.correct == 0
    # ties go to the higher threshold: above every score, nothing predicted
    assert threshold > scores.max()
    assert result.predicted == 0


def test_best_threshold_of_no_tokens():
    threshold, result = best_threshold(np.zeros(0), SpanScorer([], [], "LOC"))
    assert result == Scores(0.0, 0.0, 0.0, gold=0, predicted=0, correct=0)


@pytest.mark.parametrize(
    "lengths, gold, scores",
    [
        ([1], [["B-LOC"]], [0.7]),
        ([2], [["B-LOC", "I-LOC"]], [0.6, 0.5]),
    ],
    ids=["one token", "two tokens"],
)
def test_best_threshold_can_mark_every_token_positive(lengths, gold, scores):
    """A threshold below the lowest score (every token positive) is a threshold too.

    Here it is the only one with F1 > 0: the gold entity covers every token.
    best_threshold's candidates are the midpoints below each of the highest
    scores, and for the lowest score that "midpoint" is the score itself, so
    `scores > t` can never include the lowest-scoring token. With one token
    the search can't predict anything at all.
    """
    scores = np.array(scores)
    scorer = SpanScorer(lengths, gold, "LOC")
    assert scorer(np.ones(len(scores), bool)).f1 == 1.0  # reachable with t < min(scores)
    threshold, result = best_threshold(scores, scorer)
    assert result.f1 == 1.0, (threshold, result)


# --------------------------------------------------------------------------
# 5. Metric invariants
# --------------------------------------------------------------------------


@st.composite
def gold_and_predicted(draw):
    lengths = draw(st.lists(st.integers(1, 8), max_size=5))
    tags = lambda n: draw(st.lists(st.sampled_from(IOBES_TAGS), min_size=n, max_size=n))  # noqa: E731
    return [tags(n) for n in lengths], [tags(n) for n in lengths]


ENTITY_TYPES = st.sampled_from([None, "LOC"])


@settings(max_examples=100, deadline=None)
@given(gold_and_predicted(), ENTITY_TYPES)
def test_scores_lie_between_zero_and_one(corpus, entity_type):
    s = score_tags(*corpus, entity_type)
    assert 0.0 <= s.precision <= 1.0
    assert 0.0 <= s.recall <= 1.0
    assert 0.0 <= s.f1 <= 1.0
    assert 0 <= s.correct <= min(s.gold, s.predicted)


@settings(max_examples=100, deadline=None)
@given(gold_and_predicted(), ENTITY_TYPES)
def test_perfect_prediction_scores_one(corpus, entity_type):
    gold, _ = corpus
    s = score_tags(gold, gold, entity_type)
    assume(s.gold > 0)
    assert (s.precision, s.recall, s.f1) == (1.0, 1.0, 1.0)
    assert s.correct == s.predicted == s.gold


@settings(max_examples=100, deadline=None)
@given(gold_and_predicted(), ENTITY_TYPES)
def test_swapping_gold_and_prediction_swaps_precision_and_recall(corpus, entity_type):
    gold, predicted = corpus
    forward = score_tags(gold, predicted, entity_type)
    backward = score_tags(predicted, gold, entity_type)
    assert (backward.precision, backward.recall) == (forward.recall, forward.precision)
    assert backward.f1 == forward.f1
    assert (backward.gold, backward.predicted, backward.correct) == (
        forward.predicted,
        forward.gold,
        forward.correct,
    )


@settings(max_examples=100, deadline=None)
@given(gold_and_predicted(), ENTITY_TYPES)
def test_empty_prediction_scores_zero(corpus, entity_type):
    gold, _ = corpus
    s = score_tags(gold, [["O"] * len(g) for g in gold], entity_type)
    # conlleval reports precision 0 when nothing is found
    assert (s.precision, s.recall, s.f1) == (0.0, 0.0, 0.0)
    assert (s.predicted, s.correct) == (0, 0)


# --------------------------------------------------------------------------
# 6. Scores.from_counts
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "gold, predicted, correct, precision, recall, f1",
    [
        (4, 5, 2, 0.4, 0.5, 4 / 9),  # 2 * 0.2 / 0.9
        (2, 8, 2, 0.25, 1.0, 0.4),  # 2 * 0.25 / 1.25
        (10, 10, 10, 1.0, 1.0, 1.0),
        (5, 4, 0, 0.0, 0.0, 0.0),  # nothing correct: F1 0, no division by zero
        (3, 0, 0, 0.0, 0.0, 0.0),  # nothing predicted: precision 0 by convention
        (0, 2, 0, 0.0, 0.0, 0.0),  # no gold entity: recall 0 by convention
        (0, 0, 0, 0.0, 0.0, 0.0),
    ],
)
def test_scores_from_counts(gold, predicted, correct, precision, recall, f1):
    s = Scores.from_counts(gold, predicted, correct)
    assert s.precision == pytest.approx(precision)
    assert s.recall == pytest.approx(recall)
    assert s.f1 == pytest.approx(f1)
    assert (s.gold, s.predicted, s.correct) == (gold, predicted, correct)


def test_iob2_codes_start_every_entity_with_b_and_tag_accuracy_compares_whole_tags():
    """Two entities side by side stay two (B- B-), a one-token entity is B- alone; conlleval counts a
    token right only when its whole tag is (I-LOC for B-LOC is wrong)."""
    from winner.metrics import iob2_codes, tag_accuracy

    # tokens: 0 O, 1-2 LOC, 3 LOC, 4 O, 5 PER (type 1)
    gold = iob2_codes(np.array([1, 3, 5]), np.array([3, 4, 6]), np.array([0, 0, 1]), 7)
    assert gold.tolist() == [0, 1, 2, 1, 0, 3, 0]
    merged = iob2_codes(np.array([1, 5]), np.array([4, 6]), np.array([0, 1]), 7)  # LOC 1-3 as one entity
    assert merged.tolist() == [0, 1, 2, 2, 0, 3, 0]
    assert tag_accuracy(gold, merged) == pytest.approx(6 / 7)
    assert tag_accuracy(np.zeros(0, np.int64), np.zeros(0, np.int64)) == 0.0
