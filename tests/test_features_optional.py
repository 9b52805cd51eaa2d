"""Optional features: word endings, gazetteers, document consistency.

Each is checked for what it computes, for changing the model's input when
switched on, for its gradients, and for surviving a save and load.
"""

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from winner import checkpoint, config as config_module, consistency, gradcheck, model, recipe
from winner.corpus import Sentence
from winner.gazetteer import BEGIN, INSIDE, NONE, Gazetteer, held_out_classes, names_in

NAMES = [("new", "york"), ("new", "york", "city"), ("york",), ("paris",)]


@pytest.mark.parametrize("tokens, expected", [
    (["In", "New", "York", "City", "today"], [NONE, BEGIN, INSIDE, INSIDE, NONE]),  # the longest name wins
    (["NEW", "YORK", "and", "Paris"], [BEGIN, INSIDE, NONE, BEGIN]),  # case is ignored
    (["New", "Delhi"], [NONE, NONE]),  # a name's first word alone is no match
    (["York", "New"], [BEGIN, NONE]),  # 'new' at the end: a name may not run past the sentence
    ([], []),
])
def test_gazetteer_classes_are_greedy_longest_matches(tokens, expected):
    assert Gazetteer(NAMES).classes(tokens) == expected


def test_gazetteer_matches_never_cross_sentences():
    gazetteer = Gazetteer(NAMES)
    lower = ["visit", "new", "york", "now"]
    assert gazetteer.classes_flat(lower, np.array([2, 2])).tolist() == [NONE, NONE, BEGIN, NONE]
    assert gazetteer.classes_flat(lower, np.array([4])).tolist() == [NONE, BEGIN, INSIDE, NONE]


def test_a_token_holding_a_space_is_part_of_no_name():
    """Names are matched as their tokens joined by spaces; a token given with a space inside (the API takes
    pre-tokenised sentences) must not join up into a longer name's text."""
    gazetteer = Gazetteer([("new", "york", "city", "x"), ("new", "york", "a")])
    assert gazetteer.classes_flat(["new", "york", "city x", "b"], np.array([4])).tolist() == [NONE] * 4
    assert gazetteer.classes_flat(["new", "york", "city", "x"], np.array([4])).tolist() == [BEGIN] + [INSIDE] * 3


def plain_classes(names, sentence: list[str]) -> list[int]:
    """Greedy longest match from the left, written plainly: the rule classes_flat() follows."""
    lower, out, i = [t.lower() for t in sentence], [NONE] * len(sentence), 0
    while i < len(lower):
        fits = [len(n) for n in names if tuple(lower[i: i + len(n)]) == n]
        if fits:
            out[i: i + max(fits)] = [BEGIN] + [INSIDE] * (max(fits) - 1)
            i += max(fits)
        else:
            i += 1
    return out


NAME_WORDS = st.sampled_from(["new", "york", "city", "paris", "south", "wales", "in"])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.lists(NAME_WORDS, min_size=1, max_size=3), max_size=8),
       st.lists(st.lists(NAME_WORDS, max_size=9), max_size=5))
def test_gazetteer_classes_flat_follow_the_plain_rule(names, sentences):
    gazetteer = Gazetteer([tuple(n) for n in names])
    distinct = set(gazetteer.names)
    lower = [t for s in sentences for t in s]
    got = gazetteer.classes_flat(lower, np.array([len(s) for s in sentences], np.int64)).tolist()
    assert got == [c for s in sentences for c in plain_classes(distinct, s)]


def test_gazetteer_file_round_trip(tmp_path):
    path = tmp_path / "places.txt"
    Gazetteer(NAMES).save(path)
    assert Gazetteer.load(path).names == Gazetteer(NAMES).names


def sentence(doc, tokens, tags):
    return Sentence(tokens.split(), tags.split(), doc)


def test_training_names_come_from_other_folds_only():
    """A name seen only in its own document is not marked there, but is marked in another fold."""
    sentences = [sentence(0, "Flights to Oslo", "O O B-LOC"), sentence(1, "Oslo is cold", "B-LOC O O"),
                 sentence(2, "Rain in Bergen", "O O B-LOC")]
    classes = held_out_classes(sentences, "LOC")["seen"]
    assert classes[0] == [NONE, NONE, BEGIN]  # Oslo is named in document 1, another fold
    assert classes[1] == [BEGIN, NONE, NONE]
    assert classes[2] == [NONE, NONE, NONE]  # Bergen is named in its own document only
    assert names_in(sentences, "LOC", other_types=True) == []


def sample_config(**features):
    cfg = config_module.Config()
    return dataclasses.replace(cfg, features=dataclasses.replace(cfg.features, **features),
                               model=dataclasses.replace(cfg.model, hidden=8))


