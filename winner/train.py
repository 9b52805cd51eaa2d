"""The training loop: max-margin SGD over (true, corrupted) window pairs.

`train_epochs` is a generator: it yields one EpochResult per epoch and owns
no I/O, so the CLI decides what to print and save and tests can drive it.
Where it has got to lives in a Progress, kept current after every step, so
that the caller can save it at any step and a later run can continue from it
exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Iterator

import numpy as np

from winner import consistency, metrics, model
from winner.config import TrainConfig
from winner.optim import Optimizer


@dataclass
class Windows:
    """Window ids of a corpus and whether each centre token is inside a target entity."""

    ids: dict[str, np.ndarray]  # feature -> (N, w) int32
    positive: np.ndarray  # (N,) bool

    def take(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {name: np.take(ids, rows, axis=0) for name, ids in self.ids.items()}


@dataclass
class DevSet:
    windows: Windows
    scorer: metrics.SpanScorer
    groups: np.ndarray  # (N,) same token string in the same document (document consistency)
    consistency: float = 0.0  # decode.document_consistency


@dataclass
class EpochResult:
    epoch: int
    loss: float  # mean hinge loss over the epoch's steps (L2 term not included)
    windows_per_s: float  # true + corrupted windows through forward, backward, update
    train_seconds: float  # the steps alone
    threshold: float  # dev-optimal decision threshold
    dev: metrics.Scores
    token_accuracy: float
    is_best: bool
    stop_reason: str | None = None  # set on the last epoch when training stops early
    diverged: bool = False  # training has blown up (see `blown_up`): it stops


@dataclass
class Progress:
    """How far training has got, at a step boundary: with the parameters and
    the random generator's state, all a resumed run needs to go on exactly as
    an uninterrupted run would have.

    An epoch's order of true windows is drawn from the generator when the
    epoch starts; a run resumed inside the epoch draws it again from
    `epoch_rng`, the generator's state at that moment.
    """

    epoch: int = 0  # epochs completed
    step: int = 0  # steps completed of the epoch after them; 0 at an epoch boundary
    epoch_rng: dict | None = None  # generator state at the start of that epoch (None at a boundary)
    losses: list = field(default_factory=list)  # hinge losses of that epoch's steps so far
    best_f1: float = -1.0  # early stopping: the best dev F1 so far ...
    since_best: int = 0  # ... and the epochs since
    accumulators: dict | None = None  # the optimizer's state, the very arrays it updates

    def to_json(self, rng: np.random.Generator) -> dict:
        """Everything but the optimizer's arrays, and the generator's state, as JSON values."""
        return {"epoch": self.epoch, "step": self.step, "epoch_rng": self.epoch_rng, "losses": self.losses,
                "best_f1": self.best_f1, "since_best": self.since_best, "rng": rng.bit_generator.state}

    @classmethod
    def from_json(cls, state: dict, accumulators: dict) -> "Progress":
        return cls(state["epoch"], state["step"], state["epoch_rng"], list(state["losses"]), state["best_f1"],
                   state["since_best"], accumulators)


def corrupt(data: Windows, batch: np.ndarray, k: int, how: str,
            negatives: np.ndarray, vocab_size: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """k corrupted windows per true window, rows i*k ... i*k+k-1 for true window i.

    'outside': windows drawn uniformly from those whose centre is not a target;
    'replace_centre': the true window with its centre word swapped for a random
    vocabulary word (Collobert & Weston), the other features kept.
    """
    if how == "outside":
        return data.take(negatives[rng.integers(len(negatives), size=len(batch) * k)])
    windows = data.take(np.repeat(batch, k))
    centre = windows["word"].shape[1] // 2
    windows["word"][:, centre] = rng.integers(3, vocab_size, size=len(batch) * k)  # ids 0-2 are specials
    return windows


# Training has diverged when the hinge loss of a step or of an epoch, or any dev score, is larger in size
# than DIVERGENCE_BOUND x train.margin, or when any of them or any parameter is NaN or infinite. A
# margin-m hinge keeps healthy scores within a few margins (a few units on CoNLL-2003), so the bound
# is met only by a run that has blown up, whether or not its floats have overflowed yet: where they
# overflow depends on the CPU and BLAS kernel, the bound does not.
DIVERGENCE_BOUND = 1e6


def blown_up(values, margin: float) -> bool:
    """Is any loss or score in `values` (a float, or an array or list of any shape, in the units of
    the margin) NaN, infinite or beyond DIVERGENCE_BOUND x margin?"""
    # A float (every step's loss) skips numpy, 0.1 us instead of 20; the max is NaN if any value is.
    largest = abs(values) if isinstance(values, float) else float(np.max(np.abs(values), initial=0.0))
    return not largest <= DIVERGENCE_BOUND * margin


def evaluate(params, dev: DevSet, activation: str) -> tuple[float, metrics.Scores, float, float]:
    """Dev threshold, entity scores at it, token accuracy, and the largest |score| before document
    consistency (NaN if a score is NaN), for the divergence check."""
    raw = model.score(params, dev.windows.ids, activation)  # (N,)
    scores = consistency.smooth(raw, dev.groups, dev.consistency)
    threshold, result = metrics.best_threshold(scores, dev.scorer)
    accuracy = metrics.token_accuracy(dev.windows.positive, scores > threshold)
    largest = float(np.max(np.abs(raw))) if raw.size else 0.0
    return threshold, result, accuracy, largest


def train_epochs(params: dict, data: Windows, dev: DevSet, cfg: TrainConfig, activation: str,
                 rng: np.random.Generator, frozen=(), on_step=None,
                 progress: Progress | None = None) -> Iterator[EpochResult]:
    """Train in place, one epoch per iteration; stops after cfg.epochs or `patience` epochs without a better dev F1.

    on_step(epoch, loss, windows_per_s), if given, is called after every step
    (for a progress bar; it may raise KeyboardInterrupt to stop at that step).
    `progress`, if given, is kept current; to resume, pass the Progress a run
    saved, with `rng` restored to the state saved beside it.
    """
    progress = progress if progress is not None else Progress()
    positives = np.flatnonzero(data.positive)
    negatives = np.flatnonzero(~data.positive)
    vocab_size = params["E_word"].shape[0]
    optimizer = Optimizer(params, cfg.optimizer, cfg.lr, cfg.l2, progress.accumulators)
    progress.accumulators = optimizer.state
    for epoch in range(progress.epoch + 1, cfg.epochs + 1):
        if progress.step == 0:
            progress.epoch_rng, progress.losses = rng.bit_generator.state, []
            order = rng.permutation(positives)
        else:  # resumed inside this epoch: its order again, from the state it was drawn from
            replay = np.random.Generator(type(rng.bit_generator)())
            replay.bit_generator.state = progress.epoch_rng
            order = replay.permutation(positives)
        losses, windows, started = progress.losses, 0, time.perf_counter()
        for start in range(progress.step * cfg.batch_size, len(order), cfg.batch_size):
            batch = order[start: start + cfg.batch_size]
            true_windows = data.take(batch)
            corrupt_windows = corrupt(data, batch, cfg.k, cfg.corruption, negatives, vocab_size, rng)
            loss, grads, _ = model.loss_and_grads(params, true_windows, corrupt_windows, activation,
                                                  cfg.margin, frozen)
            optimizer.step(params, grads)
            losses.append(float(loss))
            progress.step += 1
            windows += len(batch) * (1 + cfg.k)
            if blown_up(losses[-1], cfg.margin):  # stop at once: later steps only blow up further
                break
            if on_step is not None:
                on_step(epoch, loss, windows / max(time.perf_counter() - started, 1e-9))
        seconds = time.perf_counter() - started
        loss = float(np.mean(losses))
        threshold, result, accuracy, largest = evaluate(params, dev, activation)
        # The loss can stay small while the parameters or the scores overflow (a NaN score
        # never violates the margin), hence the dev scores and the parameters are checked too.
        diverged = (blown_up(losses, cfg.margin) or blown_up(largest, cfg.margin) or not np.isfinite(threshold)
                    or not all(np.isfinite(p).all() for p in params.values()))
        is_best = result.f1 > progress.best_f1 and not diverged
        progress.best_f1, progress.since_best = (result.f1, 0) if is_best else (progress.best_f1, progress.since_best + 1)
        progress.epoch, progress.step, progress.epoch_rng, progress.losses = epoch, 0, None, []
        stop = None
        if diverged:
            stop = (f"the hinge loss or a dev score is beyond {DIVERGENCE_BOUND:g} x train.margin, or a value is "
                    f"not finite: lower train.lr (now {cfg.lr:g})")
        elif cfg.patience and progress.since_best >= cfg.patience and epoch < cfg.epochs:
            stop = f"early stop: no better dev F1 for {cfg.patience} epochs"
        yield EpochResult(epoch, loss, windows / max(seconds, 1e-9), seconds, threshold, result,
                          accuracy, is_best, stop, diverged)
        if stop:
            return
