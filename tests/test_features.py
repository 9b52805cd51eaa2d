"""Tests for winner.features: word normalisation, caps classes, vocabulary, windows."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from winner.features import CAPS_BOUNDARY, CAPS_CLASSES, SPECIALS, Featurizer, TokenTable, Vocab, caps_class
from winner.keys import normalise, normalise_all

LOWER, UPPER, TITLE, MIXED, NO_LETTERS = (CAPS_CLASSES.index(name) for name in
                                          ("lower", "UPPER", "Title", "miXed", "no-letters"))


def featurizer(sentences, half_window, min_count=1) -> Featurizer:
    """A featurizer whose vocabulary is built from `sentences`."""
    vocab = Vocab.build([t for s in sentences for t in s], min_count=min_count)
    return Featurizer(vocab, half_window)


def reference_windows(f: Featurizer, sentences) -> np.ndarray:
    """Plain-Python word windows: the specification the vectorised code must meet."""
    h, rows = f.half_window, []
    for tokens in sentences:
        ids = [f.vocab.index.get(normalise(t, f.lowercase, f.digits_to_zero), 0) for t in tokens]
        padded = [1] * h + ids + [2] * h
        rows += [padded[i: i + 2 * h + 1] for i in range(len(tokens))]
    return np.array(rows, dtype=np.int32).reshape(len(rows), 2 * h + 1)


# ---------------------------------------------------------------- normalise

def test_normalise_lowercases_and_maps_digits_to_zero():
    assert normalise("Paris") == "paris"
    assert normalise("1996-08-22") == "0000-00-00"
    assert normalise("A380s") == "a000s"


def test_normalise_switches():
    assert normalise("Paris1996", lowercase=False) == "Paris0000"
    assert normalise("Paris1996", digits_to_zero=False) == "paris1996"
    assert normalise("Paris1996", lowercase=False, digits_to_zero=False) == "Paris1996"


ANY_TOKENS = st.lists(st.text(st.characters(exclude_categories=("Cs",)), max_size=6), max_size=8)


@settings(max_examples=300, deadline=None)
@given(ANY_TOKENS, st.booleans(), st.booleans())
@example(["ΟΔΟΣ", "Σ", "'Σ", "AΣ'", "İstanbul", "Straße", "١٩٩٦"], True, True)
@example(["a\nb", "c"], True, True)  # a token holding a line break
@example([], True, True)
def test_normalise_all_gives_normalise_of_each_token(tokens, lowercase, digits_to_zero):
    # Greek capital sigma lowercases by context (final or not): joining must not change its neighbours.
    assert normalise_all(tokens, lowercase, digits_to_zero) == [normalise(t, lowercase, digits_to_zero) for t in tokens]


# ---------------------------------------------------------------- caps_class

@pytest.mark.parametrize("token, expected", [
    ("paris", LOWER),
    ("PARIS", UPPER),
    ("Paris", TITLE),
    ("iPhone", MIXED),
    ("McDonald", MIXED),
    ("1996", NO_LETTERS),
    ("-", NO_LETTERS),
    ("U.S.", UPPER),
    ("a", LOWER),
])
def test_caps_class(token, expected):
    assert caps_class(token) == expected


def test_caps_class_single_capital_letter_is_upper():
    # Pins current behaviour: isupper() is tested before the Title branch, so 'A'
    # and 'I' share a class with acronyms ('US'). The Title branch's
    # `len(token) == 1` clause is therefore unreachable for letters.
    assert caps_class("A") == UPPER
    assert caps_class("I") == UPPER


def plain_caps_class(token: str) -> int:
    """The rule caps_class() follows, written plainly: caps_class() adds quick answers only."""
    if token.islower():
        return LOWER
    if token.isupper():
        return UPPER
    if not any(c.isalpha() for c in token):
        return NO_LETTERS
    if token[0].isupper() and not any(c.isupper() for c in token[1:]):
        return TITLE
    return MIXED


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=8))
@example("Ⓐⓑ")  # upper and lower but not letters
@example("Aǅ")  # a titlecase letter is neither upper nor lower
def test_caps_class_follows_the_plain_rule(token):
    assert caps_class(token) == plain_caps_class(token)


def test_caps_class_follows_the_plain_rule_on_every_character_and_its_title_pair():
    for code in range(0x110000):
        c = chr(code)
        for token in (c, "A" + c, c + "a"):
            assert caps_class(token) == plain_caps_class(token), repr(token)


def test_caps_classes_are_valid_indices():
    for token in ["paris", "PARIS", "Paris", "iPhone", "1996", "-", "A", "東京", "ǅ"]:
        assert 1 <= caps_class(token) < len(CAPS_CLASSES)
    assert CAPS_BOUNDARY == 0


# ---------------------------------------------------------------- Vocab

def test_vocab_build_keeps_specials_at_ids_0_to_2():
    vocab = Vocab.build(["Paris", "<unk>", "<S>", "</s>", "is"])
    assert tuple(vocab.words[:3]) == SPECIALS
    assert [vocab.index[w] for w in SPECIALS] == [0, 1, 2]
    assert vocab.words.count("<unk>") == 1 and vocab.words.count("<s>") == 1
    assert sorted(vocab.words[3:]) == ["is", "paris"]


def test_vocab_build_respects_min_count():
    tokens = ["the", "the", "The", "Paris", "Paris", "Lyon"]
    vocab = Vocab.build(tokens, min_count=2)
    assert vocab.words == list(SPECIALS) + ["the", "paris"]
    assert Vocab.build(tokens, min_count=4).words == list(SPECIALS)


def test_vocab_build_is_most_frequent_first_and_deterministic():
    tokens = ["b", "a", "c", "a", "b", "d", "a"]
    vocab = Vocab.build(tokens)
    assert vocab.words[3:] == ["a", "b", "c", "d"]  # ties broken alphabetically
    shuffled = tokens[:]
    random.Random(0).shuffle(shuffled)
    assert Vocab.build(shuffled).words == vocab.words
    assert Vocab.build(tokens).words == vocab.words


def test_vocab_refuses_words_without_specials():
    with pytest.raises(ValueError):
        Vocab(["paris", "berlin"])


def test_vocab_extend_appends_only_new_words():
    vocab = Vocab.build(["paris"]).extend(["berlin", "paris", "berlin", "rome"])
    assert vocab.words == list(SPECIALS) + ["paris", "berlin", "rome"]


# ---------------------------------------------------------------- Featurizer.windows

SENTENCES = [["Paris", "is", "big"], ["Berlin"]]


def test_windows_shape_is_tokens_by_window_width():
    f = featurizer(SENTENCES, half_window=2)
    windows = f.windows(SENTENCES)
    assert set(windows) == {"word", "caps"}
    for array in windows.values():
        assert array.shape == (4, 5)
        assert array.dtype == np.int32


def test_windows_use_boundary_ids_at_sentence_edges():
    f = featurizer(SENTENCES, half_window=1)
    paris, is_, big, berlin = (f.vocab.index[w] for w in ["paris", "is", "big", "berlin"])
    word = f.windows(SENTENCES)["word"]
    assert word.tolist() == [
        [1, paris, is_],
        [paris, is_, big],
        [is_, big, 2],
        [1, berlin, 2],
    ]


def test_windows_caps_use_boundary_class_at_sentence_edges():
    f = featurizer(SENTENCES, half_window=1)
    caps = f.windows(SENTENCES)["caps"]
    assert caps.tolist() == [
        [CAPS_BOUNDARY, TITLE, LOWER],
        [TITLE, LOWER, LOWER],
        [LOWER, LOWER, CAPS_BOUNDARY],
        [CAPS_BOUNDARY, TITLE, CAPS_BOUNDARY],
    ]


def test_windows_map_unknown_words_to_id_0():
    f = featurizer(SENTENCES, half_window=1)
    word = f.windows([["Tokyo", "is", "Kyoto"]])["word"]
    assert word[:, 1].tolist() == [0, f.vocab.index["is"], 0]


def test_windows_map_words_below_min_count_to_id_0():
    sentences = [["Paris", "Paris", "Lyon"]]
    f = featurizer(sentences, half_window=0, min_count=2)
    assert f.windows(sentences)["word"][:, 0].tolist() == [3, 3, 0]


def test_windows_centre_column_is_the_token_ids():
    sentences = [["The", "U.S.", "and", "1996"], ["Paris"], ["Tokyo", "now"]]
    f = featurizer(sentences[:2], half_window=2)
    centre = f.windows(sentences)["word"][:, 2]
    expected = [f.vocab.index.get(normalise(t), 0) for s in sentences for t in s]
    assert centre.tolist() == expected
    assert expected.count(0) == 2  # only Tokyo and now are outside the vocabulary


def test_windows_with_half_window_0_are_just_the_ids():
    f = featurizer(SENTENCES, half_window=0)
    windows = f.windows(SENTENCES)
    assert windows["word"].shape == (4, 1)
    assert windows["word"][:, 0].tolist() == [f.vocab.index[w] for w in ["paris", "is", "big", "berlin"]]
    assert windows["caps"][:, 0].tolist() == [TITLE, LOWER, LOWER, TITLE]


def test_windows_with_half_window_3_pad_short_sentences_on_both_sides():
    f = featurizer(SENTENCES, half_window=3)
    word = f.windows([["Paris", "is"]])["word"]
    paris, is_ = f.vocab.index["paris"], f.vocab.index["is"]
    assert word.tolist() == [
        [1, 1, 1, paris, is_, 2, 2],
        [1, 1, paris, is_, 2, 2, 2],
    ]


def test_windows_skip_empty_sentences_mixed_with_non_empty_ones():
    f = featurizer(SENTENCES, half_window=2)
    mixed = [[], ["Paris", "is"], [], [], ["Berlin"], []]
    plain = [["Paris", "is"], ["Berlin"]]
    got, want = f.windows(mixed), f.windows(plain)
    for key in ("word", "caps"):
        assert np.array_equal(got[key], want[key])


@pytest.mark.parametrize("sentences", [[], [[]], [[], []]], ids=["no-sentence", "one-empty", "two-empty"])
@pytest.mark.parametrize("h", [0, 1, 2])
def test_windows_of_no_tokens_are_empty(sentences, h):
    # [[]] is what `winner predict ""` (or an empty stdin line) hands the featurizer.
    f = featurizer(SENTENCES, half_window=h)
    for array in f.windows(sentences).values():
        assert array.shape == (0, 2 * h + 1)


WORDS = st.sampled_from(["Paris", "paris", "is", "BIG", "1996", "-", "Tokyo", "iPhone"])


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(WORDS, max_size=5), max_size=5), st.integers(0, 4))
@example([[]], 1)
def test_windows_match_a_plain_python_reference(sentences, h):
    f = Featurizer(Vocab.build(["Paris", "is", "1996", "iPhone"]), h)
    windows = f.windows(sentences)
    assert np.array_equal(windows["word"], reference_windows(f, sentences))
    n = sum(len(s) for s in sentences)
    assert windows["caps"].shape == (n, 2 * h + 1)
    assert windows["caps"][:, h].tolist() == [caps_class(t) for s in sentences for t in s]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.lists(st.lists(WORDS | st.text(max_size=4), max_size=5), max_size=4), min_size=1, max_size=4))
def test_windows_do_not_depend_on_what_the_featurizer_met_before(batches):
    # Token ids are kept between calls; a featurizer that has seen other batches
    # must give each batch the windows a fresh one gives.
    vocab = Vocab.build(["Paris", "is", "1996", "iPhone"])
    seasoned = Featurizer(vocab, 2, suffixes=Vocab.build(["ris", "is", "one"]))
    for sentences in batches:
        fresh = Featurizer(vocab, 2, suffixes=Vocab.build(["ris", "is", "one"]))
        got, want = seasoned.windows(sentences), fresh.windows(sentences)
        assert got.keys() == want.keys()
        assert all(np.array_equal(got[k], want[k]) for k in want)


def test_token_table_starts_afresh_past_its_limit_and_still_answers_right():
    f = Featurizer(Vocab.build(["paris", "is", "big"]), 1)
    table = TokenTable(limit=4)
    batches = [["Paris", "is", "big"], ["a", "b", "Paris"], ["c", "d", "e", "f"], ["Paris", "is"]]
    for tokens in batches:
        assert np.array_equal(table.lookup(tokens, f._work_out), f._work_out(tokens))
        assert len(table.row) <= 4
    assert table.row == {"Paris": 0, "is": 1}  # the last batch started a fresh table
