"""The tagging cost of an ensemble beside one member: `python tests/bench_ensemble.py RUN_DIR`.

RUN_DIR is a run of `winner train CONFIG --seeds ...` (default
runs/conll2003-types): its model-best (the ensemble) against its first
member's model-best, on the CoNLL-2003 dev sentences. Two measures, each
taken alternately for the two models (so a busy moment on a shared machine
hurts both alike), medians of --runs runs:

  1. scoring alone: LoadedModel.type_scores on every dev window, through the
     fast path, with its cache empty (as in one `winner predict` process over
     the file) and filled (as in a long stream);
  2. the whole `winner predict --format conll` process on dev as raw text,
     one sentence per line, and on dev written 4 times over (about 205,000
     tokens: a longer stream, whose later batches find their keys' rows in
     the fast path's cache).

Prints each median and the ratio ensemble / member. Benchmarks measure; no
test asserts a time. Writes only under runs/bench/.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEV = REPO / "data" / "conll2003" / "dev.txt"
OUT = REPO / "runs" / "bench"


def dev_text(times: int = 1) -> Path:
    """The dev sentences as raw text lines, tokens joined by spaces, `times` times over."""
    from winner.corpus import read_conll

    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / ("ensemble-dev.txt" if times == 1 else f"ensemble-dev-x{times}.txt")
    path.write_text("".join(" ".join(s.tokens) + "\n" for s in read_conll(DEV)) * times, encoding="utf-8")
    return path


def alternately(jobs: dict, runs: int) -> dict:
    """{name: [seconds]}: every job run `runs` times, the order flipped each round."""
    times = {name: [] for name in jobs}
    names = list(jobs)
    for i in range(runs):
        for name in names if i % 2 == 0 else names[::-1]:
            started = time.perf_counter()
            jobs[name]()
            times[name].append(time.perf_counter() - started)
    return times


def report(what: str, times: dict) -> None:
    member, ensemble = (statistics.median(times[name]) for name in ("member", "ensemble"))
    runs = "; ".join(f"{name} " + ", ".join(f"{t:.3f}" for t in values) for name, values in times.items())
    print(f"{what}: member {member:.3f} s, ensemble {ensemble:.3f} s, ratio {ensemble / member:.2f} ({runs})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("run_dir", nargs="?", default="runs/conll2003-types")
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    from winner import checkpoint, recipe, threads
    from winner.corpus import read_conll

    threads.configure()
    run_dir = REPO / args.run_dir
    ensemble_dir = run_dir / "model-best"
    loaded = {"ensemble": checkpoint.load(ensemble_dir)}
    seeds = loaded["ensemble"].meta["ensemble"]["seeds"]
    member_dir = run_dir / "members" / f"seed-{seeds[0]}" / "model-best"
    loaded["member"] = checkpoint.load(member_dir)
    sentences = read_conll(DEV)
    windows = recipe.make_dev(loaded["member"].featurizer, sentences, "LOC").windows.ids
    print(f"ensemble of {len(seeds)}: {ensemble_dir}; member: {member_dir}; {len(windows['word']):,} dev windows; "
          f"medians of {args.runs} alternating runs")

    def cold(model):
        def job():
            model.__dict__.pop("scorer", None)  # a new fast path, its cache empty
            model.type_scores(windows)
        return job

    report("1. scoring, cache empty", alternately({name: cold(m) for name, m in loaded.items()}, args.runs))
    report("1. scoring, cache filled", alternately({name: (lambda m=m: m.type_scores(windows))
                                                    for name, m in loaded.items()}, args.runs))
    def predict(model_dir: Path, text: Path):
        def job():
            with open(text, encoding="utf-8") as stdin:
                subprocess.run([sys.executable, "-m", "winner", "predict", "-m", str(model_dir), "--format", "conll"],
                               cwd=REPO, stdin=stdin, stdout=subprocess.DEVNULL, check=True)
        return job

    for times in (1, 4):
        text = dev_text(times)
        report(f"2. winner predict --format conll < {text.relative_to(REPO)}",
               alternately({"member": predict(member_dir, text), "ensemble": predict(ensemble_dir, text)}, args.runs))


if __name__ == "__main__":
    main()
