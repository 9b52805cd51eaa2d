"""Tests for winner.config: YAML loading, dotted overrides, validation, dump/load.

Every config problem must surface as a WinnerError whose message is one line
naming the file and the offending key (`path: section.key: ...`).
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import error_message
from winner import config as C
from winner.config import Config

REPO = Path(__file__).resolve().parent.parent


# ---------------------------------------------------------------- helpers

def write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def load_text(tmp_path: Path, text: str, overrides=()) -> Config:
    return C.load(write(tmp_path, text), overrides)


def config_error(tmp_path: Path, text: str, overrides=()) -> tuple[Path, str]:
    path = write(tmp_path, text)
    return path, error_message(C.load, path, overrides)


def yaml_for(section: str, key: str, value: str) -> str:
    return f"{section}:\n  {key}: {value}\n"


# ---------------------------------------------------------------- loading

@pytest.mark.parametrize("text", ["", "\n", "# only a comment\n", "train:\n", "---\n"])
def test_empty_file_gives_the_defaults(tmp_path, text):
    assert load_text(tmp_path, text) == Config()


def test_yaml_values_override_defaults(tmp_path):
    config = load_text(tmp_path, (
        "data:\n  target: PER\n  scheme: iob2\n"
        "model:\n  hidden: 7\n  activation: relu\n"
        "train:\n  lr: 0.1\n  epochs: 3\n"
    ))
    assert (config.data.target, config.data.scheme) == ("PER", "iob2")
    assert (config.model.hidden, config.model.activation) == (7, "relu")
    assert (config.train.lr, config.train.epochs) == (0.1, 3)
    # untouched keys keep their defaults
    assert config.train.k == Config().train.k
    assert config.data.train == Config().data.train
    assert config.features == Config().features


@pytest.mark.parametrize("key", ["lr", "margin", "l2"])
def test_int_is_accepted_for_a_float_field(tmp_path, key):
    value = getattr(load_text(tmp_path, yaml_for("train", key, "2")).train, key)
    assert value == 2.0 and type(value) is float


@pytest.mark.parametrize("override, get, expected", [
    ("train.lr=0.1", lambda c: c.train.lr, 0.1),
    ("train.epochs=3", lambda c: c.train.epochs, 3),
    ("features.vectors=null", lambda c: c.features.vectors, None),
    ("features.vectors=glove.txt", lambda c: c.features.vectors, "glove.txt"),
    ("features.lowercase=false", lambda c: c.features.lowercase, False),
    ("data.label_map={location: LOC}", lambda c: c.data.label_map, {"location": "LOC"}),
    ("model.activation=relu", lambda c: c.model.activation, "relu"),
    ("output.run_dir=runs/x=1", lambda c: c.output.run_dir, "runs/x=1"),  # '=' in the value
])
def test_dotted_override_is_parsed_as_yaml_and_applied(tmp_path, override, get, expected):
    assert get(load_text(tmp_path, "", [override])) == expected


def test_override_beats_the_yaml_file_and_later_overrides_win(tmp_path):
    text = "train:\n  lr: 0.5\n  epochs: 4\nfeatures:\n  vectors: glove.txt\n"
    config = load_text(tmp_path, text, ["train.lr=0.1", "features.vectors=null", "train.lr=0.2"])
    assert config.train.lr == 0.2
    assert config.train.epochs == 4
    assert config.features.vectors is None


def test_override_fills_a_section_that_is_empty_in_the_file(tmp_path):
    assert load_text(tmp_path, "train:\n", ["train.k=3"]).train.k == 3


@pytest.mark.parametrize("name", ["default.yaml", "conll2003.yaml"])
def test_repo_configs_load(name):
    config = C.load(REPO / "configs" / name)
    assert isinstance(config, Config)
    assert config.data.target == "LOC"


def test_repo_default_config_values():
    config = C.load(REPO / "configs" / "default.yaml")
    assert config.train.epochs == 30 and config.train.batch_size == 16


# ---------------------------------------------------------------- file-level errors

def test_missing_file(tmp_path):
    path = tmp_path / "absent.yaml"
    assert error_message(C.load, path).startswith(f"{path}: ")


@pytest.mark.parametrize("text, line", [
    ("a: b: c\n", 1),
    ("model:\n  hidden: 10\n  activation: tanh: relu\n", 3),
    ("data:\n  target: LOC\ntrain:\n  lr: 0.1\n epochs: 3\n", 5),
    ("train:\n  lr: 0.1\n\tepochs: 3\n", 3),
])
def test_invalid_yaml_names_the_line(tmp_path, text, line):
    path, message = config_error(tmp_path, text)
    assert message.startswith(f"{path}:{line}: "), message
    assert "YAML" in message


@pytest.mark.parametrize("text", ["- data\n- train\n", "42\n", "just a string\n"])
def test_top_level_must_be_a_mapping(tmp_path, text):
    path, message = config_error(tmp_path, text)
    assert message.startswith(f"{path}: "), message
    assert "mapping" in message


def test_section_must_be_a_mapping(tmp_path):
    path, message = config_error(tmp_path, "train: 3\n")
    assert message.startswith(f"{path}: ") and "'train'" in message


def test_unknown_section_suggests_the_closest(tmp_path):
    path, message = config_error(tmp_path, "trian:\n  lr: 0.1\n")
    assert message.startswith(f"{path}: ")
    assert "'trian'" in message and "did you mean 'train'" in message


def test_unknown_key_suggests_the_closest(tmp_path):
    path, message = config_error(tmp_path, "train:\n  lrr: 0.1\n")
    assert message.startswith(f"{path}: ")
    assert "train.lrr" in message and "did you mean 'train.lr'" in message


def test_unknown_key_far_from_any_key_has_no_suggestion(tmp_path):
    _, message = config_error(tmp_path, "model:\n  zzzzzzzz: 1\n")
    assert "model.zzzzzzzz" in message and "did you mean" not in message


# ---------------------------------------------------------------- value errors

@pytest.mark.parametrize("section, key, value", [
    ("model", "hidden", "'100'"),        # string for an int
    ("model", "hidden", "true"),         # bool for an int
    ("model", "hidden", "1.5"),          # float for an int
    ("train", "epochs", "10.0"),         # float for an int, even a whole one
    ("train", "lr", "fast"),             # string for a float
    ("train", "lr", "true"),             # bool for a float
    ("features", "lowercase", "1"),      # int for a bool
    ("features", "vectors", "3"),        # int for an optional string
    ("data", "target", "[LOC]"),         # list for a string
    ("data", "label_map", "[a, b]"),     # list for a mapping
    ("data", "label_map", "{a: 1}"),     # mapping to a non-string
    ("train", "epochs", "null"),         # null for a non-optional field
])
def test_wrong_type_names_the_key(tmp_path, section, key, value):
    path, message = config_error(tmp_path, yaml_for(section, key, value))
    assert message.startswith(f"{path}: {section}.{key}: "), message


@pytest.mark.parametrize("section, key, value", [
    ("model", "hidden", "0"),
    ("train", "lr", "0"),
    ("train", "lr", "-0.1"),
    ("features", "half_window", "-1"),
    ("train", "epochs", "0"),
    ("train", "k", "0"),
    ("train", "batch_size", "0"),
    ("features", "word_dim", "0"),
    ("features", "caps_dim", "-1"),
    ("features", "min_count", "0"),
    ("train", "margin", "0"),
    ("train", "l2", "-1"),
    ("train", "patience", "-1"),
    ("train", "lr", ".nan"),
    ("data", "target", "' '"),
    ("output", "run_dir", "''"),
])
def test_out_of_range_value_names_the_key(tmp_path, section, key, value):
    path, message = config_error(tmp_path, yaml_for(section, key, value))
    assert message.startswith(f"{path}: {section}.{key}: must be "), message


@pytest.mark.parametrize("section, key, value", [
    ("model", "activation", "softmax"),
    ("train", "optimizer", "adam"),
    ("train", "corruption", "random"),
    ("data", "scheme", "bio"),
])
def test_bad_choice_names_the_key_and_the_choices(tmp_path, section, key, value):
    path, message = config_error(tmp_path, yaml_for(section, key, value))
    assert message.startswith(f"{path}: {section}.{key}: must be one of "), message
    assert repr(value) in message


@pytest.mark.parametrize("h", [0, 1, 5])
def test_boundary_values_are_accepted(tmp_path, h):
    config = load_text(tmp_path, f"features:\n  half_window: {h}\n  caps_dim: 0\ntrain:\n  patience: 0\n  l2: 0\n")
    assert config.features.half_window == h and config.features.caps_dim == 0


# ---------------------------------------------------------------- override errors

@pytest.mark.parametrize("override", ["train.lr", "train.lr0.1", "lr=0.1", "a.b.c=1", ".lr=1", "train.=1", "=1"])
def test_malformed_override_names_the_override(tmp_path, override):
    _, message = config_error(tmp_path, "", [override])
    assert f"override '{override}'" in message
    assert "section.key=value" in message


def test_override_with_unparsable_yaml_value(tmp_path):
    _, message = config_error(tmp_path, "", ["train.lr=[0.1, 0.2"])
    assert message.startswith("override 'train.lr=[0.1, 0.2': ")
    assert "YAML" in message


def test_override_with_unknown_section_suggests_the_closest(tmp_path):
    _, message = config_error(tmp_path, "", ["trian.lr=0.1"])
    assert message.startswith("override 'trian.lr=0.1': ")
    assert "did you mean 'train'" in message


def test_override_with_unknown_key_names_the_key(tmp_path):
    _, message = config_error(tmp_path, "", ["train.lrr=0.1"])
    assert message == "override 'train.lrr=0.1': unknown key 'train.lrr' (did you mean 'train.lr'?)"


@pytest.mark.parametrize("overrides, expected", [
    (["train.lr=abc"], "override 'train.lr=abc': expected a number, got 'abc'"),
    (["train.lr="], "override 'train.lr=': expected a number, got null"),  # an empty value is null
    (["train.epochs=0"], "override 'train.epochs=0': must be an integer >= 1, got 0"),
    (["data.scheme=bio"], "override 'data.scheme=bio': must be one of auto, iob1, iob2, iobes, got 'bio'"),
    (["features.lowercase=1"], "override 'features.lowercase=1': expected true or false, got 1"),
    (["data.types=all"], "override 'data.types=all': needs train.objective: softmax"),
    (["train.lr=abc", "train.lr=0.1", "train.lr=-1"], "override 'train.lr=-1': must be a number > 0, got -1.0"),
])
def test_a_bad_override_value_names_the_override_not_the_file(tmp_path, overrides, expected):
    """The file holds a good value of the key (or none): the value at fault is the override's."""
    path, message = config_error(tmp_path, "train:\n  lr: 0.1\n", overrides)
    assert message.startswith(expected), message
    assert str(path) not in message


