"""Configuration: YAML -> frozen dataclasses, dotted overrides, validation.

Defaults live in the dataclasses below; a YAML file only says what differs.
Unknown keys are refused (with the closest valid key suggested), so a typo
never silently falls back to a default. What each value may be (its type,
range or choices) is winner.config_values.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from winner import config_values
from winner.errors import WinnerError, read_text
from winner.yamltext import DuplicateKey, UniqueKeyLoader, parse_yaml



@dataclass(frozen=True)
class DataConfig:
    train: str = "data/sample/train.txt"
    dev: str = "data/sample/dev.txt"
    scheme: str = "auto"  # tag scheme of the files: auto, iob1, iob2 or iobes
    target: str = "LOC"  # the entity type the model learns; with several types, the one whose dev F1 picks model-best
    label_map: dict = field(default_factory=dict)  # corpus type -> model type
    # entity types of a softmax model (train.objective: softmax): null for the target alone,
    # 'all' for every type of the training corpus (after label_map), or a list of types
    types: typing.Optional[list] = None
    # share of training sentences that also train as a lowercased / uppercased copy (winner/casing.py)
    case_augment_lower: float = 0.0
    case_augment_upper: float = 0.0


@dataclass(frozen=True)
class FeaturesConfig:
    half_window: int = 2  # h: a window holds 2h+1 tokens
    lowercase: bool = True
    digits_to_zero: bool = True
    word_dim: int = 50
    caps_dim: int = 5  # 0 switches the capitalisation feature off
    caps_uncased: bool = False  # a caps class of its own for the words of all-lower and all-caps sentences
    vectors: typing.Optional[str] = None  # GloVe / word2vec text file, .txt or .txt.gz
    freeze_vectors: bool = False
    min_count: int = 1  # rarer training words map to the unknown-word id
    suffix_dim: int = 0  # embedding of the word's last letters; 0 switches it off
    suffix_length: int = 3
    gazetteer: typing.Optional[str] = None  # list file of place names, one per line (make gazetteer)
    train_gazetteer: bool = False  # names annotated as the target in training, as a feature
    other_gazetteer: bool = False  # names annotated as another type in training, as a feature
    gazetteer_dim: int = 5  # embedding size of each gazetteer feature


@dataclass(frozen=True)
class ModelConfig:
    hidden: int = 100
    activation: str = "tanh"


@dataclass(frozen=True)
class TrainConfig:
    objective: str = "max_margin"  # max_margin: sampled (true, corrupted) pairs; softmax: cross-entropy, every window
    optimizer: str = "adagrad"
    lr: float = 0.05
    epochs: int = 10
    batch_size: int = 64  # true windows per step (max_margin), windows per step (softmax)
    k: int = 10  # corrupted windows per true window (max_margin)
    corruption: str = "outside"  # outside: any non-target window; replace_centre: Collobert's (max_margin)
    margin: float = 1.0  # (max_margin)
    l2: float = 0.0  # weight decay on W and the output layer (u or U)
    # share of the input layer x (the window's embeddings) zeroed at each training step, the rest
    # scaled by 1/(1 - dropout) (inverted dropout); tagging uses x whole (winner/gates.py)
    dropout: float = 0.0
    patience: int = 3  # epochs without a better dev F1 before stopping; 0 never stops early
    seed: int = 0
    # a softmax model directory (e.g. an ensemble's) whose class probabilities the model learns
    # in place of the gold classes: knowledge distillation (winner/distill.py)
    teacher: typing.Optional[str] = None


@dataclass(frozen=True)
class DecodeConfig:
    # weight of the document mean of the same token's scores (0 = off); see winner/consistency.py
    document_consistency: float = 0.0


@dataclass(frozen=True)
class OutputConfig:
    run_dir: str = "runs/default"


@dataclass(frozen=True)
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    features: FeaturesConfig = field(default_factory=FeaturesConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    decode: DecodeConfig = field(default_factory=DecodeConfig)
    output: OutputConfig = field(default_factory=OutputConfig)

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)


SECTIONS = {f.name: f.default_factory for f in dataclasses.fields(Config)}

def _closest(name: str, options, section: str | None = None) -> str:
    """' (did you mean 'train.lr'?)' for the option closest to `name`, named as the user writes it."""
    import difflib  # only on the error path

    match = difflib.get_close_matches(name, list(options), n=1, cutoff=0.5)
    return f" (did you mean '{section + '.' if section else ''}{match[0]}'?)" if match else ""


def _section_fields(name: str) -> dict:
    return {f.name: f for f in dataclasses.fields(SECTIONS[name])}


def from_dict(raw: dict, source: str = "config", given: typing.Mapping[str, str] | None = None) -> Config:
    """Build and validate a Config from nested dicts (YAML content) read from `source`.

    given, {'section.key': where}: the keys whose values came from elsewhere (overrides: see
    origins()); an error about such a value names `where` in place of 'SOURCE: section.key'.
    Raises WinnerError naming the source or origin and the key.
    """
    given = given or {}
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise WinnerError(f"{source}: expected a mapping of sections, got {type(raw).__name__}")
    sections = {}
    for name, values in raw.items():
        if name not in SECTIONS:
            raise WinnerError(f"{source}: unknown section '{name}'{_closest(str(name), SECTIONS)}")
        if values is None:
            values = {}
        if not isinstance(values, dict):
            raise WinnerError(f"{source}: section '{name}' must be a mapping of keys to values")
        cls, fields = SECTIONS[name], _section_fields(name)
        checked = {}
        for key, value in values.items():
            if key not in fields:
                raise WinnerError(f"{source}: unknown key '{name}.{key}'{_closest(str(key), fields, name)}")
            where = given.get(f"{name}.{key}") or f"{source}: {name}.{key}"
            checked[key] = config_values.checked(name, key, value, fields[key].type, where)
        sections[name] = cls(**checked)
    config = Config(**sections)
    _check_objective(config, source, given)
    return config


def _check_objective(config: Config, source: str, given: typing.Mapping[str, str]) -> None:
    """Settings that depend on each other: data.types is the softmax objective's, and holds data.target.
    The error names where the key of the rule was given (its override, or the file)."""
    def where(key: str) -> str:
        return given.get(key) or f"{source}: {key}"

    if config.train.teacher is not None and config.train.objective != "softmax":
        raise WinnerError(f"{where('train.teacher')}: needs train.objective: softmax (a student learns the "
                          f"teacher's class probabilities with cross-entropy)")
    types, target = config.data.types, config.data.target
    if types is None:
        return
    if config.train.objective != "softmax":
        raise WinnerError(f"{where('data.types')}: needs train.objective: softmax (a max-margin model learns "
                          f"data.target alone)")
    if types != "all" and target not in types:
        raise WinnerError(f"{where('data.types')}: {types!r} does not hold data.target {target!r}")


def parse_override(text: str) -> tuple[str, str, object]:
    """'train.lr=0.1' -> ('train', 'lr', 0.1); the value is parsed as YAML."""
    key, sep, value = text.partition("=")
    if not sep or key.count(".") != 1 or not all(key.split(".")):
        raise WinnerError(f"override '{text}': expected section.key=value, e.g. train.lr=0.1")
    section, name = key.split(".")
    if not value.strip():
        return section, name, None
    try:
        parsed = yaml.load(value, Loader=UniqueKeyLoader)
    except DuplicateKey as exc:
        raise WinnerError(f"override '{text}': key '{exc.key}' is written twice") from None
    except yaml.YAMLError as exc:
        raise WinnerError(f"override '{text}': cannot parse the value as YAML ({_first_line(exc)})") from None
    return section, name, parsed


def _first_line(exc: Exception) -> str:
    return " ".join(str(exc).split())


def load(path: str | os.PathLike, overrides: typing.Sequence[str] = ()) -> Config:
    """Read a YAML config, apply 'section.key=value' overrides, validate.

    A byte-order mark is dropped (winner.errors.read_text); a key written twice is an error.
    """
    path = Path(path)
    raw = parse_yaml(read_text(path, "config file"), str(path))
    return from_mapping(raw, overrides, str(path))


def from_mapping(raw, overrides: typing.Sequence[str] | typing.Mapping[str, object] = (),
                 source: str = "config") -> Config:
    """A Config from nested dicts ({section: {key: value}}, as in the YAML file) and overrides:
    'section.key=value' strings (the value parsed as YAML) or a {'section.key': value} mapping.
    Raises WinnerError naming the override for its faults (malformed, an unknown key, a bad value)
    and `source` for the file's."""
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise WinnerError(f"{source}: expected a mapping of sections, got {type(raw).__name__}")
    raw = {k: (dict(v) if isinstance(v, dict) else v) for k, v in raw.items()}
    if isinstance(overrides, typing.Mapping):
        triples = [(*_dotted(str(key)), value) for key, value in overrides.items()]
        names = [str(key) for key in overrides]
    else:
        triples, names = [parse_override(text) for text in overrides], list(overrides)
    for name_given, (section, name, value) in zip(names, triples):
        if section not in SECTIONS:
            raise WinnerError(f"override '{name_given}': unknown section '{section}'{_closest(section, SECTIONS)}")
        if name not in _section_fields(section):
            raise WinnerError(f"override '{name_given}': unknown key '{section}.{name}'"
                              f"{_closest(name, _section_fields(section), section)}")
        if not isinstance(raw.get(section) or {}, dict):
            raise WinnerError(f"{source}: section '{section}' must be a mapping of keys to values")
        raw[section] = dict(raw.get(section) or {})
        raw[section][name] = value
    return from_dict(raw, source=source, given=origins(overrides))


