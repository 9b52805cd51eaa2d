"""Speed benchmarks: `make bench` (or `python tests/bench.py`).

Measures, as medians of several runs on this machine:
  1. training throughput of configs/bench.yaml with winner's default threads,
     then beside the PyTorch reference (the same network, loss and settings)
     at equal thread counts, 1 and 2 (winner --threads N against the
     reference's --threads N, alternately), when torch is importable;
  2. the whole-process wall time of `winner train configs/conll2003.yaml`;
  3. tagging raw text from stdin (`winner predict --format conll`), end to end
     on about 200,000 and 800,000 tokens, and the scoring step alone: the
     fast path (winner.fastscore; end to end, also winner.workers' processes)
     beside the plain graph (model.score), run alternately in the same
     minute, each figure with the plain path's from the same run ("before":
     the plain graph with the cores as BLAS threads, the default before
     winner.threads, every batch in one process; scoring alone, also the
     plain graph with one BLAS thread, today's default, and the fast path
     shared out between as many processes as cores); scoring alone is
     measured once the fast path's cache holds the text's keys (the third
     and fourth passes over the windows: it keeps a key the second time it
     meets it), with the first two passes shown;
  4. the start-up cost of `winner predict "one sentence"` against
     `python -c "import numpy, typer, yaml"`;
  5. the peak memory of `winner train configs/conll2003.yaml`;
  6. training throughput of configs/bench.yaml with one CPU-bound companion
     process running (started and stopped here, and bounded in time itself),
     as a share of the idle figure, with the default threads and with the
     cores as threads (the default before winner.threads);
  7. many files on Dask: `winner predict --output-dir` on 8 files of about
     200,000 tokens with 1 and 2 local workers, end to end, and the cost model
     of the README's "Past one machine" (winner.distributed): a worker's
     start-up, its tagging rate, and the overhead of a task against file size;
  8. `winner sweep` of 4 trainings (configs/bench.yaml, seeds 0-3) on 2
     workers against the same 4 `winner train` one after another.
--only dask runs 7 and 8 alone (training the model 7 tags when it is missing);
--only training runs 1 alone, --only busy runs 6 alone.
It writes only under runs/bench/ (ignored by git), after compiling winner's
modules to bytecode (__pycache__/, as a pip install does). Benchmarks measure; no
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


def winner_throughput(run_dir: Path, threads: int | None = None, env=None) -> float:
    """Training throughput of one `winner train configs/bench.yaml` run (`--threads` when given)."""
    option = [] if threads is None else ["--threads", str(threads)]
    run([*WINNER, *option, "train", "configs/bench.yaml", f"output.run_dir={run_dir}", "--overwrite"], env=env)
    return training_throughput(run_dir)


def reference_throughput(python: str, threads: int) -> float:
    """Training throughput of the PyTorch reference on configs/bench.yaml's settings with `threads` threads."""
    out = run([python, str(REFERENCE), "--train", str(CONLL / "train.txt"), "--dev", str(CONLL / "dev.txt"),
               "--epochs", "5", "--no-eval", "--threads", str(threads)]).stdout
    return float(re.search(r"throughput (\d+) windows/s", out).group(1))