def test_a_bad_mapping_override_names_the_dotted_key_as_written():
    message = error_message(C.from_mapping, {"train": {"lr": 0.1}}, {"train.lr": "abc"}, "my.yaml")
    assert message == "override 'train.lr': expected a number, got 'abc'"


def test_a_bad_file_value_still_names_the_file_beside_overrides_of_other_keys(tmp_path):
    path, message = config_error(tmp_path, "train:\n  lr: abc\n", ["train.epochs=2"])
    assert message == f"{path}: train.lr: expected a number, got 'abc'"
    assert load_text(tmp_path, "train:\n  lr: abc\n", ["train.lr=0.2"]).train.lr == 0.2  # overridden: not read


# ---------------------------------------------------------------- check_paths

def paths_config(tmp_path: Path, **data) -> Config:
    train, dev = tmp_path / "train.txt", tmp_path / "dev.txt"
    train.write_text("Paris B-LOC\n")
    dev.write_text("Paris B-LOC\n")
    vectors = data.pop("vectors", None)
    base = Config()
    return dataclasses.replace(
        base,
        data=dataclasses.replace(base.data, **{"train": str(train), "dev": str(dev), **data}),
        features=dataclasses.replace(base.features, vectors=vectors),
    )


def test_check_paths_passes_when_every_file_exists(tmp_path):
    vectors = tmp_path / "v.txt"
    vectors.write_text("a 1\n")
    C.check_paths(paths_config(tmp_path, vectors=str(vectors)), source="my.yaml")


