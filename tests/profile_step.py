"""Where the time of one training step goes: `python tests/profile_step.py [CONFIG] [section.key=value ...] [--cpu]`.

Trains as `winner train` does (winner.recipe.prepare, then winner.train.train_epochs; by default
configs/bench.yaml, every epoch of it) with a clock around each function of the phases below, and
prints the mean time of each phase per step. The clocks wrap the very functions training calls,
wherever the winner modules hold them (gates.ACTIVATIONS, model.OUTPUT_GATES), so what is timed is
training's own step and cannot drift from it. A phase's time excludes the phases it calls (the
embedding row sums are not counted again in the backward pass around them); "other" is what the
steps spent outside every phase, and dev scoring is not timed. Nothing is saved. Run it on a quiet
machine: the clocks add well under a microsecond a call. With --cpu the clocks count this thread's
CPU time (time.thread_time) instead of wall time: on a machine other work shares, time waiting
for a core is left out (the cache the other work disturbs is not), and the total is that of the
phases (the training loop's own code between them is not timed).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from contextlib import contextmanager

from winner import threads

threads.configure()  # as the CLI does, before numpy loads: the same BLAS threads as `winner train`

import numpy as np  # noqa: E402

from winner import config as config_module, gates, model, objectives, optim, recipe, train  # noqa: E402

UPDATE = "update (optimizer)"  # one call a step: it counts the steps
# phase -> the functions whose time it is: (owner, attribute name)
PHASES = {
    "sampling the windows": [(objectives, "corrupt"), (train.Windows, "take"), (model, "score_pairs"),
                             (objectives.MaxMargin, "step"), (objectives.Softmax, "step")],
    "forward: embedding lookup and concatenation": [(gates, "lookup_forward"), (model, "forward")],
    "forward: affine Wx+b": [(gates, "affine_forward")],
    "forward: activation": [(gates, f"{name}_forward") for name in gates.ACTIVATIONS],
    "forward: output layer": [(gates, "dot_forward"), (gates, "project_forward")],
    "loss: hinge or cross-entropy, selecting active windows": [
        (gates, "hinge_forward"), (gates, "hinge_backward"), (gates, "softmax_ce_forward"),
        (gates, "softmax_ce_backward"), (gates, "soft_ce_forward"), (gates, "soft_ce_backward"),
        (model, "select_windows"), (model, "loss_and_grads"), (model, "softmax_loss_and_grads")],
    "backward: output layer": [(gates, "dot_backward"), (gates, "project_backward")],
    "backward: activation": [(gates, f"{name}_backward") for name in gates.ACTIVATIONS],
    "backward: affine": [(gates, "affine_backward"), (model, "backward")],
    "backward: embedding row sums": [(gates, "lookup_backward"), (gates, "sum_rows")],
    UPDATE: [(optim.Optimizer, "step")],
}


class Clocks:
    """Exclusive time per phase: a call's time less that of the timed calls inside it."""

    def __init__(self, clock=time.perf_counter):
        self.clock = clock
        self.spent: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.stack: list[list[float]] = []  # [time of timed calls inside] per running timed call
        self.paused = False

    def wrap(self, phase: str, fn):
        def timed(*args, **kwargs):
            if self.paused:
                return fn(*args, **kwargs)
            self.stack.append([0.0])
            started = self.clock()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = self.clock() - started
                (inner,) = self.stack.pop()
                self.spent[phase] += elapsed - inner
                self.calls[phase] += 1
                if self.stack:
                    self.stack[-1][0] += elapsed
        return timed


def _holders():
    """Every winner module, and the tables of functions the graph looks gates up in."""
    modules = [m for name, m in sys.modules.items() if name == "winner" or name.startswith("winner.")]
    return modules, [gates.ACTIVATIONS, model.OUTPUT_GATES]


@contextmanager
def clocked(clocks: Clocks):
    """Every reference to a phase's functions replaced by its timed wrapper; put back on exit."""
    undo = []
    modules, tables = _holders()
    for phase, functions in PHASES.items():
        for owner, name in functions:
            original = getattr(owner, name)
            wrapper = clocks.wrap(phase, original)
            targets = [owner] if isinstance(owner, type) else [m for m in modules if getattr(m, name, None) is original]
            for target in targets:
                undo.append((setattr, target, name, original))
                setattr(target, name, wrapper)
            for table in tables:
                for key, value in list(table.items()):
                    if isinstance(value, tuple) and original in value:
                        undo.append((dict.__setitem__, table, key, value))
                        table[key] = tuple(wrapper if f is original else f for f in value)
    evaluate = train.evaluate

    def untimed_evaluate(*args, **kwargs):  # dev scoring runs the forward gates too: not a step's time
        clocks.paused = True
        try:
            return evaluate(*args, **kwargs)
        finally:
            clocks.paused = False

    undo.append((setattr, train, "evaluate", evaluate))
    train.evaluate = untimed_evaluate
    try:
        yield clocks
    finally:
        for restore, *args in reversed(undo):
            restore(*args)


def profile(config_path: str, overrides=(), clock=time.perf_counter) -> tuple[dict, list, Clocks]:
    """Train as `winner train` does with the phases clocked -> (params, epoch results, clocks)."""
    cfg = config_module.load(config_path, overrides)
    rng = np.random.default_rng(cfg.train.seed)
    prepared = recipe.prepare(cfg, rng)
    with clocked(Clocks(clock)) as clocks:
        results = list(train.train_epochs(prepared.params, prepared.train, prepared.dev, cfg.train,
                                          cfg.model.activation, rng, prepared.frozen, objective=prepared.objective))
    return prepared.params, results, clocks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", nargs="?", default="configs/bench.yaml")
    parser.add_argument("overrides", nargs="*", help="section.key=value, as winner train takes them")
    parser.add_argument("--cpu", action="store_true", help="CPU time of this thread instead of wall time")
    args = parser.parse_args()
    _, results, clocks = profile(args.config, args.overrides, time.thread_time if args.cpu else time.perf_counter)
    windows = sum(r.windows_per_s * r.train_seconds for r in results)
    spent = dict(clocks.spent)
    if args.cpu:
        seconds, what = sum(spent.values()), "CPU time"
    else:
        seconds, what = sum(r.train_seconds for r in results), "wall time"  # the steps alone, as metrics.jsonl
        spent["other (outside every phase)"] = seconds - sum(spent.values())
    steps = clocks.calls[UPDATE]
    print(f"{args.config}: {len(results)} epochs, {steps:,} steps of {windows / steps:,.0f} windows, "
          f"{windows / seconds:,.0f} windows/s ({what}, clocks included)")
    for name, phase_seconds in sorted(spent.items(), key=lambda kv: -kv[1]):
        print(f"  {name:55s} {1e3 * phase_seconds / steps:7.3f} ms/step  {100 * phase_seconds / seconds:5.1f}%")
    print(f"  {'total':55s} {1e3 * seconds / steps:7.3f} ms/step")


if __name__ == "__main__":
    main()
