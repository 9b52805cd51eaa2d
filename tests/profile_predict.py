"""Where the time of `winner predict --format conll` goes, and of the fast path's steps:
`python tests/profile_predict.py MODEL_DIR TEXT_FILE`.

TEXT_FILE holds one sentence per line (`make bench` writes one at
runs/bench/predict-input.txt). Times each phase of tagging it in this
process, the way winner.tagger composes them, plus the start-up of a whole
`winner predict` process on one word; prints the median of 3 runs of each.
Every run loads the model afresh, so that no token ids are known in advance.
Run it on a quiet machine.
"""

from __future__ import annotations

import io
import statistics
import subprocess
import sys
import time
from pathlib import Path

from winner import threads

threads.configure()  # as the CLI does, before numpy loads

from winner import checkpoint, tagger  # noqa: E402
from winner.corpus import split  # noqa: E402
from winner.stream import text_batches  # noqa: E402

RUNS = 3


def median_time(fn) -> float:
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    model_dir, text_file = sys.argv[1], sys.argv[2]
    lines = Path(text_file).read_text(encoding="utf-8").splitlines()
    winner = str(Path(sys.executable).parent / "winner")
    startup = median_time(lambda: subprocess.run([winner, "predict", "--model", model_dir, "Paris"],
                                                 check=True, capture_output=True))
    token_lists = [split(line) for line in lines]
    loaded = checkpoint.load(model_dir)
    windows = loaded.featurizer.windows(token_lists)
    spent = {"loading the model": median_time(lambda: checkpoint.load(model_dir))}
    spent["cutting lines into tokens"] = median_time(lambda: [split(line) for line in lines])
    spent["token ids and windows"] = (median_time(lambda: checkpoint.load(model_dir).featurizer.windows(token_lists))
                                      - spent["loading the model"])
    # a fresh scorer each run, as in a `winner predict` process: its cache starts empty (the model's
    # own kind: an ensemble's is winner.ensemble_scoring's)
    spent["scoring"] = median_time(lambda: fresh_scorer(loaded).score(windows))
    total = median_time(lambda: io.StringIO().writelines(predict(model_dir, lines)))
    spent["entity runs and CoNLL output (the rest)"] = total - sum(spent.values())
    tokens = sum(map(len, token_lists))
    print(f"{len(lines):,} lines, {tokens:,} tokens; medians of {RUNS} runs")
    print(f"  start-up of `winner predict` on one word (whole process): {startup:.3f} s")
    for name, seconds in spent.items():
        print(f"  {name}: {seconds:.3f} s")
    print(f"  in process, all phases: {total:.3f} s ({tokens / total:,.0f} tokens/s)")
    print("scoring's steps once its cache holds the text's keys (a third pass of one scorer), µs per token:")
    for step, seconds in scoring_steps(loaded, windows).items():
        print(f"  {step}: {1e6 * seconds / tokens:.3f}")


def scoring_steps(loaded, windows) -> dict[str, float]:
    """Seconds of the fast path's steps in a third pass (the second keeps the keys met twice): finding the
    keys' rows, working out those not kept, and gathering, summing and scoring them."""
    scorer = fresh_scorer(loaded)
    scorer.score(windows)
    scorer.score(windows)
    spent: dict[str, float] = {}
    scorer.keys = timed(scorer.keys, spent, "keys and their slots (hash map)")
    scorer.known.find = timed(scorer.known.find, spent, "keys and their slots (hash map)")
    scorer.keep = timed(scorer.keep, spent, "keys to keep (none new, once the cache is full)")
    scorer.pass_through = timed(scorer.pass_through, spent, "rows of keys not kept (past the cache's room)")
    scorer._sum_and_score = timed(scorer._sum_and_score, spent, "gathering and summing rows, f and the output layer")
    scorer.score(windows)
    return spent


def timed(fn, spent: dict, step: str):
    """fn, adding the seconds of every call to spent[step]."""
    def run(*args):
        started = time.perf_counter()
        result = fn(*args)
        spent[step] = spent.get(step, 0.0) + time.perf_counter() - started
        return result
    return run


def fresh_scorer(loaded: checkpoint.LoadedModel):
    loaded.__dict__.pop("scorer", None)  # LoadedModel.scorer is cached: dropped, it is built anew
    return loaded.scorer


def predict(model_dir, lines):
    """`winner predict --format conll`'s work in process: load the model, tag the lines batch by batch."""
    loaded = checkpoint.load(model_dir)
    tag = tagger.Tagger(loaded)
    for batch in text_batches("\n".join(lines)):
        yield tagger.render(tag.tag_batch(batch), "conll")


if __name__ == "__main__":
    main()
