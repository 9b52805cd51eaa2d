"""Tests for winner.checkpoint (model directories) and winner.embeddings (vectors files).

A model directory must round-trip exactly, be replaced atomically, and be
refused with a one-line WinnerError naming the bad file when anything in it is
missing, corrupted, of the wrong shape, or would need unpickling.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest
import yaml

from helpers import error_message
from winner import checkpoint
from winner.config import Config
from winner.embeddings import pretrained_table, random_table, read_vectors
from winner.features import CAPS_CLASSES, Featurizer, Vocab
from winner.model import init_params

WORD_DIM, CAPS_DIM, HIDDEN, HALF_WINDOW = 4, 2, 3, 1
META = {"target": "LOC", "threshold": 0.5}


# ---------------------------------------------------------------- helpers

def load_error(directory: Path, bad_file: str | None) -> str:
    """checkpoint.load fails with a message naming `directory / bad_file` (and maybe its line)."""
    message = error_message(checkpoint.load, directory)
    named = directory / bad_file if bad_file else directory
    assert re.match(rf"{re.escape(str(named))}(:\d+)?: ", message), message
    return message


def tiny_config() -> Config:
    base = Config()
    return dataclasses.replace(
        base,
        features=dataclasses.replace(base.features, word_dim=WORD_DIM, caps_dim=CAPS_DIM, half_window=HALF_WINDOW),
        model=dataclasses.replace(base.model, hidden=HIDDEN),
    )


def tiny_model(seed: int = 0):
    """(params, featurizer, config) of a small but complete model."""
    rng = np.random.default_rng(seed)
    vocab = Vocab.build(["Paris", "is", "in", "France", "Berlin"])
    word_table = random_table(len(vocab), WORD_DIM, rng)
    caps_table = random_table(len(CAPS_CLASSES), CAPS_DIM, rng)
    params = init_params({"word": word_table, "caps": caps_table}, 2 * HALF_WINDOW + 1, HIDDEN, rng)
    return params, Featurizer(vocab, HALF_WINDOW), tiny_config()


@pytest.fixture
def saved(tmp_path):
    """A saved tiny model: (directory, params, vocab, config)."""
    params, featurizer, config = tiny_model()
    directory = tmp_path / "model"
    checkpoint.save(directory, params, featurizer, config, META)
    return directory, params, featurizer.vocab, config


def save_weights(directory: Path, **arrays) -> None:
    np.savez(directory / "weights.npz", **arrays)


class UnpickleCanary:
    """Unpickling this object creates `marker`: proof that np.load ran pickle."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return os.mkdir, (self.marker,)


# ---------------------------------------------------------------- save / load

def test_load_round_trips_every_parameter_exactly(saved):
    directory, params, _, _ = saved
    loaded = checkpoint.load(directory)
    assert set(loaded.params) == set(params) == {"E_word", "E_caps", "W", "b", "u"}
    for key, array in params.items():
        assert loaded.params[key].dtype == array.dtype
        assert np.array_equal(loaded.params[key], array), key


def test_load_round_trips_vocab_config_and_meta(saved):
    directory, _, vocab, config = saved
    loaded = checkpoint.load(directory)
    assert loaded.featurizer.vocab.words == vocab.words
    assert loaded.featurizer.half_window == HALF_WINDOW
    assert loaded.config == config
    assert loaded.threshold == 0.5 and loaded.target == "LOC"
    assert loaded.meta["format_version"] == checkpoint.FORMAT_VERSION


def test_load_round_trips_float64_parameters_and_unicode_words(tmp_path):
    params, _, config = tiny_model()
    vocab = Vocab(["<unk>", "<s>", "</s>", "zürich", "東京", "🙂"])
    params["E_word"] = np.random.default_rng(1).standard_normal((len(vocab), WORD_DIM))
    checkpoint.save(tmp_path / "m", params, Featurizer(vocab, HALF_WINDOW), config, META)
    loaded = checkpoint.load(tmp_path / "m")
    assert loaded.params["E_word"].dtype == np.float64
    assert np.array_equal(loaded.params["E_word"], params["E_word"])
    assert loaded.featurizer.vocab.words == vocab.words


def test_save_without_caps_feature_round_trips(tmp_path):
    params, featurizer, config = tiny_model()
    del params["E_caps"]
    params["W"] = params["W"][:, : (2 * HALF_WINDOW + 1) * WORD_DIM]
    config = dataclasses.replace(config, features=dataclasses.replace(config.features, caps_dim=0))
    checkpoint.save(tmp_path / "m", params, featurizer, config, META)
    assert set(checkpoint.load(tmp_path / "m").params) == {"E_word", "W", "b", "u"}


def test_saving_over_a_model_replaces_it_and_leaves_no_temporary_siblings(saved):
    directory, _, vocab, config = saved
    (directory / "stale.txt").write_text("from the old model")
    new_params, _, _ = tiny_model(seed=1)
    checkpoint.save(directory, new_params, Featurizer(vocab, HALF_WINDOW), config, {"target": "LOC", "threshold": 0.25})
    loaded = checkpoint.load(directory)
    assert loaded.threshold == 0.25
    assert np.array_equal(loaded.params["W"], new_params["W"])
    assert sorted(p.name for p in directory.iterdir()) == sorted(checkpoint.FILES)
    assert [p.name for p in directory.parent.iterdir()] == ["model"]


