"""What `train` does with files: a training run (winner.scoring does `eval`'s part).
The CLI only parses arguments and prints.

A training run keeps, in output.run_dir, model-best, model-last and
metrics.jsonl. model-last is saved after every epoch with the optimizer's
state and the training state (epoch, early stopping, random generator), which
is all `--resume` needs to go on as if the run had never stopped. Ctrl-C stops
at the end of the current step and saves model-last as it is then, resume
state included, so a resumed run loses no step either.
"""

from __future__ import annotations

import json
import math
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from winner import __version__, checkpoint, config as config_module, decode, outdir, recipe, replacing
from winner.errors import WinnerError, lines as text_lines, read_text, require_output_dir
from winner.features import save_featurizer
from winner.train import DevResult, EpochResult, Progress, evaluate as evaluate_dev, train_epochs

# Settings --resume lets differ from the saved config: they do not change what an epoch computes.
RESUMABLE = ("train.epochs", "train.patience", "output.run_dir")  # a run directory may have been moved
RUN_FILES = ("model-best", "model-last", "metrics.jsonl")  # what a training run keeps in output.run_dir
MODELS = RUN_FILES[:2]  # a run that has saved one of these has something to show (winner.replacing)
MEMBERS = "members"  # RUN_DIR/members/seed-K: the members' runs of `winner train --seeds` (winner.members)


def model_meta(cfg, objective, evaluation: DevResult) -> dict:
    """meta.json of a model: objective, types, each type's threshold, and the dev scores at them;
    dev_file, the dev set's absolute path, so that `winner report` finds it from any directory."""
    types = list(objective.types)
    return {"winner_version": __version__, "objective": objective.name, "target": cfg.data.target,
            "types": types, "threshold": evaluation.threshold, "thresholds": [float(t) for t in evaluation.thresholds],
            "dev": evaluation.scores.as_dict(), "dev_token_accuracy": evaluation.token_accuracy,
            "dev_types": {kind: s.as_dict() for kind, s in zip(types, evaluation.per_type)},
            "dev_overall": decode.overall(evaluation.per_type).as_dict(), "dev_file": str(Path(cfg.data.dev).resolve())}


def _metrics_row(result: EpochResult, elapsed: float) -> dict:
    """One line of metrics.jsonl. A diverged epoch's loss and threshold are null: they mean nothing,
    and NaN or Infinity would make the line something other than JSON."""
    def kept(value: float):
        return round(value, 6) if math.isfinite(value) and not result.diverged else None

    return {
        "epoch": result.epoch,
        "loss": kept(result.loss),
        "dev_precision": round(result.dev.precision, 6),
        "dev_recall": round(result.dev.recall, 6),
        "dev_f1": round(result.dev.f1, 6),
        "dev_gold": result.dev.gold,
        "dev_predicted": result.dev.predicted,
        "dev_correct": result.dev.correct,
        "dev_token_accuracy": round(result.token_accuracy, 6),
        "threshold": kept(result.threshold),
        "windows_per_s": round(result.windows_per_s, 1),
        "train_seconds": round(result.train_seconds, 3),
        "seconds": round(elapsed, 3),
        "is_best": result.is_best,
        "dev_f1_types": {kind: round(s.f1, 6) for kind, s in zip(result.evaluation.types, result.evaluation.per_type)},
        "dev_f1_overall": round(decode.overall(result.evaluation.per_type).f1, 6),
    }


class _StopRequest:
    """While active, Ctrl-C asks training to stop instead of raising wherever it lands.

    check() raises KeyboardInterrupt at the safe points: after a step and
    after an epoch's files are written, where parameters, optimizer and random
    generator agree and no file is half-written. Further Ctrl-Cs change
    nothing, so they cannot cut short the save that follows either.
    """

    def __init__(self):
        self.requested = False

    def __enter__(self):
        try:
            self.previous = signal.signal(signal.SIGINT, self._request)
        except ValueError:  # not the main thread, which alone receives Ctrl-C: nothing to defer
            self.previous = None
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)

    def _request(self, signum, frame):
        self.requested = True

    def check(self) -> None:
        if self.requested:
            raise KeyboardInterrupt