def origins(overrides: typing.Sequence[str] | typing.Mapping[str, object] = ()) -> dict[str, str]:
    """{'section.key': where} for each key the overrides set, `where` naming the override as the user
    wrote it: "override 'train.lr=abc'" for a string, "override 'train.lr'" for a mapping's key (a
    later override of a key wins, as it does for the value). What an error about that key's value
    names in place of the config file, which does not hold the value."""
    if isinstance(overrides, typing.Mapping):
        return {str(key): f"override '{key}'" for key in overrides}
    return {text.partition("=")[0]: f"override '{text}'" for text in overrides}


def origin(key: str, source: str, overrides: typing.Sequence[str] | typing.Mapping[str, object] = ()) -> str:
    """Where the value of `key` ('section.key') was given, as an error line starts: the override
    that set it (origins()), else 'SOURCE: section.key'."""
    return origins(overrides).get(key) or f"{source}: {key}"


def _dotted(key: str) -> tuple[str, str]:
    """'train.lr' -> ('train', 'lr'), or a WinnerError."""
    if key.count(".") != 1 or not all(key.split(".")):
        raise WinnerError(f"override '{key}': expected a section.key name, e.g. train.lr")
    section, name = key.split(".")
    return section, name


def check_paths(config: Config, source: str = "config",
                overrides: typing.Sequence[str] | typing.Mapping[str, object] = ()) -> None:
    """Every data file the config names must exist before any work starts. Raises WinnerError
    'SOURCE: section.key: file not found: PATH', or naming the override that gave the path
    (origin(): the overrides `config` was loaded with)."""
    hints = {"features.gazetteer": " (make gazetteer builds data/gazetteer/places.txt)"}
    for key, value in (("data.train", config.data.train), ("data.dev", config.data.dev),
                       ("features.vectors", config.features.vectors),
                       ("features.gazetteer", config.features.gazetteer)):
        if value is not None and Path(value).is_dir():
            raise WinnerError(f"{origin(key, source, overrides)}: {value} is a directory; expected a file")
        if value is not None and not Path(value).is_file():
            raise WinnerError(f"{origin(key, source, overrides)}: file not found: {value}{hints.get(key, '')}")
    if config.train.teacher is not None and not Path(config.train.teacher).is_dir():
        raise WinnerError(f"{origin('train.teacher', source, overrides)}: model directory not found: "
                          f"{config.train.teacher}")


