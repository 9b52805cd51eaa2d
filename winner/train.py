"""The training loop: epochs of optimiser steps on the objective's batches.

The objective (winner.objectives) says what an epoch goes over and what one
step's loss is: max-margin over (true, corrupted) window pairs, or softmax
with cross-entropy over every window. This loop is the same for both.

`train_epochs` is a generator: it yields one EpochResult per epoch and owns
no I/O, so the CLI decides what to print and save and tests can drive it.
Where it has got to lives in a Progress, kept current after every step, so
that the caller can save it at any step and a later run can continue from it
exactly.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Iterator

import numpy as np

from winner import decode, metrics, objectives
from winner.config import TrainConfig
from winner.optim import Optimizer


@dataclass
class Windows:
    """Window ids of a corpus, whether each centre token is inside a target entity, and its class."""

    ids: dict[str, np.ndarray]  # feature -> (N, w) int32
    positive: np.ndarray  # (N,) bool
    labels: np.ndarray | None = None  # (N,) class id of each centre token: 0 O, i the i-th entity type
    soft: np.ndarray | None = None  # (N, C) a teacher's class probabilities, trained on in place of labels

    def take(self, rows: np.ndarray) -> dict[str, np.ndarray]:
        return {name: np.take(ids, rows, axis=0) for name, ids in self.ids.items()}

    @cached_property
    def negatives(self) -> np.ndarray:
        """(M,) the windows whose centre is outside the target type."""
        return np.flatnonzero(~self.positive)


@dataclass
class DevSet:
    windows: Windows
    scorers: list  # one metrics.SpanScorer per entity type of the model, in its order
    groups: np.ndarray  # (N,) same token string in the same document (document consistency)
    types: tuple  # the model's entity types
    target: int  # the index of data.target among them
    consistency: float = 0.0  # decode.document_consistency

    @property
    def scorer(self) -> metrics.SpanScorer:
        return self.scorers[self.target]


@dataclass
class DevResult:
    """Dev scores with each type's dev-optimal threshold, tokens labelled by decode.decide."""

    thresholds: np.ndarray  # (T,) one per entity type
    per_type: list  # (T,) metrics.Scores
    token_accuracy: float  # conlleval's: share of tokens whose IOB2 tag is right (token_accuracy)
    types: tuple  # the entity types, in the order of thresholds and per_type
    target: int  # the index of data.target among them
    largest: float = 0.0  # the largest |score| before document consistency (NaN if one is NaN)

    @property
    def threshold(self) -> float:
        return float(self.thresholds[self.target])

    @property
    def scores(self) -> metrics.Scores:
        return self.per_type[self.target]


@dataclass
class EpochResult:
    epoch: int
    loss: float  # mean loss over the epoch's steps (L2 term not included)
    windows_per_s: float  # windows through forward, backward, update (true and corrupted ones for max-margin)
    train_seconds: float  # the steps alone
    threshold: float  # dev-optimal decision threshold of the target type
    dev: metrics.Scores  # of the target type
    token_accuracy: float
    is_best: bool
    stop_reason: str | None = None  # set on the last epoch when training stops early
    diverged: bool = False  # training has blown up (see `blown_up`): it stops
    evaluation: DevResult | None = None  # every type's threshold and scores


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


def evaluate(params, dev: DevSet, activation: str, objective=None) -> DevResult:
    """Each type's dev threshold, entity scores of the labels decode.decide gives at them, token accuracy,
    and the largest |score| before document consistency, for the divergence check."""
    objective = objective or objectives.MaxMargin(dev.types)
    raw = objective.type_scores(params, dev.windows.ids, activation)  # (N, T)
    scores = decode.smooth(raw, dev.groups, dev.consistency)
    largest = float(np.max(np.abs(raw))) if raw.size else 0.0  # NaN if a score is NaN
    thresholds = decode.pick_thresholds(scores, dev.scorers)  # (T,)
    labels = decode.decide(scores, thresholds)  # (N,)
    return DevResult(thresholds, decode.score_types(labels, dev.scorers), token_accuracy(dev, labels), dev.types,
                     dev.target, largest)


def token_accuracy(dev: DevSet, labels: np.ndarray) -> float:
    """conlleval's token accuracy of labels (N,) (decode.decide's) against dev's gold tags: both in
    IOB2 (the gold entities found by conlleval's chunk rules, as the entity scores find them), the
    tags of types the model does not know read as O (metrics.tag_accuracy)."""
    n, first, last = labels.size, dev.scorers[0].first, dev.scorers[0].last
    spans = [(*scorer.gold_spans(), kind) for kind, scorer in enumerate(dev.scorers)]
    gold = metrics.iob2_codes(np.concatenate([s for s, _, _ in spans]), np.concatenate([e for _, e, _ in spans]),
                              np.concatenate([np.full(len(s), kind) for s, _, kind in spans]), n)
    predicted = metrics.iob2_codes(*decode.entity_runs(labels, first, last), n)
    return metrics.tag_accuracy(gold, predicted)


