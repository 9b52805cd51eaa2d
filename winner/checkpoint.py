"""Model directories: written atomically, read without pickle, checked on load.

    model-best/
      weights.npz   the parameters, plain float arrays (np.load allow_pickle=False)
      vocab.txt     one word per line; line i is word id i
      suffixes.txt  the same for word endings, when the suffix feature is on
      gazetteer-*.txt  one name per line, when a gazetteer feature is on
      training-names.txt  the target names of the training data (winner/breakdown.py)
      config.yaml   the resolved training config
      meta.json     format version, objective, entity types and their thresholds,
                    dev scores, target type

model-last/ also holds what `winner train --resume` needs (load() does not
read them):

      optimizer.npz        the optimizer's state, plain float arrays keyed like weights.npz
      training_state.json  epoch, step, early-stopping state, random-generator state

A save writes the whole directory beside the old one (.NAME.tmp-PID), moves
the old one aside (.NAME.old-PID), renames the new one in and deletes the old.
A crash between those two renames leaves no NAME; recover() puts the old one
back, and every save starts with it.
"""

from __future__ import annotations

import functools
import glob
import json
import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from winner import config as config_module, objectives
from winner.errors import WinnerError, read_text
from winner.fastscore import FastScorer
from winner.features import Featurizer, feature_dims, load_featurizer, save_featurizer

FORMAT = "winner-model"
FORMAT_VERSION = 2  # 2 adds objective, types and thresholds; a version 1 directory is a max-margin model
READ_VERSIONS = (1, 2)
FILES = ("weights.npz", "vocab.txt", "config.yaml", "meta.json")
STATE_FORMAT = "winner-training-state"
STATE_FORMAT_VERSION = 1
RESUME_FILES = ("optimizer.npz", "training_state.json")


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

    @property
    def objective_name(self) -> str:
        return self.meta.get("objective", "max_margin")

    @property
    def types(self) -> tuple[str, ...]:
        """The entity types the model tags; the target alone for a max-margin model."""
        return tuple(self.meta.get("types", [self.target]))

    @property
    def thresholds(self) -> np.ndarray:
        """(T,) each type's threshold, in the order of `types`."""
        return np.array(self.meta.get("thresholds", [self.threshold]), dtype=np.float64)

    @property
    def objective(self):
        return objectives.make(self.objective_name, self.types)

    @functools.cached_property
    def scorer(self) -> FastScorer:
        """Tagging's fast path over these parameters, kept so its cache serves every later batch."""
        members = self.meta.get("ensemble", {}).get("size", 1)
        if members > 1:  # winner.ensemble: a merged network, block-diagonal in its members
            from winner.ensemble_scoring import EnsembleScorer

            return EnsembleScorer(self.params, self.config.model.activation, self.featurizer.width, members)
        return FastScorer(self.params, self.config.model.activation, self.featurizer.width)

    def type_scores(self, windows: dict, processes: int = 1) -> np.ndarray:
        """(N, T) the score of every window for every entity type (winner.objectives), through the
        fast path (winner.fastscore), shared out between `processes` processes when there are windows
        enough; training's own scores come from the plain graph."""
        return self.objective.types_from_outputs(self.scorer.score(windows, processes))


def _sibling(path: Path, kind: str) -> Path:
    """.NAME.tmp-PID (being written) or .NAME.old-PID (being replaced), beside `path`."""
    return path.with_name(f".{path.name}.{kind}-{os.getpid()}")


def require_savable(directory, what: str) -> None:
    """Raise WinnerError '<directory>: cannot create <what> (<reason>)' unless save() can make its
    staging sibling beside `directory` (whose parent exists): checked before the work whose model it
    would hold, for a name short enough itself but too long with the sibling's dot and suffix."""
    staging = _sibling(Path(directory), "tmp")
    try:
        staging.mkdir()
    except OSError as exc:
        raise WinnerError(f"{directory}: cannot create {what} ({exc.strerror or exc})") from None
    staging.rmdir()


def _siblings(path: Path, kind: str) -> list[Path]:
    """Every process's `kind` siblings of `path`, oldest first."""
    found = path.parent.glob(f".{glob.escape(path.name)}.{kind}-*")
    return sorted(found, key=lambda p: p.stat().st_mtime)