def _read_rows(path: Path, upto: int) -> list[dict]:
    """The metrics rows of epochs 1 .. upto: later ones belong to epochs a resumed run trains again."""
    lines = text_lines(read_text(path, "metrics file of the run to resume"))
    rows = []
    for number, line in enumerate(lines, start=1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if not isinstance(row, dict) or not isinstance(row.get("epoch"), int):
            raise WinnerError(f"{path}:{number}: not a metrics row (a JSON object with an 'epoch')")
        if row["epoch"] <= upto:
            rows.append(row)
    return rows


def check_settings(config_path, cfg, last: Path, saved=None) -> None:
    """Raise WinnerError unless `cfg` (read from config_path) has the settings of the run saved in
    `last` (a model-last directory; `saved` its Config when loaded already), but for RESUMABLE:
    a resumed run keeps its settings. The error names the first key that differs and both files."""
    if saved is None:
        saved = checkpoint.load(last).config
    config_module.require_same(cfg, saved, RESUMABLE, config_path, last / "config.yaml",
                               "a resumed run keeps its settings (only train.epochs and train.patience may change)")


def check_training_data(cfg, model_dir: Path, featurizer, kept: str = "it cannot be resumed") -> None:
    """A WinnerError naming the first vocabulary or gazetteer file in model_dir that differs from what
    `featurizer` (built from cfg.data.train now: recipe.training_featurizer) would write: the training
    data changed since the run in model_dir started. `kept` says what that rules out."""
    saved = {}
    save_featurizer(featurizer, model_dir, lambda path, text: saved.__setitem__(path, text))
    for path, text in saved.items():
        if not path.is_file() or path.read_text(encoding="utf-8") != text:
            raise WinnerError(f"{path}: differs from what {cfg.data.train} gives now: the training data "
                              f"changed since the run started, so {kept}")


def _resume(config_path, cfg, run_dir: Path, prepared, rng: np.random.Generator) -> tuple[Progress, list[dict]]:
    """Restore a run from run_dir/model-last into `prepared` and `rng`; checks everything before
    training writes anything. Returns the progress to continue from and the metrics rows so far."""
    last = run_dir / "model-last"
    if not last.is_dir():
        raise WinnerError(f"{last}: not found, nothing to resume (train without --resume to start a run)")
    loaded = checkpoint.load(last)
    check_settings(config_path, cfg, last, loaded.config)
    check_training_data(cfg, last, prepared.featurizer)
    state, accumulators = checkpoint.load_training_state(last, loaded.params, cfg.train.optimizer == "adagrad")
    if state["epoch"] >= cfg.train.epochs:
        raise WinnerError(f"{config_path}: train.epochs is {cfg.train.epochs}, and {last} has trained "
                          f"{state['epoch']} epochs; raise train.epochs to train longer")
    if cfg.train.patience and state["since_best"] >= cfg.train.patience:
        raise WinnerError(f"{config_path}: the run stopped early ({state['since_best']} epochs without a better dev "
                          f"F1, train.patience {cfg.train.patience}); raise train.patience to train longer")
    rows = _read_rows(run_dir / "metrics.jsonl", state["epoch"])
    try:
        rng.bit_generator.state = state["rng"]
    except (ValueError, TypeError, KeyError):
        raise WinnerError(f"{last / 'training_state.json'}: 'rng' is not a {type(rng.bit_generator).__name__} "
                          f"state") from None
    prepared.params.update(loaded.params)
    return Progress.from_json(state, accumulators), rows


def _member_seeds(run_dir: Path) -> str:
    """'0,1,2': the seeds of the members in RUN_DIR/members (seed-K directories), as --seeds takes them."""
    seeds = sorted(int(p.name[5:]) for p in (run_dir / MEMBERS).glob("seed-*") if p.name[5:].isdigit())
    return ",".join(map(str, seeds)) or "0,1,2"


def _refuse_to_replace(run_dir: Path, resume: bool, overwrite: bool) -> None:
    """A run directory that holds a run is continued (--resume) or replaced (--overwrite), never
    replaced without a word: its model-best may be the better model. Checked before anything in
    the directory is touched (a crash-left model counts, see checkpoint.present). An ensemble's
    run (RUN_DIR/members, winner.members) is continued with --seeds, which the error says."""
    if resume and overwrite:
        raise WinnerError("--resume and --overwrite: give one of them (continue the run, or replace it)")
    ensemble = (run_dir / MEMBERS).is_dir()
    if resume and ensemble and not checkpoint.present(run_dir / "model-last"):
        raise WinnerError(f"{run_dir}: holds an ensemble's training run ({MEMBERS}/), which a single run cannot "
                          f"resume; add --seeds {_member_seeds(run_dir)} to the command")
    if resume or overwrite:
        return
    found = [name for name in RUN_FILES if checkpoint.present(run_dir / name)]
    if ensemble:
        raise WinnerError(f"{run_dir}: holds an ensemble's training run ({', '.join([MEMBERS, *found])}); add "
                          f"--seeds {_member_seeds(run_dir)} --resume to continue it, --overwrite to replace it, "
                          f"or set another output.run_dir")
    if found:
        raise WinnerError(f"{run_dir}: holds a training run ({', '.join(found)}); add --resume to continue it, "
                          f"--overwrite to replace it, or set another output.run_dir")


def _best_row(rows: list[dict]) -> dict | None:
    return next((row for row in reversed(rows) if row.get("is_best")), None)


@dataclass(frozen=True)
class TrainResult:
    """What a training run leaves: its directories and its metrics rows (metrics.jsonl, as dicts)."""

    run_dir: Path
    best_dir: Path  # RUN_DIR/model-best: the epoch with the best dev F1
    last_dir: Path  # RUN_DIR/model-last: the latest epoch, what --resume starts from
    rows: list  # one metrics row per epoch, as in metrics.jsonl
    best: dict  # the row of model-best's epoch
    target: str  # the entity type trained

    @property
    def summary(self) -> str:
        """One line: the best epoch's dev scores and threshold, and where its model is."""
        b = self.best
        return (f"best dev {self.target} F1 {b['dev_f1']:.4f} (P {b['dev_precision']:.4f} "
                f"R {b['dev_recall']:.4f}) at epoch {b['epoch']}, threshold {b['threshold']:+.3f}: {self.best_dir}")


def run_training(config_path, overrides, log: Callable[[str], None] = print, resume: bool = False,
                 overwrite: bool = False) -> TrainResult:
    """Train as the config says; returns the run's directories and metrics rows.

    config_path: a YAML file, or a mapping of sections as the file would hold
    them; overrides: 'section.key=value' strings or a {'section.key': value}
    mapping. resume: continue the run in output.run_dir from its model-last,
    with the same settings (train.epochs and train.patience may change).
    overwrite: replace the run output.run_dir holds (its model-best,
    model-last and metrics.jsonl are set aside, deleted once the new run has
    saved a model, put back if it stops before: winner.replacing). Without
    either, a run directory that holds a run is refused (WinnerError).

    Raises WinnerError, before the data loads, for a bad config (an override's
    bad value names the override: winner.config.origins), a data file not
    found, and an output.run_dir that cannot be made or written
    ('PATH: cannot create the run directory (REASON)'); a run directory made
    here is removed again when the run stops before writing into it.
    """
    started = time.perf_counter()
    if isinstance(config_path, dict):
        config_path, cfg = "config", config_module.from_mapping(config_path, overrides)
    else:
        cfg = config_module.load(config_path, overrides)
    config_module.check_paths(cfg, str(config_path), overrides)
    run_dir = Path(cfg.output.run_dir)
    require_output_dir(run_dir, config_module.origin("output.run_dir", str(config_path), overrides))
    # made before the data loads, so that a directory that cannot be made is one error before any work;
    # one made here is removed again when the run fails before writing into it
    with outdir.made(run_dir, "the run directory"):
        replacing.settle(run_dir, RUN_FILES, MODELS)  # what a killed --overwrite run left
        _refuse_to_replace(run_dir, resume, overwrite)
        try:
            return _train(config_path, cfg, run_dir, log, resume, overwrite, started)
        finally:  # however the run ends: the old run deleted if this one saved a model, else put back
            if replacing.settle(run_dir, RUN_FILES, MODELS):
                log(f"{run_dir}: this run saved no model; the run it was to replace is back in place")


def _train(config_path, cfg, run_dir: Path, log: Callable[[str], None], resume: bool, overwrite: bool,
           started: float) -> TrainResult:
    """run_training's work once the config is checked and run_dir exists (`started`: perf_counter() at
    the command's start, for metrics.jsonl's seconds)."""
    from tqdm import tqdm

    rng = np.random.default_rng(cfg.train.seed)
    prepared = recipe.prepare(cfg, rng)
    best_dir, last_dir, metrics_path = (run_dir / name for name in RUN_FILES)
    if overwrite:  # once the config and data have passed every check
        replacing.set_aside(run_dir, RUN_FILES, log)
    for path in (last_dir, best_dir, metrics_path):  # after a crash, before anything reads them
        checkpoint.recover(path)
    progress, rows = _resume(config_path, cfg, run_dir, prepared, rng) if resume else (Progress(), [])
    for note in prepared.notes:
        log(note)
    if resume:
        log(f"resuming {last_dir} after epoch {progress.epoch}" + (f", step {progress.step}" if progress.step else ""))
    params, featurizer = prepared.params, prepared.featurizer
    objective = prepared.objective
    steps = math.ceil(objective.epoch_size(prepared.train) / cfg.train.batch_size)
    bar = tqdm(total=steps * cfg.train.epochs, initial=steps * progress.epoch + progress.step, unit="step",
               disable=None, leave=False, dynamic_ncols=True)
    stop = _StopRequest()

    def on_step(epoch, loss, windows_per_s):
        bar.update(1)
        if bar.n % 20 == 0:
            bar.set_description(f"epoch {epoch}", refresh=False)
            bar.set_postfix(loss=f"{loss:.4f}", windows_s=f"{windows_per_s:,.0f}", refresh=False)
        stop.check()

    def save_last(meta: dict) -> None:
        checkpoint.save(last_dir, params, featurizer, cfg, meta, resume=(progress.accumulators, progress.to_json(rng)),
                        texts=prepared.texts)

    def write_rows() -> None:
        checkpoint.write_atomic(metrics_path, "".join(json.dumps(r, allow_nan=False) + "\n" for r in rows))

    epochs = train_epochs(params, prepared.train, prepared.dev, cfg.train, cfg.model.activation,
                          rng, prepared.frozen, on_step, progress, objective)
    # A diverging run overflows before it is caught; the divergence check reports it in one line.
    with stop, bar, np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        try:
            for result in epochs:
                rows.append(_metrics_row(result, time.perf_counter() - started))
                write_rows()
                if result.diverged:
                    best = _best_row(rows)
                    kept = f"{best_dir} keeps epoch {best['epoch']}, the last good model" if best else "no model was saved"
                    raise WinnerError(f"{config_path}: training diverged at epoch {result.epoch} "
                                      f"({result.stop_reason}); {kept}")
                meta = {**model_meta(cfg, objective, result.evaluation), "epoch": result.epoch}
                if result.is_best:
                    checkpoint.save(best_dir, params, featurizer, cfg, meta, texts=prepared.texts)
                save_last(meta)  # last: the one a resume starts from, so nothing it implies is missing
                bar.clear()
                log(f"epoch {result.epoch:>3}  loss {result.loss:.4f}  dev P {result.dev.precision:.4f} "
                    f"R {result.dev.recall:.4f} F1 {result.dev.f1:.4f}  threshold {result.threshold:+.3f}  "
                    f"{result.windows_per_s:,.0f} windows/s{'  best' if result.is_best else ''}")
                if len(objective.types) > 1:
                    log("           dev F1 " + "  ".join(f"{k} {f:.4f}" for k, f in rows[-1]["dev_f1_types"].items())
                        + f"  overall {rows[-1]['dev_f1_overall']:.4f}")
                if result.stop_reason:
                    log(result.stop_reason)
                stop.check()
        except KeyboardInterrupt:
            bar.clear()
            if progress.step:  # inside an epoch: model-last gets this step's parameters
                evaluation = evaluate_dev(params, prepared.dev, cfg.model.activation, objective)
                save_last({**model_meta(cfg, objective, evaluation), "epoch": progress.epoch, "step": progress.step,
                           "interrupted": True})
            write_rows()  # exists even when no epoch has finished
            log(f"interrupted after epoch {progress.epoch}" + (f", step {progress.step}" if progress.step else "") +
                f": saved {last_dir} and {metrics_path}; add --resume to the same command to continue")
            raise
    return TrainResult(run_dir, best_dir, last_dir, rows, _best_row(rows), cfg.data.target)