# Training has diverged when the loss of a step or of an epoch, or any dev score, is larger in size
# than DIVERGENCE_BOUND x the objective's scale (train.margin for max-margin, 1 for cross-entropy
# and log-odds), or when any of them or any parameter is NaN or infinite. A margin-m hinge keeps
# healthy scores within a few margins (a few units on CoNLL-2003), and healthy log-odds stay within
# tens, so the bound is met only by a run that has blown up, whether or not its floats have
# overflowed yet: where they overflow depends on the CPU and BLAS kernel, the bound does not.
DIVERGENCE_BOUND = 1e6


def blown_up(values, margin: float) -> bool:
    """Is any loss or score in `values` (a float, or an array or list of any shape, in the units of
    the margin) NaN, infinite or beyond DIVERGENCE_BOUND x margin?"""
    # A float (every step's loss) skips numpy, 0.1 us instead of 20; the max is NaN if any value is.
    largest = abs(values) if isinstance(values, float) else float(np.max(np.abs(values), initial=0.0))
    return not largest <= DIVERGENCE_BOUND * margin


def train_epochs(params: dict, data: Windows, dev: DevSet, cfg: TrainConfig, activation: str,
                 rng: np.random.Generator, frozen=(), on_step=None,
                 progress: Progress | None = None, objective=None) -> Iterator[EpochResult]:
    """Train in place, one epoch per iteration; stops after cfg.epochs or `patience` epochs without a better dev F1.

    on_step(epoch, loss, windows_per_s), if given, is called after every step
    (for a progress bar; it may raise KeyboardInterrupt to stop at that step).
    `progress`, if given, is kept current; to resume, pass the Progress a run
    saved, with `rng` restored to the state saved beside it. `objective`
    (winner.objectives) defaults to max-margin.
    """
    progress = progress if progress is not None else Progress()
    objective = objective or objectives.MaxMargin(dev.types)
    scale = objective.scale(cfg)  # of losses and scores, for the divergence bound
    optimizer = Optimizer(params, cfg.optimizer, cfg.lr, cfg.l2, progress.accumulators)
    progress.accumulators = optimizer.state
    for epoch in range(progress.epoch + 1, cfg.epochs + 1):
        if progress.step == 0:
            progress.epoch_rng, progress.losses = rng.bit_generator.state, []
            order = objective.epoch_order(data, rng)
        else:  # resumed inside this epoch: its order again, from the state it was drawn from
            replay = np.random.Generator(type(rng.bit_generator)())
            replay.bit_generator.state = progress.epoch_rng
            order = objective.epoch_order(data, replay)
        losses, windows, started = progress.losses, 0, time.perf_counter()
        for start in range(progress.step * cfg.batch_size, len(order), cfg.batch_size):
            batch = order[start: start + cfg.batch_size]
            loss, grads, seen = objective.step(params, data, batch, cfg, activation, frozen, rng)
            optimizer.step(params, grads)
            losses.append(float(loss))
            progress.step += 1
            windows += seen
            if blown_up(losses[-1], scale):  # stop at once: later steps only blow up further
                break
            if on_step is not None:
                on_step(epoch, loss, windows / max(time.perf_counter() - started, 1e-9))
        seconds = time.perf_counter() - started
        loss = float(np.mean(losses))
        evaluation = evaluate(params, dev, activation, objective)
        threshold, result, accuracy = evaluation.threshold, evaluation.scores, evaluation.token_accuracy
        # The loss can stay small while the parameters or the scores overflow (a NaN score
        # never violates the margin), hence the dev scores and the parameters are checked too.
        diverged = (blown_up(losses, scale) or blown_up(evaluation.largest, scale)
                    or not np.isfinite(evaluation.thresholds).all()
                    or not all(np.isfinite(p).all() for p in params.values()))
        is_best = result.f1 > progress.best_f1 and not diverged
        progress.best_f1, progress.since_best = (result.f1, 0) if is_best else (progress.best_f1, progress.since_best + 1)
        progress.epoch, progress.step, progress.epoch_rng, progress.losses = epoch, 0, None, []
        stop = None
        if diverged:
            bound = f"{DIVERGENCE_BOUND:g}" + (f" x {objective.scale_name}" if objective.scale_name else "")
            stop = (f"the {objective.loss_name} loss or a dev score is beyond {bound}, or a value is "
                    f"not finite: lower train.lr (now {cfg.lr:g})")
        elif cfg.patience and progress.since_best >= cfg.patience and epoch < cfg.epochs:
            stop = f"early stop: no better dev F1 for {cfg.patience} epochs"
        yield EpochResult(epoch, loss, windows / max(seconds, 1e-9), seconds, threshold, result,
                          accuracy, is_best, stop, diverged, evaluation)
        if stop:
            return