@pytest.fixture(scope="module")
def places(tmp_path_factory):
    path = tmp_path_factory.mktemp("gazetteer") / "places.txt"
    Gazetteer([("paris",), ("lagos",), ("cape", "town"), ("new", "south", "wales")]).save(path)
    return str(path)


@pytest.fixture(scope="module")
def prepared(places):
    cfg = sample_config(suffix_dim=4, gazetteer=places, train_gazetteer=True, other_gazetteer=True)
    return cfg, recipe.prepare(cfg, np.random.default_rng(0))


def test_every_switched_on_feature_gets_a_table_and_windows(prepared):
    cfg, p = prepared
    width = 2 * cfg.features.half_window + 1
    for name in ("word", "caps", "suffix", "places", "seen", "other"):
        assert p.train.ids[name].shape == (len(p.train.positive), width)
        assert p.params[f"E_{name}"].shape == (p.featurizer.sizes()[name], dict(
            word=50, caps=5, suffix=4, places=5, seen=5, other=5)[name])
    assert p.params["W"].shape == (8, width * (50 + 5 + 4 + 5 + 5 + 5))
    assert (p.train.ids["places"] > NONE).any() and (p.train.ids["seen"] > NONE).any()


def test_switching_a_feature_on_changes_the_scores(places):
    """The same seed with and without the gazetteer gives different dev scores."""
    scores = []
    for gazetteer in (None, places):
        p = recipe.prepare(sample_config(gazetteer=gazetteer), np.random.default_rng(0))
        scores.append(model.score(p.params, p.dev.windows.ids, "tanh"))
    assert not np.allclose(scores[0], scores[1])


def test_gradients_of_the_optional_tables(prepared):
    """Every parameter, the new embedding tables included, against central differences."""
    _, p = prepared
    params = {k: v.astype(np.float64) for k, v in p.params.items()}
    rng = np.random.default_rng(3)
    for _ in range(50):
        true_rows = rng.choice(np.flatnonzero(p.train.positive), 2)
        corrupt_rows = rng.choice(np.flatnonzero(~p.train.positive), 6)
        true, corrupt = p.train.take(true_rows), p.train.take(corrupt_rows)
        if gradcheck.kink_distance(params, true, corrupt, "tanh") > 1e-3:
            break
    else:
        raise AssertionError("no batch away from the hinge's kink")
    errors = {key: _restricted_error(params, true, corrupt, key)
              for key in ("E_suffix", "E_places", "E_seen", "E_other", "b", "u")}
    assert max(errors.values()) < 1e-6, errors


def _restricted_error(params, true, corrupt, key):
    """Relative error of one parameter's gradient (embedding tables: only the rows the batch uses)."""
    _, grads, _ = model.loss_and_grads(params, true, corrupt, "tanh")
    analytic = gradcheck.dense(grads[key], params[key].shape)
    if key.startswith("E_"):
        name = key[2:]
        rows = np.unique(np.concatenate([true[name].ravel(), corrupt[name].ravel()]))
        view = params[key][rows].copy()

        def loss():
            saved = params[key][rows].copy()
            params[key][rows] = view
            value = model.loss_and_grads(params, true, corrupt, "tanh")[0]
            params[key][rows] = saved
            return value

        numeric = gradcheck.numeric_gradient(loss, view)
        return gradcheck.relative_error(analytic[rows], numeric)
    numeric = gradcheck.numeric_gradient(lambda: model.loss_and_grads(params, true, corrupt, "tanh")[0], params[key])
    return gradcheck.relative_error(analytic, numeric)


def test_model_with_every_feature_round_trips(prepared, tmp_path):
    cfg, p = prepared
    checkpoint.save(tmp_path / "m", p.params, p.featurizer, cfg, {"target": "LOC", "threshold": 0.0})
    loaded = checkpoint.load(tmp_path / "m")
    assert set(loaded.featurizer.gazetteers) == {"places", "seen", "other"}
    for name, gazetteer in p.featurizer.gazetteers.items():
        assert loaded.featurizer.gazetteers[name].names == gazetteer.names
    assert loaded.featurizer.suffixes.words == p.featurizer.suffixes.words
    tokens = [["Flights", "from", "Cape", "Town", "to", "Lagos"]]
    expected, got = p.featurizer.windows(tokens), loaded.featurizer.windows(tokens)
    assert all(np.array_equal(expected[k], got[k]) for k in expected)


def test_document_consistency_pulls_scores_toward_their_document_mean():
    scores = np.array([4.0, -2.0, 1.0, 3.0], np.float32)
    groups = consistency.groups(["Texas", "Texas", "Texas", "rain"], [0, 0, 1, 0])
    assert groups.tolist() == [0, 0, 1, 2]  # the same string in another document is another group
    smoothed = consistency.smooth(scores, groups, 0.5)
    np.testing.assert_allclose(smoothed, [2.5, -0.5, 1.0, 3.0])
    assert consistency.smooth(scores, groups, 0.0) is scores