@pytest.mark.parametrize("key", ["data.train", "data.dev", "features.vectors"])
def test_check_paths_names_the_key_of_a_missing_file(tmp_path, key):
    missing = str(tmp_path / "missing.txt")
    field = key.split(".")[1]
    config = paths_config(tmp_path, **{field: missing})
    message = error_message(C.check_paths, config, source="my.yaml")
    assert message.startswith(f"my.yaml: {key}: ")
    assert missing in message


def test_check_paths_names_the_override_that_gave_a_missing_file(tmp_path):
    missing, train = tmp_path / "missing.txt", write(tmp_path, "Paris B-LOC\n", "train.txt")
    config = C.from_mapping({"data": {"train": str(train)}}, [f"data.dev={missing}"])
    message = error_message(C.check_paths, config, "my.yaml", [f"data.dev={missing}"])
    assert message == f"override 'data.dev={missing}': file not found: {missing}"
    message = error_message(C.check_paths, config, "my.yaml", {"data.dev": str(missing)})
    assert message == f"override 'data.dev': file not found: {missing}"


def test_check_paths_refuses_a_directory(tmp_path):
    message = error_message(C.check_paths, paths_config(tmp_path, dev=str(tmp_path)), source="my.yaml")
    assert message.startswith("my.yaml: data.dev: ")


