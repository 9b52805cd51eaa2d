"""Speed benchmarks: `make bench` (or `python tests/bench.py`).

Measures, as medians of several runs on this machine:
  1. training throughput of configs/bench.yaml, beside the PyTorch reference
     (the same network, loss and settings) when torch is importable;
  2. the whole-process wall time of `winner train configs/conll2003.yaml`;
  3. tagging raw text from stdin (`winner predict --format conll`), end to end
     on about 200,000 and 800,000 tokens, and the scoring step alone: the
     fast path (winner.fastscore; end to end, also winner.workers' processes)
     beside the plain graph (model.score), run alternately in the same
     minute, each figure with the plain path's from the same run ("before":
     the plain graph with the cores as BLAS threads, the default before
     winner.threads, every batch in one process; scoring alone, also the
     plain graph with one BLAS thread, today's default);
  4. the start-up cost of `winner predict "one sentence"` against
     `python -c "import numpy, typer, yaml"`;
  5. the peak memory of `winner train configs/conll2003.yaml`;
  6. training throughput of configs/bench.yaml with one CPU-bound companion
     process running (started and stopped here, and bounded in time itself),
     as a share of the idle figure, with the default threads and with the
     cores as threads (the default before winner.threads).
It writes only under runs/bench/ (ignored by git). Benchmarks measure; no
test asserts a time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "runs" / "bench"
WINNER = [sys.executable, "-m", "winner"]
CONLL = REPO / "data" / "conll2003"
VECTORS = REPO / "data" / "vectors" / "glove.6B.50d.txt"
GAZETTEER = REPO / "data" / "gazetteer" / "places.txt"
REFERENCE = Path(os.environ.get("WINNER_BENCH_REFERENCE", REPO.parent / "shared" / "bench" / "torch_window.py"))
SENTENCE = "Not all museums in Paris are amazing."


def run(command, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        sys.exit(f"bench: {' '.join(map(str, command))} failed:\n{result.stderr}")
    return result


def wall(command, **kwargs) -> float:
    started = time.perf_counter()
    run(command, **kwargs)
    return time.perf_counter() - started


def median(values) -> float:
    return statistics.median(values)


def spread(values, fmt="{:,.0f}") -> str:
    return "runs " + ", ".join(fmt.format(v) for v in values)


def training_throughput(run_dir: Path) -> float:
    """Windows per second over the training steps of every epoch (dev scoring excluded)."""
    rows = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
    windows = sum(r["windows_per_s"] * r["train_seconds"] for r in rows)
    return windows / sum(r["train_seconds"] for r in rows)


def reference_python() -> str | None:
    """A Python that can import torch and seqeval for the reference, or None."""
    candidates = [os.environ.get("WINNER_BENCH_PYTHON"), str(Path.home() / "yard" / "bin" / "python"), sys.executable]
    for python in filter(None, candidates):
        if Path(python).exists() and subprocess.run([python, "-c", "import torch, seqeval"],
                                                    capture_output=True).returncode == 0:
            return python
    return None


def bench_training(runs: int) -> None:
    ours = []
    for i in range(runs):
        run_dir = OUT / f"train-{i}"
        run([*WINNER, "train", "configs/bench.yaml", f"output.run_dir={run_dir}", "--overwrite"])
        ours.append(training_throughput(run_dir))
    print(f"1. training throughput, configs/bench.yaml: {median(ours):,.0f} windows/s ({spread(ours)})")
    python = reference_python()
    if python is None or not REFERENCE.is_file():
        print("   PyTorch reference: skipped (needs torch and seqeval importable, and "
              f"{REFERENCE}; set WINNER_BENCH_PYTHON / WINNER_BENCH_REFERENCE)")
        return
    theirs = []
    for _ in range(runs):
        out = run([python, str(REFERENCE), "--train", str(CONLL / "train.txt"), "--dev", str(CONLL / "dev.txt"),
                   "--epochs", "5", "--no-eval"]).stdout
        theirs.append(float(re.search(r"throughput (\d+) windows/s", out).group(1)))
    print(f"   PyTorch reference, same settings: {median(theirs):,.0f} windows/s ({spread(theirs)}); "
          f"ratio {median(ours) / median(theirs):.2f}x")


def bench_conll_training(runs: int) -> Path:
    times, f1 = [], None
    run_dir = OUT / "conll2003"
    for _ in range(runs):
        times.append(wall([*WINNER, "train", "configs/conll2003.yaml", f"output.run_dir={run_dir}", "--overwrite"]))
        f1 = json.loads((run_dir / "model-best" / "meta.json").read_text())["dev"]["f1"]
    print(f"2. winner train configs/conll2003.yaml: {median(times):.1f} s wall ({spread(times, '{:.1f}')}); "
          f"dev LOC F1 {f1:.4f}")
    return run_dir / "model-best"


def raw_text(tokens_wanted: int) -> Path:
    """Sentences of the CoNLL-2003 training file as raw text lines, about tokens_wanted tokens (the
    file over again when it holds fewer)."""
    path = OUT / ("predict-input.txt" if tokens_wanted <= 200_000 else f"predict-input-{tokens_wanted // 1000}k.txt")
    lines, tokens, sentence = [], 0, []
    while tokens < tokens_wanted:
        for line in (CONLL / "train.txt").read_text(encoding="utf-8").splitlines():
            columns = line.split()
            if columns and columns[0] != "-DOCSTART-":
                sentence.append(columns[0])
            elif sentence:
                lines.append(" ".join(sentence))
                tokens += len(sentence)
                sentence = []
                if tokens >= tokens_wanted:
                    break
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# `winner` as tagging ran before winner.fastscore and winner.workers: scores from the plain graph, every
# batch in the one process
PLAIN = """
import sys
from winner import fastscore, model, workers
fastscore.FastScorer.score = lambda self, windows: model.score(self.params, windows, self.activation)
workers.tag_in_turn = lambda batches, tag, processes, full: map(tag, batches)
from winner.cli import main
main()
"""


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def before_env() -> dict:
    """The environment of the default before winner.threads: as many BLAS threads as cores."""
    names = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")
    return {**os.environ, **{name: str(cores()) for name in names}}


def bench_tagging(model_dir: Path, label: str, runs: int, sizes=(200_000,)) -> None:
    predict = ["predict", "--model", str(model_dir), "--format", "conll"]
    for size in sizes:
        text = raw_text(size)
        ours, theirs = [], []
        jobs = [(ours, [*WINNER, *predict], None), (theirs, [sys.executable, "-c", PLAIN, *predict], before_env())]
        for i in range(runs):  # alternately, so that a busy moment hurts both alike
            for times, command, env in jobs if i % 2 == 0 else jobs[::-1]:
                with open(text, encoding="utf-8") as stdin:
                    started = time.perf_counter()
                    out = run(command, stdin=stdin, env=env).stdout
                    times.append(time.perf_counter() - started)
        tokens = sum(1 for line in out.splitlines() if line)
        print(f"3. winner predict --format conll < {tokens:,} tokens, {label}: {tokens / median(ours):,.0f} tokens/s "
              f"end to end ({spread([tokens / t for t in ours])}); before: {tokens / median(theirs):,.0f} "
              f"({spread([tokens / t for t in theirs])}); ratio {median(theirs) / median(ours):.2f}x")
    rates, first = {"fast": [], "plain": [], "plain, 1 thread": []}, []
    one_thread = {**os.environ, **{name: "1" for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")}}
    jobs = [("fast", "fast", None), ("plain", "plain", before_env()), ("plain, 1 thread", "plain", one_thread)]
    for i in range(runs):  # one process each, in turn, each with its own default threads
        for name, path, env in jobs[:: 1 if i % 2 == 0 else -1]:
            measured = [float(r) for r in run([sys.executable, "-c", SCORING, str(model_dir), str(raw_text(sizes[0])),
                                                "2", path], env=env).stdout.split()]
            rates[name] += measured[1:]
            first += measured[:1] if path == "fast" else []
    fast, plain, plain_one = (median(rates[name]) for name in rates)
    print(f"   scoring alone (windows -> scores, in process): fast path {fast:,.0f} tokens/s "
          f"({spread(rates['fast'])}; the first pass of each process, filling the cache: {median(first):,.0f}); "
          f"before: model.score with {cores()} threads {plain:,.0f} ({spread(rates['plain'])}); ratio {fast / plain:.2f}x; "
          f"model.score with 1 thread (today's default) {plain_one:,.0f} ({spread(rates['plain, 1 thread'])}); "
          f"ratio {fast / plain_one:.2f}x")


SCORING = """
import sys, time
from winner import threads
threads.configure()  # as the CLI does, before numpy loads
from winner import checkpoint, model
from winner.corpus import tokenize
from winner.fastscore import FastScorer
loaded = checkpoint.load(sys.argv[1])
sentences = [[t for t, _, _ in tokenize(line)] for line in open(sys.argv[2], encoding="utf-8")]
windows = loaded.featurizer.windows(sentences)
scorer = FastScorer(loaded.params, loaded.config.model.activation, loaded.featurizer.width)
plain = lambda w: model.score(loaded.params, w, loaded.config.model.activation)
score = scorer.score if sys.argv[4] == "fast" else plain
for _ in range(1 + int(sys.argv[3])):  # the first run fills the fast path's cache, as in a predict process
    started = time.perf_counter()
    score(windows)
    print(len(windows["word"]) / (time.perf_counter() - started))