def test_save_creates_missing_parent_directories(tmp_path):
    params, featurizer, config = tiny_model()
    checkpoint.save(tmp_path / "runs" / "x" / "model-best", params, featurizer, config, META)
    assert checkpoint.load(tmp_path / "runs" / "x" / "model-best").target == "LOC"


# ---------------------------------------------------------------- load errors

def test_missing_directory(tmp_path):
    load_error(tmp_path / "no-model", None)


def test_file_instead_of_directory(tmp_path):
    path = tmp_path / "model"
    path.write_text("not a directory")
    load_error(path, None)


@pytest.mark.parametrize("name", checkpoint.FILES)
def test_each_missing_file_is_named(saved, name):
    directory = saved[0]
    (directory / name).unlink()
    load_error(directory, name)


def test_truncated_weights(saved):
    directory = saved[0]
    weights = directory / "weights.npz"
    data = weights.read_bytes()
    weights.write_bytes(data[: len(data) // 2])
    load_error(directory, "weights.npz")


@pytest.mark.parametrize("garbage", [bytes(range(256)) * 4, b"", b"PK\x03\x04" + b"\xff" * 60],
                         ids=["random-bytes", "empty", "zip-magic-then-junk"])
def test_garbage_weights(saved, garbage):
    directory = saved[0]
    (directory / "weights.npz").write_bytes(garbage)
    load_error(directory, "weights.npz")


def test_garbage_weights_are_not_reported_as_object_arrays(saved):
    # A file of junk bytes is corrupted, not "holds object arrays": np.load falls
    # back to pickle for unknown content and its allow_pickle ValueError is
    # mistaken for the object-array refusal.
    directory = saved[0]
    (directory / "weights.npz").write_bytes(bytes(range(256)) * 4)
    message = load_error(directory, "weights.npz")
    assert "object arrays" not in message


def test_object_array_weights_are_refused_and_never_unpickled(saved, tmp_path):
    directory, params, _, _ = saved
    marker = tmp_path / "unpickled"
    canary = np.array([UnpickleCanary(marker), 1.0], dtype=object)
    np.savez(directory / "weights.npz", allow_pickle=True, **{**params, "E_word": canary})
    load_error(directory, "weights.npz")
    assert not marker.exists()


def test_parameter_with_wrong_shape(saved):
    directory, params, _, _ = saved
    save_weights(directory, **{**params, "b": np.zeros(HIDDEN + 1, np.float32)})
    message = load_error(directory, "weights.npz")
    assert "'b'" in message


@pytest.mark.parametrize("change", ["missing", "extra", "integers", "nan"])
def test_parameter_set_dtype_and_values_are_checked(saved, change):
    directory, params, _, _ = saved
    params = dict(params)
    if change == "missing":
        del params["u"]
    elif change == "extra":
        params["V"] = np.zeros(2, np.float32)
    elif change == "integers":
        params["b"] = np.zeros(HIDDEN, np.int64)
    else:
        params["u"] = np.full(HIDDEN, np.nan, np.float32)
    save_weights(directory, **params)
    load_error(directory, "weights.npz")


def test_vocab_size_must_match_word_table_rows(saved):
    directory = saved[0]
    with open(directory / "vocab.txt", "a", encoding="utf-8") as handle:
        handle.write("extra\n")
    message = load_error(directory, "weights.npz")
    assert "E_word" in message


def test_vocab_without_special_words_is_refused(saved):
    directory, _, vocab, _ = saved
    (directory / "vocab.txt").write_text("\n".join(vocab.words[3:] + ["a", "b", "c"]) + "\n", encoding="utf-8")
    load_error(directory, "vocab.txt")


def test_unknown_format_version(saved):
    directory = saved[0]
    meta = json.loads((directory / "meta.json").read_text())
    meta["format_version"] = 99
    (directory / "meta.json").write_text(json.dumps(meta))
    message = load_error(directory, "meta.json")
    assert "99" in message


@pytest.mark.parametrize("text", ["{not json", "", "[1, 2]", '{"format": "other"}',
                                  '{"format": "winner-model", "format_version": 1, "target": "LOC"}'],
                         ids=["broken", "empty", "list", "other-format", "no-threshold"])
def test_bad_meta_json(saved, text):
    directory = saved[0]
    (directory / "meta.json").write_text(text)
    load_error(directory, "meta.json")


def test_meta_json_with_invalid_utf8(saved):
    directory = saved[0]
    (directory / "meta.json").write_bytes(b'{"target": "\xff"}')
    load_error(directory, "meta.json")


def test_config_with_unknown_key(saved):
    directory = saved[0]
    raw = yaml.safe_load((directory / "config.yaml").read_text())
    raw["train"]["lrr"] = 0.1
    (directory / "config.yaml").write_text(yaml.safe_dump(raw))
    message = load_error(directory, "config.yaml")
    assert "train.lrr" in message


# ---------------------------------------------------------------- embeddings.read_vectors

def write(tmp_path: Path, text: str, name: str = "vectors.txt") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode("utf-8"))
    return path


GLOVE = "Paris 0.1 0.2 0.3\nthe 1 2 3\n1996 -1.5 0 2e-3\n"


def assert_glove_content(words, matrix):
    assert words == ["paris", "the", "0000"]
    assert matrix.dtype == np.float32
    assert np.array_equal(matrix, np.array([[0.1, 0.2, 0.3], [1, 2, 3], [-1.5, 0, 2e-3]], np.float32))


def test_read_glove_text(tmp_path):
    assert_glove_content(*read_vectors(write(tmp_path, GLOVE), dim=3))


def test_read_word2vec_text_with_header(tmp_path):
    assert_glove_content(*read_vectors(write(tmp_path, "3 3\n" + GLOVE), dim=3))


def test_read_gzipped_text(tmp_path):
    path = tmp_path / "vectors.txt.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(GLOVE)
    assert_glove_content(*read_vectors(path, dim=3))


def test_read_vectors_tolerates_crlf_trailing_spaces_and_blank_lines(tmp_path):
    path = write(tmp_path, "Paris 0.1 0.2 0.3 \r\n\r\nthe 1 2 3\r\n1996 -1.5 0 2e-3\n")
    assert_glove_content(*read_vectors(path, dim=3))


def test_read_vectors_keeps_the_first_of_words_that_normalise_alike(tmp_path):
    words, matrix = read_vectors(write(tmp_path, "Paris 1 1\nparis 2 2\nPARIS 3 3\n"), dim=2)
    assert words == ["paris"] and matrix.tolist() == [[1, 1]]


def test_read_vectors_row_of_wrong_dimension_names_the_line(tmp_path):
    path = write(tmp_path, "Paris 0.1 0.2 0.3\nthe 1 2\n")
    assert error_message(read_vectors, path, dim=3).startswith(f"{path}:2: ")


def test_read_vectors_non_number_names_the_line(tmp_path):
    path = write(tmp_path, "Paris 0.1 0.2 0.3\nthe 1 2 3\nof 1 x 3\n")
    message = error_message(read_vectors, path, dim=3)
    assert message.startswith(f"{path}:3: ")
    assert "'x'" in message


def test_read_vectors_dimension_disagreeing_on_line_1(tmp_path):
    path = write(tmp_path, "Paris 0.1 0.2 0.3 0.4\nthe 1 2 3 4\n")
    message = error_message(read_vectors, path, dim=3)
    assert message.startswith(f"{path}:1: ")
    assert "4" in message and "3" in message


def test_read_vectors_dimension_disagreeing_in_word2vec_header(tmp_path):
    path = write(tmp_path, "2 4\nParis 0.1 0.2 0.3 0.4\nthe 1 2 3 4\n")
    message = error_message(read_vectors, path, dim=3)
    assert message.startswith(f"{path}:1: ")
    assert "4" in message


@pytest.mark.parametrize("content", ["", "\n\n"], ids=["empty", "blank"])
def test_read_vectors_without_vectors(tmp_path, content):
    path = write(tmp_path, content)
    assert error_message(read_vectors, path, dim=3).startswith(f"{path}: ")


def test_read_vectors_missing_file(tmp_path):
    path = tmp_path / "absent.txt"
    assert error_message(read_vectors, path, dim=3).startswith(f"{path}: ")


def test_read_vectors_inf_is_refused(tmp_path):
    path = write(tmp_path, "Paris 0.1 inf 0.3\n")
    assert error_message(read_vectors, path, dim=3).startswith(f"{path}: ")


# ---------------------------------------------------------------- embeddings.pretrained_table

def test_pretrained_table_copies_known_rows_and_leaves_others_random():
    vocab_words = ["<unk>", "<s>", "</s>", "paris", "berlin", "the"]
    vectors = np.arange(12, dtype=np.float32).reshape(3, 4)
    table, found = pretrained_table(vocab_words, ["the", "london", "paris"], vectors, np.random.default_rng(0))
    assert table.shape == (6, 4) and table.dtype == np.float32
    assert found == 2
    assert np.array_equal(table[3], vectors[2])  # paris
    assert np.array_equal(table[5], vectors[0])  # the
    for row in (0, 1, 2, 4):
        assert np.all(table[row] != 0)
        assert not any(np.array_equal(table[row], v) for v in vectors)
    assert not np.array_equal(table[0], table[1])


def test_pretrained_table_without_any_known_word_is_all_random():
    vectors = np.ones((2, 3), np.float32) * np.array([[1.0], [-1.0]], np.float32)
    table, found = pretrained_table(["<unk>", "<s>", "</s>"], ["x", "y"], vectors, np.random.default_rng(0))
    assert found == 0 and table.shape == (3, 3)
    assert not np.isin(table, vectors).any()