def bench_training(runs: int) -> None:
    """winner (default threads) alone, then winner and the reference at equal thread counts, 1 and 2,
    alternately so that a busy moment hurts both alike."""
    ours = [winner_throughput(OUT / f"train-{i}") for i in range(runs)]
    print(f"1. training throughput, configs/bench.yaml: {median(ours):,.0f} windows/s ({spread(ours)}; "
          f"default threads)")
    python = reference_python()
    if python is None or not REFERENCE.is_file():
        print("   PyTorch reference: skipped (needs torch and seqeval importable, and "
              f"{REFERENCE}; set WINNER_BENCH_PYTHON / WINNER_BENCH_REFERENCE)")
        return
    for threads in (1, 2):
        mine, theirs = [], []
        jobs = [(mine, lambda: winner_throughput(OUT / f"threads-{threads}", threads)),
                (theirs, lambda: reference_throughput(python, threads))]
        for i in range(runs):
            for figures, measure in jobs if i % 2 == 0 else jobs[::-1]:
                figures.append(measure())
        print(f"   {threads} thread{'s' if threads > 1 else ''} each: winner --threads {threads} "
              f"{median(mine):,.0f} windows/s ({spread(mine)}); PyTorch reference --threads {threads} "
              f"{median(theirs):,.0f} ({spread(theirs)}); ratio {median(mine) / median(theirs):.2f}x")


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
fastscore.FastScorer.score = lambda self, windows, processes=1: model.score(self.params, windows, self.activation)
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
    # Passes over the same windows in one process: the first (the cache empty, as in a predict process),
    # the second (the fast path keeps the keys it meets again), then two with the cache filled.
    rates, first, second = {"fast": [], "plain": [], "plain, 1 thread": [], "fast, cores": []}, [], []
    one_thread = {**os.environ, **{name: "1" for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")}}
    jobs = [("fast", "fast", None), ("plain", "plain", before_env()), ("plain, 1 thread", "plain", one_thread),
            ("fast, cores", "fast-cores", None)]
    for i in range(runs):  # one process each, in turn, each with its own default threads
        for name, path, env in jobs[:: 1 if i % 2 == 0 else -1]:
            measured = [float(r) for r in run([sys.executable, "-c", SCORING, str(model_dir), str(raw_text(sizes[0])),
                                                "4", path], env=env).stdout.split()]
            rates[name] += measured[2:]
            first += measured[:1] if path == "fast" else []
            second += measured[1:2] if path == "fast" else []
    fast, plain, plain_one, fast_cores = (median(rates[name]) for name in rates)
    print(f"   scoring alone (windows -> scores, in process, the third and fourth passes): fast path {fast:,.0f} "
          f"tokens/s ({spread(rates['fast'])}; the first pass of each process, its cache empty: {median(first):,.0f}; "
          f"the second, keeping the keys met again: {median(second):,.0f}); "
          f"before: model.score with {cores()} threads {plain:,.0f} ({spread(rates['plain'])}); ratio {fast / plain:.2f}x; "
          f"model.score with 1 thread (today's default) {plain_one:,.0f} ({spread(rates['plain, 1 thread'])}); "
          f"ratio {fast / plain_one:.2f}x")
    print(f"   the fast path on {cores()} processes (FastScorer.score(windows, processes), winner.forked): "
          f"{fast_cores:,.0f} tokens/s ({spread(rates['fast, cores'])}); ratio {fast_cores / plain:.2f}x "
          f"to model.score with {cores()} threads")


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
processes = threads.cores() if sys.argv[4] == "fast-cores" else 1
score = (lambda w: scorer.score(w, processes)) if sys.argv[4].startswith("fast") else plain
for _ in range(int(sys.argv[3])):
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


def tagging_files(count: int = 8, tokens: int = 200_000) -> list[Path]:
    """`count` raw text files of about `tokens` tokens each (copies of raw_text's) under runs/bench/files/."""
    folder = OUT / "files"
    folder.mkdir(parents=True, exist_ok=True)
    text = raw_text(tokens).read_bytes()
    paths = [folder / f"part-{i}.txt" for i in range(count)]
    for path in paths:
        if not path.is_file() or path.read_bytes() != text:
            path.write_bytes(text)
    return paths


def bench_many_files(model_dir: Path, runs: int) -> None:
    import shutil

    paths = tagging_files()
    tokens = None
    for workers in (1, 2):
        times = []
        for i in range(runs):
            out = OUT / f"tagged-{workers}"
            shutil.rmtree(out, ignore_errors=True)
            started = time.perf_counter()
            printed = run([*WINNER, "predict", "--model", str(model_dir), "--input", str(OUT / "files" / "*.txt"),
                           "--output-dir", str(out), "--format", "conll", "--workers", str(workers)]).stdout
            times.append(time.perf_counter() - started)
            tokens = int(re.search(r"\(([\d,]+) tokens\)", printed).group(1).replace(",", ""))
        warm = [float(run([sys.executable, "-c", WARM_RUN, str(model_dir), str(OUT / "files" / "*.txt"),
                           str(OUT / "warm"), str(workers)]).stdout) for _ in range(runs)]
        print(f"7. winner predict --output-dir, {len(paths)} files, {tokens:,} tokens, {workers} worker"
              f"{'s' if workers > 1 else ''}: {tokens / median(times):,.0f} tokens/s end to end, start-up included "
              f"({spread([tokens / t for t in times])}); on a running cluster {median(warm):,.0f} ({spread(warm)})")
    written = sum(p.stat().st_size for p in (OUT / "tagged-2").rglob("*.conll"))
    read = sum(p.stat().st_size for p in paths)
    print(f"   input {read / tokens:.2f} bytes a token (raw text); --format conll output {written / read:.2f}x the input")
    shutil.rmtree(OUT / "tagged-1", ignore_errors=True)
    shutil.rmtree(OUT / "tagged-2", ignore_errors=True)


def bench_cost_model(model_dir: Path, label: str, runs: int) -> None:
    """The README's cost model: one worker's start-up, tagging rate and per-task overhead by file size."""
    figures = [json.loads(line) for line in run([sys.executable, "-c", COST_MODEL, str(model_dir),
                                                 str(raw_text(200_000)), str(OUT / "cost"), str(runs)]).stdout.splitlines()]
    start, rate = median(f["startup_s"] for f in figures), median(f["tokens_per_s"] for f in figures)
    overhead = median(f["overhead_s"] for f in figures)
    starts = spread([f["startup_s"] for f in figures], "{:.2f}")
    rates = spread([f["tokens_per_s"] for f in figures])
    overheads = spread([f["overhead_s"] * 1000 for f in figures], "{:.1f}")
    print(f"   cost model, one worker, {label}: start-up (process and model load) {start:.2f} s; tagging "
          f"{rate:,.0f} tokens/s; per-task overhead {overhead * 1000:.1f} ms (start-up {starts}; tokens/s {rates}; "
          f"overhead ms {overheads})")
    sizes = figures[0]["sizes"]
    per_size = {n: median(f["seconds"][str(n)] for f in figures) for n in sizes}
    print("   seconds a task by file size: " + ", ".join(
        f"{n:,} tokens {s:.3f} s ({100 * overhead / s:.0f}% overhead)" for n, s in per_size.items()))


# One LocalCluster worker: start-up to the first task's end (a tiny file, so mostly the process and the
# model load); then on the warm worker the per-task overhead, the median time of a task on a file of one
# short line (submit, open, write, rename, result), and the median time of 3 tasks on each file size; the
# tagging rate is the largest file's tokens over its time less the overhead. One JSON line a run.
COST_MODEL = """
import json, os, shutil, statistics, sys, time
from pathlib import Path
from winner import threads
threads.configure()
from winner import distributed
from winner.tag_files import tag_file
model, text, out, runs = sys.argv[1], Path(sys.argv[2]).read_text().splitlines(True), Path(sys.argv[3]), int(sys.argv[4])
sizes = [1_000, 10_000, 50_000, 200_000]
out.mkdir(parents=True, exist_ok=True)
def first(tokens):
    kept, n = [], 0
    for line in text:
        kept.append(line); n += len(line.split())
        if n >= tokens: break
    return "".join(kept)
inputs = {n: out / f"in-{n}.txt" for n in [1] + sizes}
for n, path in inputs.items():
    path.write_text(first(n))
def task(client, n, i):
    target = out / f"out-{n}-{i}.conll"
    target.unlink(missing_ok=True)
    started = time.perf_counter()
    tokens = client.submit(tag_file, model, str(inputs[n]), str(target), "text", "conll", pure=False).result()
    return time.perf_counter() - started, tokens
for _ in range(runs):
    started = time.perf_counter()
    with distributed.client("bench", workers=1) as client:
        task(client, 1, 0)
        startup = time.perf_counter() - started
        overhead = statistics.median(task(client, 1, i)[0] for i in range(1, 8))
        seconds, counts = {}, {}
        for n in sizes:
            timed = [task(client, n, i) for i in range(3)]
            seconds[n] = statistics.median(t for t, _ in timed)
            counts[n] = timed[0][1]
    rate = counts[sizes[-1]] / (seconds[sizes[-1]] - overhead)
    print(json.dumps({"startup_s": startup, "tokens_per_s": rate, "overhead_s": overhead,
                      "sizes": [counts[n] for n in sizes], "seconds": {str(counts[n]): seconds[n] for n in sizes}}))
shutil.rmtree(out)
"""

# Tagging the files on a LocalCluster already running (started, and each worker's model loaded, before
# the clock starts): the rate a long run settles at, without the start-up. Prints tokens/s.
WARM_RUN = """
import shutil, sys, time
from pathlib import Path
from winner import threads
threads.configure()
from winner import distributed
from winner.tag_files import _model, predict_files
model, pattern, out, workers = sys.argv[1], sys.argv[2], Path(sys.argv[3]), int(sys.argv[4])
with distributed.client("bench", workers=workers) as client:
    client.run(_model, model)
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    done = predict_files(model, [pattern], out, client=client, format="conll", progress=False)
    print(done.tokens / (time.perf_counter() - started))
shutil.rmtree(out)
"""


def bench_sweep(seeds: int = 4) -> None:
    """Wall time of `winner sweep` of `seeds` trainings on 2 workers against `winner train` one after another."""
    sequential = 0.0
    for seed in range(seeds):
        sequential += wall([*WINNER, "train", "configs/bench.yaml", f"train.seed={seed}",
                            f"output.run_dir={OUT / 'sequential'}", "--overwrite"])
    swept = wall([*WINNER, "sweep", "configs/bench.yaml", "--seeds", f"0-{seeds - 1}", "--out", str(OUT / "sweep"),
                  "--workers", "2", "--overwrite"])
    print(f"8. {seeds} trainings of configs/bench.yaml: winner sweep --workers 2 {swept:.1f} s wall, start-up "
          f"included; winner train one after another {sequential:.1f} s; ratio {sequential / swept:.2f}x (one run each)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="runs per figure (the median is reported)")
    parser.add_argument("--only", choices=["dask", "training", "busy"],
                        help="only the Dask figures (7 and 8), training throughput (1) or the busy machine (6)")
    parser.add_argument("--tagging", metavar="MODEL_DIR", type=Path,
                        help="only figure 3, tagging with this model (e.g. runs/bench/conll2003/model-best)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    # winner's modules as bytecode first, as a pip install leaves them and as every run after the first
    # finds them: where PYTHONDONTWRITEBYTECODE is set (some containers set it) each process would compile
    # them again, and the start-up and whole-process figures would time the compiler.
    run([sys.executable, "-m", "compileall", "-q", str(REPO / "winner")])
    if args.tagging:
        bench_tagging(args.tagging, str(args.tagging), args.runs, sizes=(200_000, 800_000))
        return
    print(f"winner benchmarks: {os.cpu_count()} cores, Python {sys.version.split()[0]}, medians of {args.runs} runs")
    have_conll = (CONLL / "train.txt").is_file() and (CONLL / "dev.txt").is_file()
    if args.only == "dask":
        return bench_dask(have_conll, args.runs)
    if args.only in ("training", "busy"):
        if not have_conll:
            sys.exit("bench: CoNLL-2003 is not at data/conll2003/{train,dev}.txt (see README)")
        return bench_training(args.runs) if args.only == "training" else bench_busy(args.runs)
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
    bench_dask(have_conll, args.runs)


def bench_dask(have_conll: bool, runs: int) -> None:
    if not have_conll:
        print("7, 8: skipped: CoNLL-2003 is not at data/conll2003/{train,dev}.txt (see README)")
        return
    model_dir = OUT / "train-0" / "model-best"
    if not model_dir.is_dir():
        run([*WINNER, "train", "configs/bench.yaml", f"output.run_dir={model_dir.parent}", "--overwrite"])
    bench_many_files(model_dir, runs)
    bench_cost_model(model_dir, "bench model", runs)
    if (OUT / "conll2003" / "model-best").is_dir():  # trained by figure 2
        bench_cost_model(OUT / "conll2003" / "model-best", "conll2003 model", runs)
    bench_sweep()


if __name__ == "__main__":
    main()
