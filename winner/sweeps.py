"""Many trainings: `winner sweep CONFIG... --seeds 0,1,2`, each training one Dask task.

A sweep trains every config with every seed, each as an ordinary run in
OUT/NAME/seed-K (NAME: the config file's stem), with one BLAS thread per
task so that the trainings sharing a machine do not fight over its cores, and
so that a seed gives the same weights as `winner train` with one thread. When
a training ends, its row (dev scores of model-best, wall time, throughput)
is written to the run directory as sweep-result.json; a sweep run again
keeps the runs that have one, if their model-best was trained with the
settings asked for now (otherwise that run fails with the setting that
differs, until --overwrite), and trains again those that do not (a killed
worker's run is started anew). A training that fails is listed with its
error and the others go on. The rows make one table, printed and written to
OUT/sweep.tsv and OUT/sweep.json; the files also keep the row of a run that
failed now but still holds a finished run (one refused for its settings), so
that a failing sweep never writes a table that drops a finished run.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from winner import distributed, outdir
from winner.errors import WinnerError, read_text

RESULT = "sweep-result.json"  # in a run directory: the training finished, and its row
COLUMNS = ("name", "seed", "dev_f1", "dev_precision", "dev_recall", "epoch", "seconds", "windows_per_s", "run_dir")
RESERVED = ("train.seed", "output.run_dir")  # set by the sweep for each run


@dataclass(frozen=True)
class Training:
    """One config of a sweep: its name (the run directories' parent), config file and overrides."""

    name: str
    config: str
    overrides: tuple = ()


@dataclass
class SweepResult:
    """The rows of the trainings finished now or kept (one dict each, COLUMNS), in sweep order, and the
    failed ones as (name, seed, one-line error). `table` is what OUT/sweep.tsv and sweep.json hold:
    `rows` and, in their places, the rows of runs that failed now but whose run directories still hold
    a finished run (one refused for its settings is left as it was), so that a failing sweep drops
    no finished run from the table."""

    out: Path
    rows: list = field(default_factory=list)
    failures: list = field(default_factory=list)
    skipped: int = 0
    table: list = field(default_factory=list)


def trainings(configs: Sequence, overrides: Sequence[str] = ()) -> list[Training]:
    """Training entries from config paths (named by their stem) or (name, config, overrides) tuples;
    `overrides` apply to all of them, before each entry's own. A WinnerError for two entries of one
    name, or an override of what the sweep sets itself."""
    out, names = [], set()
    for entry in configs:
        name, config, own = (Path(entry).stem, entry, ()) if isinstance(entry, (str, os.PathLike)) else entry
        every = (*overrides, *own)
        for override in every:
            if override.partition("=")[0].strip() in RESERVED:
                raise WinnerError(f"override '{override}': a sweep sets {' and '.join(RESERVED)} itself "
                                  f"(--seeds, --out)")
        if not name or "/" in name or name in (".", ".."):
            raise WinnerError(f"sweep: '{name}' cannot name a directory of runs")
        if name in names:
            raise WinnerError(f"sweep: two configs named '{name}' (their runs would share {name}/); rename one")
        names.add(name)
        out.append(Training(str(name), os.path.abspath(config), tuple(every)))
    return out


def parse_seeds(text: str) -> list[int]:
    """'0,1,2' or '0-4' (inclusive) -> the seeds; a WinnerError for anything else."""
    seeds: list[int] = []
    for part in text.split(","):
        low, dash, high = part.strip().partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise WinnerError(f"--seeds '{text}': expected seeds such as 0,1,2 or 0-4")
        if dash and int(high) < int(low):
            raise WinnerError(f"--seeds '{text}': the range {part.strip()} goes down; write it {high}-{low}")
        seeds += range(int(low), int(high) + 1) if dash else [int(low)]
    if len(set(seeds)) != len(seeds) or not seeds:
        raise WinnerError(f"--seeds '{text}': each seed once")
    return seeds


def train_one(config: str, overrides: tuple, seed: int, run_dir: str, name: str) -> dict:
    """One task: train `config` with `overrides` and `seed` into run_dir with one BLAS thread, replacing
    an unfinished run there; returns its row and writes it to run_dir/sweep-result.json. The
    training's log goes to run_dir/train.log. Runs on a worker."""
    from threadpoolctl import threadpool_limits

    from winner import checkpoint, run

    run_path = Path(run_dir)
    try:
        run_path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise WinnerError(f"{run_dir}: cannot create the run directory ({exc.strerror or exc})") from None
    # An --overwrite run that fails must not pass for the old one; but when it saved no model, the old run
    # is put back (winner.replacing), and its row with it, so that the run is kept, not trained again.
    old_row, old_model = _read(run_path / RESULT), _read(run_path / "model-best" / "meta.json")
    (run_path / RESULT).unlink(missing_ok=True)
    started = time.perf_counter()
    try:
        with threadpool_limits(limits=1, user_api="blas"), \
                open(run_path / "train.log", "w", encoding="utf-8") as log:
            result = run.run_training(config, [*overrides, f"train.seed={seed}", f"output.run_dir={run_dir}"],
                                      log=lambda line: print(line, file=log, flush=True), overwrite=True)
    except BaseException:
        if old_row is not None and old_model is not None and _read(run_path / "model-best" / "meta.json") == old_model:
            checkpoint.write_atomic(run_path / RESULT, old_row.decode("utf-8"))
        raise
    best = result.best
    row = {"name": name, "seed": seed, "dev_f1": best["dev_f1"], "dev_precision": best["dev_precision"],
           "dev_recall": best["dev_recall"], "epoch": best["epoch"], "seconds": round(time.perf_counter() - started, 3),
           "windows_per_s": round(statistics.mean(r["windows_per_s"] for r in result.rows), 1), "run_dir": run_dir}
    checkpoint.write_atomic(run_path / RESULT, json.dumps(row) + "\n")
    return row


def _read(path: Path) -> bytes | None:
    """A file's bytes, or None when it cannot be read."""
    try:
        return path.read_bytes()
    except OSError:
        return None


def _check(entry: Training, seed: int, run_dir: Path):
    """The run's Config; the config's errors (unknown keys, missing data files) raised once, here, before
    any task starts."""
    from winner import config as config_module

    overrides = [*entry.overrides, f"train.seed={seed}", f"output.run_dir={run_dir}"]
    cfg = config_module.load(entry.config, overrides)
    config_module.check_paths(cfg, entry.config, overrides)
    return cfg


def finished_row(entry: Training, cfg, run_dir: Path) -> dict:
    """The row of the run that finished in run_dir, kept only if it was trained with the settings `cfg`
    asks for now (every one: the row is model-best's). Raises WinnerError naming the first setting
    that differs and both values, as `winner train --resume` does (config.require_same), or a row or
    config that cannot be read."""
    from winner import config as config_module

    saved_path = run_dir / "model-best" / "config.yaml"
    config_module.require_same(cfg, config_module.load(saved_path), (), entry.config, saved_path,
                               "a sweep keeps a finished run only with the settings it was trained with "
                               "(--overwrite trains it again)")
    return read_row(run_dir)


def read_row(run_dir: Path) -> dict:
    """The row in run_dir/sweep-result.json; a WinnerError when it is missing or not a row."""
    try:
        row = json.loads(read_text(run_dir / RESULT, "sweep result"))
    except ValueError:
        row = None
    if not isinstance(row, dict) or set(row) != set(COLUMNS):
        raise WinnerError(f"{run_dir / RESULT}: not a sweep result (a JSON object of {', '.join(COLUMNS)}); "
                          f"--overwrite trains the run again")
    return row


def sweep(configs: Sequence, seeds: Sequence[int] = (0,), out="runs/sweep", overrides: Sequence[str] = (),
          client=None, workers: int | None = None, scheduler: str | None = None, overwrite: bool = False,
          progress: bool = True) -> SweepResult:
    """Train every config with every seed, one Dask task each, into OUT/NAME/seed-K; returns the rows.

    configs: config files (NAME is the file's stem) or (name, config, overrides) tuples; overrides:
    'section.key=value' for all of them. client: a dask.distributed.Client; None connects to
    `scheduler` when given, else starts a LocalCluster of `workers` processes (default one per core).
    Paths in the configs are read by the workers, relative to their working directory. A run that
    finished (its sweep-result.json exists) is read, not trained again, unless overwrite; one
    trained with other settings is a failure naming the setting (finished_row). Config errors, an
    OUT that cannot be made, or a scheduler that cannot be reached raise WinnerError before any
    training starts (an OUT made here is removed again); a training that fails is in the result's
    failures and the others go on; the table (SweepResult.table: the rows, and those of failed runs
    whose directories still hold a finished run) is written to OUT/sweep.tsv and OUT/sweep.json."""
    distributed.require("winner.sweep")
    entries, seeds = trainings(configs, overrides), list(seeds)
    out = Path(os.path.abspath(out))
    runs = [(entry, seed, out / entry.name / f"seed-{seed}") for entry in entries for seed in seeds]
    cfgs = [_check(entry, seed, run_dir) for entry, seed, run_dir in runs]
    # made before anything under OUT is read: an OUT that cannot be made (a file there, a name too long)
    # is one error before any task
    with outdir.made(out, "the sweep's output directory"):
        rows: dict[int, dict] = {}
        failures: dict[int, str] = {}
        for i, (entry, _, run_dir) in enumerate(runs):
            if not overwrite and (run_dir / RESULT).is_file():
                try:
                    rows[i] = finished_row(entry, cfgs[i], run_dir)
                except WinnerError as exc:
                    failures[i] = str(exc)
        result = SweepResult(out, skipped=len(rows))
        todo = [i for i in range(len(runs)) if i not in rows and i not in failures]
        calls = [(f"train {runs[i][0].name} seed {runs[i][1]}", train_one,
                  (runs[i][0].config, runs[i][0].overrides, runs[i][1], str(runs[i][2]), runs[i][0].name))
                 for i in todo]
        for outcome in distributed.outcomes("winner.sweep", calls, client, workers, scheduler, "run", progress) \
                if calls else ():
            if outcome.error is None:
                rows[todo[outcome.index]] = outcome.result
            else:
                failures[todo[outcome.index]] = outcome.error
        result.rows = [rows[i] for i in sorted(rows)]
        result.failures = [(runs[i][0].name, runs[i][1], failures[i]) for i in sorted(failures)]
        # a run that failed now but still holds a finished run keeps its row in the table
        table = {**rows, **{i: row for i in failures if (row := _left_row(runs[i][2])) is not None}}
        result.table = [table[i] for i in sorted(table)]
        write_table(result)
    return result


def _left_row(run_dir: Path) -> dict | None:
    """The row of the finished run a failed run's directory still holds (one refused for its settings,
    untouched), or None (never finished, its row removed by the training that failed, or unreadable)."""
    try:
        return read_row(run_dir)
    except WinnerError:
        return None


def render_text(result: SweepResult) -> str:
    """The table: one line per run, then each config's mean ± sd dev F1 over its seeds, then failures."""
    lines = [f"{'config':<24} {'seed':>4} {'dev F1':>7} {'P':>7} {'R':>7} {'epoch':>5} {'seconds':>8} {'windows/s':>10}"]
    for r in result.rows:
        lines.append(f"{r['name']:<24} {r['seed']:>4} {r['dev_f1']:>7.4f} {r['dev_precision']:>7.4f} "
                     f"{r['dev_recall']:>7.4f} {r['epoch']:>5} {r['seconds']:>8.1f} {r['windows_per_s']:>10,.0f}")
    by_name: dict[str, list[float]] = {}
    for r in result.rows:
        by_name.setdefault(r["name"], []).append(r["dev_f1"])
    for name, f1s in by_name.items():
        sd = statistics.stdev(f1s) if len(f1s) > 1 else 0.0
        lines.append(f"{name}: dev F1 {statistics.mean(f1s):.4f} ± {sd:.4f} over {len(f1s)} seed(s)")
    lines += [f"failed: {name} seed {seed}: {error}" for name, seed, error in result.failures]
    return "\n".join(lines) + "\n"


def write_table(result: SweepResult) -> None:
    """OUT/sweep.tsv (one row per finished run of result.table, COLUMNS) and OUT/sweep.json (those rows
    and this sweep's failures)."""
    from winner.checkpoint import write_atomic

    tsv = ["\t".join(COLUMNS)] + ["\t".join(str(r[c]) for c in COLUMNS) for r in result.table]
    failures = [{"name": n, "seed": s, "error": e} for n, s, e in result.failures]
    try:
        result.out.mkdir(parents=True, exist_ok=True)
        write_atomic(result.out / "sweep.tsv", "\n".join(tsv) + "\n")
        write_atomic(result.out / "sweep.json", json.dumps({"runs": result.table, "failures": failures}, indent=1) + "\n")
    except OSError as exc:
        raise WinnerError(f"{result.out}: cannot write the sweep's table ({exc.strerror or exc})") from None
