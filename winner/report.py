"""`winner report`: a training run at a glance, as text and as a picture.

The text summary needs only the run directory. The picture (training loss,
dev precision/recall/F1 and the threshold per epoch, and the dev score
distributions of true and corrupted windows with the threshold) needs
matplotlib, an optional extra (INSTALL_HINT): it is imported
only here and in winner.picture (which checks --out and writes the file),
only when it is installed, and drawn through the Agg canvas, so no display
or GUI backend is ever involved.

"True" dev windows are those whose centre token is inside a target entity;
"corrupted" ones are the rest, the windows the default `outside` corruption
draws its negatives from. For a softmax model the scores are the target
type's log-odds, and the dev F1 of every type is plotted beside the
target's precision, recall and F1.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from winner import checkpoint, picture, recipe
from winner.corpus import read_conll
from winner.errors import WinnerError, lines as text_lines, read_text, where

# From winner's own checkout: the 'winner' on the package index is another project.
INSTALL_HINT = "pip install -e '.[plot]' in winner's source checkout"


@dataclass
class Run:
    directory: Path
    rows: list[dict]  # metrics.jsonl, one per epoch
    best: dict  # the row of model-best's epoch
    max_epochs: int
    target: str
    threshold: float  # model-best's
    dev_file: str
    true_scores: np.ndarray  # (P,) dev windows whose centre is inside a target entity
    corrupt_scores: np.ndarray  # (N - P,) the others
    score_name: str = "score s"  # what the scores are (winner.objectives)


def read_metrics(path: Path) -> list[dict]:
    members = sorted(path.parent.glob("members/seed-*"))
    if members and not path.exists():  # winner train --seeds: the epochs are the members'
        raise WinnerError(f"{path.parent}: the run of an ensemble, whose members have the epochs; report one "
                          f"of them, e.g. winner report {members[0]}")
    text = read_text(path, "metrics file", " (is this a run directory written by 'winner train'?)")
    rows = []
    for number, line in enumerate(text_lines(text), start=1):
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            raise WinnerError(f"{where(path, number)}: not a JSON object") from None
        if not isinstance(row, dict) or not {"epoch", "dev_f1", "threshold"} <= set(row):
            raise WinnerError(f"{where(path, number)}: not a metrics row (needs epoch, dev_f1, threshold)")
        rows.append(row)
    if not rows:
        raise WinnerError(f"{path}: empty: no epoch has finished")
    return rows


def load(run_dir) -> Run:
    """metrics.jsonl, model-best, and model-best's scores of the dev file its config names."""
    directory = Path(run_dir)
    rows = read_metrics(directory / "metrics.jsonl")
    loaded = checkpoint.load(directory / "model-best")
    cfg = loaded.config
    best = next((row for row in rows if row["epoch"] == loaded.meta.get("epoch")), None)
    if best is None:
        raise WinnerError(f"{directory / 'metrics.jsonl'}: has no row for model-best's epoch "
                          f"{loaded.meta.get('epoch')!r}")
    dev_file = find_dev(directory, cfg.data.dev, loaded.meta.get("dev_file"))
    dev = recipe.make_windows(loaded.featurizer, read_conll(dev_file, cfg.data.scheme, cfg.data.label_map),
                              loaded.target)
    scores = loaded.type_scores(dev.ids)[:, loaded.types.index(loaded.target)]  # (N,) the target type's
    return Run(directory, rows, best, cfg.train.epochs, loaded.target, loaded.threshold, str(dev_file),
               scores[dev.positive], scores[~dev.positive], loaded.objective.score_name)


def find_dev(directory: Path, dev: str, recorded: str | None) -> Path:
    """The dev file of a run, from wherever `winner report` runs: data.dev as the config says it
    (absolute, or relative to the current directory), else the absolute path recorded in meta.json at
    training time, else data.dev relative to the run directory's parent directories (a run directory
    under the directory training ran in, as runs/NAME is). A WinnerError says what was tried."""
    tried = [Path(dev)]
    if recorded:
        tried.append(Path(recorded))
    if not Path(dev).is_absolute():
        tried += [parent / dev for parent in directory.resolve().parents]
    for path in tried:
        if path.is_file():
            return path
    recorded_note = f", the path recorded at training ({recorded})" if recorded else ""
    raise WinnerError(f"{directory / 'model-best' / 'config.yaml'}: data.dev: file not found: {dev} (tried relative "
                      f"to the current directory{recorded_note} and to the parent directories of {directory})")


