"""The README's results table: `make results` (or `python tests/results.py`).

Trains every recipe below with seeds 0, 1 and 2 on CoNLL-2003 and prints a
Markdown table of dev LOC precision, recall and F1 (mean ± sd over the seeds,
each the best epoch's, as `winner train` picks it), for the cross-entropy
recipes also the dev F1 of PER, ORG and MISC and of all types together, the
training wall time (median over the seeds) and the training throughput
(windows through forward, backward and update per second, mean over epochs
and seeds). Each row's command reproduces one seed. The trainings run as one
sweep (winner.sweeps: Dask, one process per core, one BLAS thread each).
The recommended recipe's row is followed by the ensemble of its seeds'
models (`winner ensemble`, the model `winner train CONFIG --seeds 0,1,2`
builds), which adds its merge and evaluation, well under a minute, to the
run. Writes only under runs/results/. Tune on dev only: nothing here reads
the test split.

With --breakdown, each trained model is also evaluated with
`winner eval --breakdown` on dev as it is, lowercased and uppercased
(`--casing lower|upper`), and the table gains the F1 of LOC names seen and
not seen in training and the F1 on the re-cased dev files (means over the
seeds).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "runs" / "results"
FINAL = "configs/conll2003.yaml"
NO_VECTORS = "configs/conll2003-novectors.yaml"
TYPES = "configs/conll2003-types.yaml"
CASED_ROBUST = "configs/conll2003-cased-robust.yaml"

# (row label, config, overrides): the max-margin recipe and its counterpart without vectors, the two
# cross-entropy recipes (the recommended one, configs/conll2003-types.yaml, has every type), then one
# ablation of the recommended recipe a row, a baseline, and the max-margin recipe robust to case.
RECIPES = [
    ("final recipe (max-margin)", FINAL, []),
    ("final recipe without pretrained vectors", NO_VECTORS, []),
    ("cross-entropy, 2 classes (O, LOC)", TYPES, ["data.types=null"]),
    ("cross-entropy, all types (O, LOC, MISC, ORG, PER): the recommended recipe", TYPES, []),
    ("− dropout", TYPES, ["train.dropout=0"]),
    ("− caps class 'uncased'", TYPES, ["features.caps_uncased=false"]),
    ("− document consistency", TYPES, ["decode.document_consistency=0"]),
    ("− names of other types seen in training", TYPES, ["features.other_gazetteer=false"]),
    ("− names seen in training (both kinds)", TYPES, ["features.train_gazetteer=false", "features.other_gazetteer=false"]),
    ("− world place names", TYPES, ["features.gazetteer=null"]),
    ("− word endings", TYPES, ["features.suffix_dim=0"]),
    ("− capitalisation feature", TYPES, ["features.caps_dim=0"]),
    ("fine-tuned vectors instead of frozen", TYPES, ["features.freeze_vectors=false"]),
    ("hidden 300 instead of 400", TYPES, ["model.hidden=300"]),
    ("baseline (max-margin): words and caps, GloVe, hidden 300, 10 epochs", FINAL,
     ["features.suffix_dim=0", "features.gazetteer=null", "features.train_gazetteer=false",
      "features.other_gazetteer=false", "decode.document_consistency=0", "model.hidden=300", "train.epochs=10"]),
    ("max-margin recipe, robust to case: + a lowercased copy of every training sentence, caps class 'uncased'",
     CASED_ROBUST, []),
]
CASINGS = (None, "lower", "upper")  # dev as it is, then re-cased by `winner eval --casing`
ENSEMBLE_AFTER = 3  # the recommended recipe's row: followed by the ensemble of its seeds' models


def train_all(indices: list[int], seeds: int, workers: int | None) -> dict[tuple[int, int], tuple[dict, float, float]]:
    """{(row, seed): (model-best's meta.json, wall seconds, mean windows/s over the epochs)} of every
    training of the rows, run as one `winner sweep` (winner.sweep) on `workers` local processes (default
    one per core), each training in runs/results/ROW/seed-K with one BLAS thread."""
    from winner.sweeps import sweep

    trainings = [(str(index), RECIPES[index][1], tuple(RECIPES[index][2])) for index in indices]
    # overwrite: a rerun of make results trains again, as the code may have changed since
    done = sweep(trainings, range(seeds), OUT, workers=workers, overwrite=True)
    if done.failures:
        sys.exit("results: " + "; ".join(f"row {name} seed {seed}: {error}" for name, seed, error in done.failures))
    return {(int(row["name"]), row["seed"]): (json.loads((Path(row["run_dir"]) / "model-best" / "meta.json").read_text()),
                                              row["seconds"], row["windows_per_s"]) for row in done.rows}


def evaluate(model_dir: Path, dev: str, casing: str | None) -> dict:
    """`winner eval --breakdown --format json` of a model on dev, re-cased when `casing` says so."""
    command = [sys.executable, "-m", "winner", "eval", str(model_dir), dev, "--breakdown", "--format", "json"]
    result = subprocess.run(command + (["--casing", casing] if casing else []), cwd=REPO, capture_output=True,
                            text=True)
    if result.returncode != 0:
        sys.exit(f"results: {' '.join(command)} failed:\n{result.stderr}")
    return json.loads(result.stdout)


def breakdown_cells(run_dirs: list[Path], dev: str) -> str:
    """Mean F1 over the seeds of the target type's: seen names, unseen names, lowercased dev, uppercased dev."""
    evals = [{casing: evaluate(run_dir / "model-best", dev, casing) for casing in CASINGS} for run_dir in run_dirs]
    seen = [e[None]["breakdown"]["seen_in_training"] for e in evals]
    def loc(result: dict) -> float:  # the target type's F1 (a cross-entropy model's top level holds all types')
        return result["types"][result["target"]]["f1"]

    cells = [[s["seen"]["f1"] for s in seen], [s["unseen"]["f1"] for s in seen],
             [loc(e["lower"]) for e in evals], [loc(e["upper"]) for e in evals]]
    return " | ".join(mean_sd(values) for values in cells) + " | "


def ensemble_row(index: int, run_dirs: list[Path], config: str, breakdown: bool) -> str:
    """The row of the ensemble of a row's seeds (`winner ensemble` on the models already trained, as
    `winner train CONFIG --seeds` would build it), its train s the merge's alone."""
    run_dir = OUT / f"{index}-ensemble"
    command = [sys.executable, "-m", "winner", "ensemble", *(str(d / "model-best") for d in run_dirs),
               "--out", str(run_dir / "model-best"), "--overwrite"]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"results: {' '.join(command)} failed:\n{result.stderr}")
    meta = json.loads((run_dir / "model-best" / "meta.json").read_text())
    s, types = meta["dev"], meta["dev_types"]
    others = " | ".join(f"{types[k]['f1']:.4f}" if k in types else "–" for k in ("PER", "ORG", "MISC"))
    overall = f"{meta['dev_overall']['f1']:.4f}" if len(types) > 1 else "–"
    cells = breakdown_cells([run_dir], dev_file(config)) if breakdown else ""
    seeds = ",".join(str(k) for k in meta["ensemble"]["seeds"])
    return (f"| ensemble of the seeds' models above (mean of their scores) | {s['precision']:.4f} | "
            f"{s['recall']:.4f} | {s['f1']:.4f} | – | {others} | {overall} | {cells}{seconds:.0f} (merge) | – "
            f"| `winner train {config} --seeds {seeds}` |")


def dev_file(config: str) -> str:
    import yaml

    return yaml.safe_load((REPO / config).read_text())["data"]["dev"]


def mean_sd(values) -> str:
    if len(values) == 1:  # one model: no spread to show
        return f"{values[0]:.4f}"
    return f"{statistics.mean(values):.4f} ± {statistics.stdev(values):.4f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--rows", type=int, default=len(RECIPES), help="only the first N rows")
    parser.add_argument("--only", type=int, nargs="+", help="only these rows (0 is the first)")
    parser.add_argument("--breakdown", action="store_true", help="add seen/unseen and lowercased/uppercased F1")
    parser.add_argument("--workers", type=int, help="trainings at once, one process each (default: one per core)")
    args = parser.parse_args()
    os.chdir(REPO)  # the configs name their data relative to the repository root, for the workers too
    indices = args.only if args.only is not None else list(range(min(args.rows, len(RECIPES))))
    trained = train_all(indices, args.seeds, args.workers)
    extra = "seen F1 | unseen F1 | lowercased dev F1 | uppercased dev F1 | " if args.breakdown else ""
    print("| recipe | dev LOC P | dev LOC R | dev LOC F1 | per-seed F1 | dev PER F1 | dev ORG F1 | dev MISC F1 "
          f"| dev F1, all types | {extra}train s | windows/s | command (seed 0) |")
    print("| --- " * (12 + 4 * args.breakdown) + "|")
    for index in indices:
        label, config, overrides = RECIPES[index]
        run_dirs = [OUT / str(index) / f"seed-{seed}" for seed in range(args.seeds)]
        runs = [trained[index, seed] for seed in range(args.seeds)]
        metas = [meta for meta, _, _ in runs]
        scores = [meta["dev"] for meta in metas]
        seconds = statistics.median(s for _, s, _ in runs)
        speed = statistics.mean(v for _, _, v in runs)
        command = " ".join(["winner train", config, *overrides])
        per_seed = ", ".join(f"{s['f1']:.4f}" for s in scores)
        others = [mean_sd([m["dev_types"][kind]["f1"] for m in metas]) if kind in metas[0].get("dev_types", {}) else "–"
                  for kind in ("PER", "ORG", "MISC")]
        overall = mean_sd([m["dev_overall"]["f1"] for m in metas]) if len(metas[0].get("dev_types", {})) > 1 else "–"
        cells = breakdown_cells(run_dirs, dev_file(config)) if args.breakdown else ""
        print(f"| {label} | {mean_sd([s['precision'] for s in scores])} | {mean_sd([s['recall'] for s in scores])} "
              f"| {mean_sd([s['f1'] for s in scores])} | {per_seed} | {' | '.join(others)} | {overall} "
              f"| {cells}{seconds:.0f} | {speed:,.0f} | `{command}` |", flush=True)
        if index == ENSEMBLE_AFTER and args.seeds > 1:
            print(ensemble_row(index, run_dirs, config, args.breakdown), flush=True)


if __name__ == "__main__":
    main()
