"""What a config value may be: the type its field declares, and the range or choices of its key.

Every check raises WinnerError naming `where` the value was given (the config
file and key, or the override: winner.config.origins), with the value as
YAML writes it, since the user wrote YAML.
"""

from __future__ import annotations

import math
import re

import yaml

from winner.errors import WinnerError

ACTIVATIONS = ("tanh", "sigmoid", "hardtanh", "relu")
OPTIMIZERS = ("sgd", "adagrad")
CORRUPTIONS = ("outside", "replace_centre")
SCHEMES = ("auto", "iob1", "iob2", "iobes")
OBJECTIVES = ("max_margin", "softmax")

# (section, key) -> (test, what the value must be)
RULES = {
    ("data", "scheme"): (lambda v: v in SCHEMES, f"one of {', '.join(SCHEMES)}"),
    ("data", "target"): (lambda v: bool(v.strip()), "a non-empty entity type"),
    ("data", "case_augment_lower"): (lambda v: 0 <= v <= 1, "a number from 0 to 1"),
    ("data", "case_augment_upper"): (lambda v: 0 <= v <= 1, "a number from 0 to 1"),
    ("data", "types"): (lambda v: v == "all" or (isinstance(v, list) and len(v) > 0 and len(set(v)) == len(v)),
                        "'all' or a list of distinct entity types"),
    ("features", "half_window"): (lambda v: v >= 0, "an integer >= 0"),
    ("features", "word_dim"): (lambda v: v >= 1, "an integer >= 1"),
    ("features", "caps_dim"): (lambda v: v >= 0, "an integer >= 0"),
    ("features", "min_count"): (lambda v: v >= 1, "an integer >= 1"),
    ("features", "suffix_dim"): (lambda v: v >= 0, "an integer >= 0"),
    ("features", "suffix_length"): (lambda v: v >= 1, "an integer >= 1"),
    ("features", "gazetteer_dim"): (lambda v: v >= 1, "an integer >= 1"),
    ("model", "hidden"): (lambda v: v >= 1, "an integer >= 1"),
    ("model", "activation"): (lambda v: v in ACTIVATIONS, f"one of {', '.join(ACTIVATIONS)}"),
    ("train", "objective"): (lambda v: v in OBJECTIVES, f"one of {', '.join(OBJECTIVES)}"),
    ("train", "optimizer"): (lambda v: v in OPTIMIZERS, f"one of {', '.join(OPTIMIZERS)}"),
    ("train", "lr"): (lambda v: v > 0, "a number > 0"),
    ("train", "epochs"): (lambda v: v >= 1, "an integer >= 1"),
    ("train", "batch_size"): (lambda v: v >= 1, "an integer >= 1"),
    ("train", "k"): (lambda v: v >= 1, "an integer >= 1"),
    ("train", "corruption"): (lambda v: v in CORRUPTIONS, f"one of {', '.join(CORRUPTIONS)}"),
    ("train", "margin"): (lambda v: v > 0, "a number > 0"),
    ("train", "l2"): (lambda v: v >= 0, "a number >= 0"),
    ("train", "dropout"): (lambda v: 0 <= v < 1, "a number from 0 up to (not including) 1"),
    ("train", "patience"): (lambda v: v >= 0, "an integer >= 0"),
    ("decode", "document_consistency"): (lambda v: 0 <= v <= 1, "a number from 0 to 1"),
    ("output", "run_dir"): (lambda v: bool(v.strip()), "a non-empty path"),
}


_FLOAT = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


# what a field's type asks for, in the words of the RULES above
_KINDS = {"bool": "true or false", "int": "an integer", "float": "a number", "str": "a string"}


def shown(value) -> str:
    """A value as YAML writes it (null, true, false), else its repr: the user wrote YAML."""
    if value is None or isinstance(value, bool):
        return yaml.safe_dump(value).split("\n")[0]
    return repr(value)


def coerce(value, annotation, where: str):
    """Check one value against its field's type; ints are accepted where floats are."""
    ann = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))
    optional = ann.startswith("typing.Optional[") or ann.startswith("Optional[")
    base = ann.split("[", 1)[1].rstrip("]") if optional else ann
    if value is None and optional:
        return None
    if base == "bool":
        if isinstance(value, bool):
            return value
    elif base == "int":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif base == "float":
        if isinstance(value, str) and _FLOAT.fullmatch(value.strip()):
            value = float(value)  # YAML 1.1 reads 1e-3 (no dot) as a string; users mean a number
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise WinnerError(f"{where}: must be a finite number, got {shown(value)}")
            return float(value)
    elif base == "str":
        if isinstance(value, str):
            return value
    elif base == "list":  # data.types: a list of names, or the one word 'all'
        if value == "all" or (isinstance(value, list) and all(isinstance(v, str) and v.strip() for v in value)):
            return value
        raise WinnerError(f"{where}: expected 'all' or a list of entity types, got {shown(value)}")
    elif base == "dict":
        if isinstance(value, dict) and all(isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
            return dict(value)
        raise WinnerError(f"{where}: expected a mapping of names to names, got {shown(value)}")
    raise WinnerError(f"{where}: expected {_KINDS.get(base, base)}{' or null' if optional else ''}, "
                      f"got {shown(value)}")


def checked(section: str, key: str, value, annotation, where: str):
    """`value` of section.key, of the field type `annotation`, coerced (coerce) and within its key's
    range or choices (RULES); a WinnerError at `where` otherwise."""
    value = coerce(value, annotation, where)
    rule = RULES.get((section, key))
    if rule and value is not None and not rule[0](value):
        raise WinnerError(f"{where}: must be {rule[1]}, got {shown(value)}")
    return value