def summary(run: Run) -> str:
    b, t = run.best, run.threshold
    speeds = [row["windows_per_s"] for row in run.rows if row.get("windows_per_s")]
    above_true = float((run.true_scores > t).mean()) if run.true_scores.size else 0.0
    above_corrupt = float((run.corrupt_scores > t).mean()) if run.corrupt_scores.size else 0.0
    lines = [
        f"{run.directory}: {len(run.rows)} epochs run (at most {run.max_epochs})",
        f"best epoch {b['epoch']}: dev {run.target} P {b['dev_precision']:.4f} R {b['dev_recall']:.4f} "
        f"F1 {b['dev_f1']:.4f}, threshold {t:+.3f}",
        f"training speed: {np.mean(speeds):,.0f} windows/s (mean over epochs)" if speeds else "training speed: unknown",
        f"dev windows ({run.dev_file}): {run.true_scores.size:,} true, {above_true:.1%} above the threshold; "
        f"{run.corrupt_scores.size:,} corrupted, {above_corrupt:.1%} above it",
    ]
    if len(b.get("dev_f1_types", {})) > 1:
        lines.insert(2, "best epoch dev F1 per type: " + ", ".join(f"{k} {f:.4f}" for k, f in b["dev_f1_types"].items())
                     + f"; overall {b['dev_f1_overall']:.4f}")
    return "\n".join(lines) + "\n"


def write_picture(run: Run, out: Path, format: str) -> None:
    """Draw the curves and the score histograms into file `out` as `format` (picture.target's); needs
    matplotlib. Raises WinnerError when the file cannot be written (picture.save)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    epochs = [row["epoch"] for row in run.rows]
    best = run.best["epoch"]
    figure = Figure(figsize=(11, 7.5), layout="constrained")
    FigureCanvasAgg(figure)  # attaches the Agg canvas: PNG output without any GUI backend
    loss, scores, threshold, histogram = figure.subplots(2, 2).ravel()

    losses = [(row["epoch"], row["loss"]) for row in run.rows if row.get("loss")]  # null: diverged; 0 fits no log axis
    loss.plot(*zip(*losses), marker="o", markersize=3)
    loss.set_yscale("log")
    loss.set(title="training loss (mean per step: hinge or cross-entropy)", xlabel="epoch", ylabel="loss")

    for key, label in (("dev_precision", "precision"), ("dev_recall", "recall"), ("dev_f1", "F1")):
        scores.plot(epochs, [row[key] for row in run.rows], marker="o", markersize=3, label=label)
    per_type = run.rows[-1].get("dev_f1_types", {})
    if len(per_type) > 1:  # a softmax model of several types: each type's dev F1 and the overall one
        for kind in [*per_type, None]:
            values = [row["dev_f1_overall"] if kind is None else row["dev_f1_types"][kind] for row in run.rows]
            scores.plot(epochs, values, linestyle="--", marker=".", label=f"F1 {kind or 'overall'}")
    scores.set(title=f"dev {run.target} scores (entity level)" + (", F1 per type" if len(per_type) > 1 else ""),
               xlabel="epoch", ylim=(0, 1))

    threshold.plot(epochs, [row["threshold"] for row in run.rows], marker="o", markersize=3, color="tab:purple")
    threshold.set(title="decision threshold (picked on dev)", xlabel="epoch", ylabel="score")
    for axes in (loss, scores, threshold):
        axes.axvline(best, color="grey", linestyle=":", label=f"best epoch ({best})")
        axes.grid(alpha=0.3)
    scores.legend(loc="lower right")

    everything = np.concatenate([run.true_scores, run.corrupt_scores])  # (N,)
    bins = np.linspace(everything.min(), everything.max(), 60) if everything.size else 10
    histogram.hist(run.corrupt_scores, bins=bins, density=True, alpha=0.6,
                   label=f"corrupted ({run.corrupt_scores.size:,})")
    histogram.hist(run.true_scores, bins=bins, density=True, alpha=0.6, label=f"true ({run.true_scores.size:,})")
    histogram.axvline(run.threshold, color="black", linestyle="--", label=f"threshold {run.threshold:+.2f}")
    histogram.set(title=f"model-best: dev window scores ({Path(run.dev_file).name})",
                  xlabel=f"{run.score_name} ({run.target})",
                  ylabel="density")
    histogram.legend()
    figure.suptitle(f"{run.directory}: best dev {run.target} F1 {run.best['dev_f1']:.4f} at epoch {best}")
    picture.save(figure, out, format)


def build(run_dir, out=None) -> tuple[str, Path | None]:
    """The text summary and the picture's file (default RUN_DIR/report.png), or None without matplotlib.

    out: the file, its format read from its extension, .png added to a name without one (winner.picture);
    it is checked before model-best scores the dev file, so a WinnerError for it comes before that work,
    but after the run directory's metrics.jsonl is read: a path that is no run directory is named so."""
    read_metrics(Path(run_dir) / "metrics.jsonl")
    chosen = picture.target(out if out is not None else Path(run_dir) / "report.png") if picture.available() else None
    run = load(run_dir)
    if chosen is not None:
        write_picture(run, *chosen)
    return summary(run), (chosen[0] if chosen else None)