"""


def bench_startup(model_dir: Path, runs: int) -> None:
    baseline, ours = [], []
    for _ in range(runs):  # interleaved, so that a busy moment hurts both alike
        baseline.append(wall([sys.executable, "-c", "import numpy, typer, yaml"]))
        ours.append(wall([str(Path(sys.executable).parent / "winner"), "predict", "--model", str(model_dir), SENTENCE]))
    print(f"4. winner predict \"{SENTENCE}\": {median(ours):.3f} s; python -c \"import numpy, typer, yaml\": "
          f"{median(baseline):.3f} s; ratio {median(ours) / median(baseline):.2f}x (medians of {runs})")


# A CPU-bound companion that ends by itself after argv[1] seconds, even if the bench is killed.
COMPANION = """
import sys, time
end = time.monotonic() + float(sys.argv[1])
while time.monotonic() < end:
    pass
"""


def bench_busy(runs: int, epochs: int = 1) -> None:
    """Training throughput of configs/bench.yaml idle and beside one CPU-bound companion process,
    with the default threads and with the cores as threads (the default before winner.threads)."""
    settings = {"default threads": None, f"{cores()} threads (before)": before_env()}

    def throughput(env, tag: str) -> float:
        run_dir = OUT / f"busy-{tag}"
        run([*WINNER, "train", "configs/bench.yaml", f"output.run_dir={run_dir}", f"train.epochs={epochs}",
             "--overwrite"], env=env)
        return training_throughput(run_dir)

    idle = {name: [] for name in settings}
    busy = {name: [] for name in settings}
    for i in range(runs):
        for name, env in settings.items():
            idle[name].append(throughput(env, "idle"))
    companion = subprocess.Popen([sys.executable, "-c", COMPANION, "1800"])
    try:
        time.sleep(1.0)  # let it take its core
        for i in range(runs):
            for name, env in settings.items():
                busy[name].append(throughput(env, "busy"))
    finally:
        companion.kill()
        companion.wait()
    print(f"6. training throughput, configs/bench.yaml ({epochs} epochs), with one CPU-bound process beside it:")
    for name in settings:
        print(f"   {name}: {median(busy[name]):,.0f} windows/s busy ({spread(busy[name])}), "
              f"{median(idle[name]):,.0f} idle ({spread(idle[name])}): "
              f"{100 * median(busy[name]) / median(idle[name]):.0f}% kept")


PEAK = """
import resource, subprocess, sys
subprocess.run(sys.argv[1:], check=True, capture_output=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def bench_memory() -> None:
    kib = int(run([sys.executable, "-c", PEAK, *WINNER, "train", "configs/conll2003.yaml",
                   f"output.run_dir={OUT / 'memory'}", "--overwrite"]).stdout)
    print(f"5. peak memory of winner train configs/conll2003.yaml: {kib / 1024:.0f} MiB (max RSS)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (the median is reported)")
    parser.add_argument("--tagging", metavar="MODEL_DIR", type=Path,
                        help="only figure 3, tagging with this model (e.g. runs/bench/conll2003/model-best)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    if args.tagging:
        bench_tagging(args.tagging, str(args.tagging), args.runs, sizes=(200_000, 800_000))
        return
    print(f"winner benchmarks: {os.cpu_count()} cores, Python {sys.version.split()[0]}, medians of {args.runs} runs")
    have_conll = (CONLL / "train.txt").is_file() and (CONLL / "dev.txt").is_file()
    if not have_conll:
        print("1-3, 5, 6: skipped: CoNLL-2003 is not at data/conll2003/{train,dev}.txt (see README)")
    else:
        bench_training(args.runs)
        conll_ready = VECTORS.is_file() and GAZETTEER.is_file()
        model_dir = bench_conll_training(args.runs) if conll_ready else None
        if not conll_ready:
            print(f"2, 5: skipped: needs {VECTORS.relative_to(REPO)} and {GAZETTEER.relative_to(REPO)} (make gazetteer)")
        bench_tagging(OUT / "train-0" / "model-best", "configs/bench.yaml model (the reference network)", args.runs)
        if model_dir is not None:
            bench_tagging(model_dir, "configs/conll2003.yaml model", args.runs, sizes=(200_000, 800_000))
    default_model = OUT / "default" / "model-best"
    run([*WINNER, "train", "configs/default.yaml", f"output.run_dir={OUT / 'default'}", "--overwrite"])
    bench_startup(default_model, max(args.runs, 7))
    if have_conll and VECTORS.is_file() and GAZETTEER.is_file():
        bench_memory()
    if have_conll:
        bench_busy(args.runs)


if __name__ == "__main__":
    main()