def _remove(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


def recover(path) -> None:
    """Repair what a crash inside save() or write_atomic() left beside `path`.

    A crash between save()'s two renames leaves no `path` but the old model
    moved aside: it is put back. Half-written temporary siblings are deleted.
    """
    path = Path(path)
    retired = _siblings(path, "old")
    if retired and not os.path.lexists(path):
        os.replace(retired.pop(), path)
    for leftover in retired + _siblings(path, "tmp"):
        _remove(leftover)


def present(path) -> bool:
    """Is there something at `path`, or moved aside by a crash for recover() to put back?"""
    path = Path(path)
    return os.path.lexists(path) or bool(_siblings(path, "old"))


def remove(path) -> None:
    """Delete `path` (a file or a directory) and whatever crashed saves left beside it."""
    path = Path(path)
    for found in [path, *_siblings(path, "old"), *_siblings(path, "tmp")]:
        if found.is_dir() and not found.is_symlink():
            shutil.rmtree(found)
        elif os.path.lexists(found):
            found.unlink()


def write_atomic(path: Path, text: str) -> None:
    """Write a text file through a temporary sibling and a rename: never half-written."""
    tmp = _sibling(path, "tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:  # including KeyboardInterrupt: leave nothing behind
        tmp.unlink(missing_ok=True)
        raise


def _write_arrays(path: Path, arrays: dict) -> None:
    with open(path, "wb") as handle:
        np.savez(handle, **arrays)
        handle.flush()
        os.fsync(handle.fileno())


def save(directory, params: dict, featurizer: Featurizer, config: config_module.Config, meta: dict,
         resume: tuple[dict, dict] | None = None, texts: dict[str, str] | None = None) -> None:
    """Write a complete model directory next to `directory`, then swap it in.

    resume, (optimizer arrays, training state as JSON values), adds the two
    files `winner train --resume` reads; a model-best does without them.
    texts, {file name: content}, adds text files that load() does not need
    (the training names of `winner eval --breakdown`).
    """
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    recover(directory)
    staging = _sibling(directory, "tmp")
    staging.mkdir()
    try:
        _write_arrays(staging / "weights.npz", params)
        save_featurizer(featurizer, staging, write_atomic)
        write_atomic(staging / "config.yaml", config_module.dump(config))
        for name, text in (texts or {}).items():
            write_atomic(staging / name, text)
        if resume is not None:
            accumulators, state = resume
            _write_arrays(staging / "optimizer.npz", accumulators)
            full_state = {"format": STATE_FORMAT, "format_version": STATE_FORMAT_VERSION, **state}
            write_atomic(staging / "training_state.json", json.dumps(full_state) + "\n")
        full_meta = {"format": FORMAT, "format_version": FORMAT_VERSION, **meta}
        write_atomic(staging / "meta.json", json.dumps(full_meta, indent=2) + "\n")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    retired = _sibling(directory, "old")
    if directory.exists():
        os.replace(directory, retired)
    os.replace(staging, directory)
    shutil.rmtree(retired, ignore_errors=True)


def load(directory) -> LoadedModel:
    """Read and check a model directory; every problem is a WinnerError naming the file."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise WinnerError(f"{directory}: is a file, not a model directory (a run's model-best/, say)")
    if not directory.is_dir():
        raise WinnerError(f"{directory}: model directory not found (train one with 'winner train CONFIG')")
    if not (directory / "meta.json").exists() and (directory / "model-best" / "meta.json").is_file():
        raise WinnerError(f"{directory}: a training run, not a model directory; give its {directory / 'model-best'}")
    for name in FILES:
        if not (directory / name).is_file():
            raise WinnerError(f"{directory / name}: missing from the model directory")
    meta = _read_meta(directory / "meta.json")
    _check_types(directory / "meta.json", meta)
    config = config_module.load(directory / "config.yaml")
    _check_ensemble(directory / "meta.json", meta, config)
    featurizer = load_featurizer(directory, config.features)
    params = _read_weights(directory / "weights.npz")
    loaded = LoadedModel(params, featurizer, config, meta)
    _check_shapes(directory / "weights.npz", params, featurizer, config, loaded.objective)
    return loaded


def _read_json(path: Path, what: str, format_name: str, versions: tuple, types: dict) -> dict:
    """A JSON object of one of our formats, with its format, version and typed keys checked."""
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise WinnerError(f"{path}: not valid JSON ({exc.__class__.__name__})") from None
    if not isinstance(data, dict) or data.get("format") != format_name:
        raise WinnerError(f"{path}: not a winner {what} (no \"format\": \"{format_name}\")")
    if data.get("format_version") not in versions or isinstance(data.get("format_version"), bool):
        raise WinnerError(f"{path}: {what} format version {data.get('format_version')!r} is not supported "
                          f"(this winner reads version {' or '.join(map(str, versions))})")
    for key, kind in types.items():
        if not isinstance(data.get(key), kind) or isinstance(data.get(key), bool):
            raise WinnerError(f"{path}: '{key}' is missing or has the wrong type")
    return data


def _read_meta(path: Path) -> dict:
    return _read_json(path, "model", FORMAT, READ_VERSIONS, {"threshold": (int, float), "target": str})


def _check_types(path: Path, meta: dict) -> None:
    """objective, types and thresholds, when present (format version 2), agree with each other and the target."""
    name = meta.get("objective", "max_margin")
    types, thresholds = meta.get("types", [meta["target"]]), meta.get("thresholds", [meta["threshold"]])
    if name not in objectives.NAMES:
        raise WinnerError(f"{path}: 'objective' is {name!r}, expected one of {', '.join(objectives.NAMES)}")
    if not (isinstance(types, list) and types and all(isinstance(t, str) and t for t in types)
            and len(set(types)) == len(types) and meta["target"] in types):
        raise WinnerError(f"{path}: 'types' must be a list of distinct entity types holding the target")
    if name == "max_margin" and len(types) != 1:
        raise WinnerError(f"{path}: a max_margin model has one type, the target; 'types' has {len(types)}")
    if not (isinstance(thresholds, list) and len(thresholds) == len(types)
            and all(isinstance(t, (int, float)) and not isinstance(t, bool) for t in thresholds)):
        raise WinnerError(f"{path}: 'thresholds' must be a list of numbers, one per type")


def _check_ensemble(path: Path, meta: dict, config: config_module.Config) -> None:
    """An ensemble's 'size' (winner.ensemble) is its members' count, and divides every size it multiplied."""
    if "ensemble" not in meta:
        return
    size = meta["ensemble"].get("size") if isinstance(meta["ensemble"], dict) else None
    sizes = [config.model.hidden, *feature_dims(config.features).values()]
    if not (isinstance(size, int) and not isinstance(size, bool) and size >= 2 and all(n % size == 0 for n in sizes)):
        raise WinnerError(f"{path}: 'ensemble' must hold 'size', the number of members (2 or more), which divides "
                          f"model.hidden and every embedding size")


def _read_weights(path: Path) -> dict:
    # np.load treats anything that is not a zip or .npy file as a pickle; refuse it before that.
    if not zipfile.is_zipfile(path):
        raise WinnerError(f"{path}: truncated or corrupted (not an .npz archive)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            arrays = {key: archive[key] for key in archive.files}
    except ValueError as exc:
        if "Object arrays" in str(exc):
            raise WinnerError(f"{path}: holds object arrays, which are never unpickled; not a winner model") from None
        raise WinnerError(f"{path}: corrupted ({' '.join(str(exc).split())})") from None
    except (zipfile.BadZipFile, EOFError, OSError, KeyError) as exc:
        raise WinnerError(f"{path}: truncated or corrupted ({exc.__class__.__name__})") from None
    for key, value in arrays.items():
        if not isinstance(value, np.ndarray):  # np.load hands back members that are not .npy files as bytes
            raise WinnerError(f"{path}: member '{key}' is not an array; not a winner model")
    return arrays


# training_state.json: key -> the JSON types its value may have
_STATE_TYPES = {"epoch": int, "step": int, "since_best": int, "best_f1": (int, float), "losses": list,
                "rng": dict, "epoch_rng": (dict, type(None))}


def load_training_state(directory, params: dict, adagrad: bool) -> tuple[dict, dict]:
    """(training state, optimizer arrays) of a model directory saved with `resume`, checked against
    its parameters; every problem is a WinnerError naming the file."""
    directory = Path(directory)
    for name in RESUME_FILES:
        if not (directory / name).is_file():
            raise WinnerError(f"{directory / name}: missing, so training cannot resume from {directory} "
                              f"(only a run's model-last can be resumed)")
    path = directory / "training_state.json"
    state = _read_json(path, "training state", STATE_FORMAT, (STATE_FORMAT_VERSION,), _STATE_TYPES)
    if len(state["losses"]) != state["step"] or (state["step"] > 0) != (state["epoch_rng"] is not None):
        raise WinnerError(f"{path}: 'step', 'losses' and 'epoch_rng' disagree")
    arrays_path = directory / "optimizer.npz"
    accumulators = _read_weights(arrays_path)
    expected = set(params) if adagrad else set()
    if set(accumulators) != expected:
        raise WinnerError(f"{arrays_path}: holds {sorted(accumulators)}, expected {sorted(expected)}")
    for key, array in accumulators.items():
        if array.dtype.kind != "f" or array.shape != params[key].shape or not np.isfinite(array).all():
            raise WinnerError(f"{arrays_path}: '{key}' is not a finite float array of shape {params[key].shape}")
    return state, accumulators


def _check_shapes(path: Path, params: dict, featurizer: Featurizer, config: config_module.Config,
                  objective) -> None:
    dims = feature_dims(config.features)
    sizes = featurizer.sizes()
    width = 2 * config.features.half_window + 1
    hidden = config.model.hidden
    expected = {f"E_{name}": (sizes[name], dim) for name, dim in dims.items()}
    expected.update(W=(hidden, width * sum(dims.values())), b=(hidden,), **objective.output_shapes(hidden))
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
