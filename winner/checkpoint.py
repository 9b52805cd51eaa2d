"""Model directories: written atomically, read without pickle, checked on load.

    model-best/
      weights.npz   the parameters, plain float arrays (np.load allow_pickle=False)
      vocab.txt     one word per line; line i is word id i
      suffixes.txt  the same for word endings, when the suffix feature is on
      gazetteer-*.txt  one name per line, when a gazetteer feature is on
      config.yaml   the resolved training config
      meta.json     format version, threshold, dev scores, target type
"""

from __future__ import annotations

import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from winner import config as config_module
from winner.errors import WinnerError
from winner.features import Featurizer, feature_dims, load_featurizer, save_featurizer

FORMAT = "winner-model"
FORMAT_VERSION = 1
FILES = ("weights.npz", "vocab.txt", "config.yaml", "meta.json")


@dataclass
class LoadedModel:
    params: dict
    featurizer: Featurizer
    config: config_module.Config
    meta: dict

    @property
    def threshold(self) -> float:
        return float(self.meta["threshold"])

    @property
    def target(self) -> str:
        return self.meta["target"]


def write_atomic(path: Path, text: str) -> None:
    """Write a text file through a temporary sibling and a rename: never half-written."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def save(directory, params: dict, featurizer: Featurizer, config: config_module.Config, meta: dict) -> None:
    """Write a complete model directory next to `directory`, then swap it in."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = directory.with_name(f".{directory.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    with open(staging / "weights.npz", "wb") as handle:
        np.savez(handle, **params)
        handle.flush()
        os.fsync(handle.fileno())
    save_featurizer(featurizer, staging, write_atomic)
    write_atomic(staging / "config.yaml", config_module.dump(config))
    full_meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta}
    write_atomic(staging / "meta.json", json.dumps(full_meta, indent=2) + "\n")
    retired = directory.with_name(f".{directory.name}.old-{os.getpid()}")
    if directory.exists():
        os.replace(directory, retired)
    os.replace(staging, directory)
    shutil.rmtree(retired, ignore_errors=True)


def load(directory) -> LoadedModel:
    """Read and check a model directory; every problem is a WinnerError naming the file."""
    directory = Path(directory)
    if not directory.is_dir():
        raise WinnerError(f"{directory}: model directory not found (train one with 'winner train CONFIG')")
    for name in FILES:
        if not (directory / name).is_file():
            raise WinnerError(f"{directory / name}: missing from the model directory")
    meta = _read_meta(directory / "meta.json")
    config = config_module.load(directory / "config.yaml")
    featurizer = load_featurizer(directory, config.features)
    params = _read_weights(directory / "weights.npz")
    _check_shapes(directory / "weights.npz", params, featurizer, config)
    return LoadedModel(params, featurizer, config, meta)


def _read_meta(path: Path) -> dict:
    try:
        meta = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise WinnerError(f"{path}: not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise WinnerError(f"{path}: not a winner model (no \"format\": \"{FORMAT}\")")
    if meta.get("format_version") != FORMAT_VERSION:
        raise WinnerError(f"{path}: model format version {meta.get('format_version')!r} is not supported "
                          f"(this winner reads version {FORMAT_VERSION})")
    for key, kind in (("threshold", (int, float)), ("target", str)):
        if not isinstance(meta.get(key), kind) or isinstance(meta.get(key), bool):
            raise WinnerError(f"{path}: '{key}' is missing or has the wrong type")
    return meta


def _read_weights(path: Path) -> dict:
    # np.load treats anything that is not a zip or .npy file as a pickle; refuse it before that.
    if not zipfile.is_zipfile(path):
        raise WinnerError(f"{path}: truncated or corrupted weights (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {key: archive[key] for key in archive.files}
    except ValueError as exc:
        if "Object arrays" in str(exc):
            raise WinnerError(f"{path}: holds object arrays, which are never unpickled; not a winner model") from None
        raise WinnerError(f"{path}: corrupted weights ({' '.join(str(exc).split())})") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
        raise WinnerError(f"{path}: truncated or corrupted weights ({exc.__class__.__name__})") from None


def _check_shapes(path: Path, params: dict, featurizer: Featurizer, config: config_module.Config) -> None:
    dims = feature_dims(config.features)
    sizes = featurizer.sizes()
    width = 2 * config.features.half_window + 1
    hidden = config.model.hidden
    expected = {f"E_{name}": (sizes[name], dim) for name, dim in dims.items()}
    expected.update(W=(hidden, width * sum(dims.values())), b=(hidden,), u=(hidden,))
    if set(params) != set(expected):
        raise WinnerError(f"{path}: holds {sorted(params)}, expected {sorted(expected)}")
    for key, shape in expected.items():
        array = params[key]
        if array.dtype.kind != "f":
            raise WinnerError(f"{path}: '{key}' has dtype {array.dtype}, expected floats")
        if array.shape != shape:
            raise WinnerError(f"{path}: '{key}' has shape {array.shape}, but the vocabulary and config "
                              f"give {shape}")
        if not np.isfinite(array).all():
            raise WinnerError(f"{path}: '{key}' holds inf or nan")