# ---------------------------------------------------------------- frozen and dump

def test_config_is_frozen():
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.train = C.TrainConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.train.lr = 1.0


def test_dump_then_load_round_trips_the_defaults(tmp_path):
    assert load_text(tmp_path, C.dump(Config())) == Config()


def test_dump_leaves_out_keys_null_by_default_and_reads_them_back(tmp_path):
    """A model saved without a teacher, vectors or gazetteer writes no train.teacher, features.vectors or
    features.gazetteer, so that a winner older than train.teacher reads it; a set value is written."""
    text = C.dump(Config())
    assert "null" not in text and "  teacher:" not in text and "  vectors:" not in text and "  gazetteer:" not in text
    assert load_text(tmp_path, text) == Config()
    base = Config()
    taught = dataclasses.replace(base, train=dataclasses.replace(base.train, objective="softmax", teacher="runs/t"))
    assert "teacher: runs/t" in C.dump(taught) and load_text(tmp_path, C.dump(taught)) == taught


def test_dump_then_load_round_trips_changed_values(tmp_path):
    base = Config()
    config = dataclasses.replace(
        base,
        data=dataclasses.replace(base.data, target="yes", label_map={"location": "LOC", "null": "1"},
                                 scheme="iobes"),
        features=dataclasses.replace(base.features, vectors="glove 6B.txt.gz", half_window=0, caps_dim=0,
                                     lowercase=False),
        model=dataclasses.replace(base.model, hidden=3, activation="hardtanh"),
        train=dataclasses.replace(base.train, lr=1e-5, margin=0.25, l2=1e-12, seed=-7, optimizer="sgd"),
        output=dataclasses.replace(base.output, run_dir="123"),
    )
    back = load_text(tmp_path, C.dump(config))
    assert back == config
    assert type(back.train.lr) is float and type(back.data.target) is str


NAME = st.text(min_size=1, max_size=12).filter(lambda s: s.strip())


@settings(max_examples=40, deadline=None)
@given(target=NAME, run_dir=NAME, label_map=st.dictionaries(st.text(max_size=8), st.text(max_size=8), max_size=3),
       lr=st.floats(min_value=1e-300, max_value=1e300))
def test_dump_then_load_round_trips_random_values(target, run_dir, label_map, lr):
    base = Config()
    config = dataclasses.replace(
        base,
        data=dataclasses.replace(base.data, target=target, label_map=label_map),
        train=dataclasses.replace(base.train, lr=lr),
        output=dataclasses.replace(base.output, run_dir=run_dir),
    )
    with tempfile.TemporaryDirectory() as tmp:
        assert load_text(Path(tmp), C.dump(config)) == config