def require_same(config: Config, other: Config, allowed, source, other_source, rule: str) -> None:
    """Raise WinnerError naming the first setting (section.key, in file order) in which `config` (read
    from `source`) differs from `other` (read from `other_source`), settings in `allowed` aside:
    'SOURCE: section.key is NEW, but OTHER_SOURCE has OLD; RULE'. Used wherever a saved model's
    settings must be kept: a resumed run, members of an ensemble."""
    new, old = config.to_dict(), other.to_dict()
    for section, values in new.items():
        for key, value in values.items():
            if f"{section}.{key}" not in allowed and value != old[section][key]:
                raise WinnerError(f"{source}: {section}.{key} is {value!r}, but {other_source} has "
                                  f"{old[section][key]!r}; {rule}")


# keys added after the model format they are saved in (checkpoint.FORMAT_VERSION): dump() leaves them out at
# their default, so that older winners still read the models that do not use them
LATER_KEYS = ("train.dropout",)


def dump(config: Config) -> str:
    """config.yaml text of `config` (a model's saved config), which load() reads back to the same Config.

    A key whose value is null, its default, is left out, and so is a key of LATER_KEYS at its
    default: load() gives it the same value, and a winner older than the key (train.teacher, say)
    can still read the models that do not use it, rather than refusing an unknown key in a model
    of the format it knows.
    """
    raw = config.to_dict()
    for section, values in raw.items():
        defaults = SECTIONS[section]()
        for key in [key for key, value in values.items()
                    if value == getattr(defaults, key) and (value is None or f"{section}.{key}" in LATER_KEYS)]:
            del values[key]
    return yaml.safe_dump(raw, sort_keys=False)
