"""The training loop: max-margin SGD over (true, corrupted) window pairs.

`train_epochs` is a generator: it yields one EpochResult per epoch and owns
no I/O, so the CLI decides what to print and save and tests can drive it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from winner import metrics, model
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


def evaluate(params, dev: DevSet, activation: str) -> tuple[float, metrics.Scores, float]:
    """Dev threshold, entity scores at it, token accuracy."""
    scores = model.score(params, dev.windows.ids, activation)
    threshold, result = metrics.best_threshold(scores, dev.scorer)
    accuracy = metrics.token_accuracy(dev.windows.positive, scores > threshold)
    return threshold, result, accuracy


def train_epochs(params: dict, data: Windows, dev: DevSet, cfg: TrainConfig, activation: str,
                 rng: np.random.Generator, frozen=(), on_step=None) -> Iterator[EpochResult]:
    """Train in place, one epoch per iteration; stops after cfg.epochs or `patience` epochs without a better dev F1.

    on_step(epoch, loss, windows_per_s), if given, is called after every step (for a progress bar).
    """
    positives = np.flatnonzero(data.positive)
    negatives = np.flatnonzero(~data.positive)
    vocab_size = params["E_word"].shape[0]
    optimizer = Optimizer(params, cfg.optimizer, cfg.lr, cfg.l2)
    best_f1, since_best = -1.0, 0
    for epoch in range(1, cfg.epochs + 1):
        order = rng.permutation(positives)
        losses, windows, started = [], 0, time.perf_counter()
        for start in range(0, len(order), cfg.batch_size):
            batch = order[start: start + cfg.batch_size]
            true_windows = data.take(batch)
            corrupt_windows = corrupt(data, batch, cfg.k, cfg.corruption, negatives, vocab_size, rng)
            loss, grads, _ = model.loss_and_grads(params, true_windows, corrupt_windows, activation,
                                                  cfg.margin, frozen)
            optimizer.step(params, grads)
            losses.append(loss)
            windows += len(batch) * (1 + cfg.k)
            if on_step is not None:
                on_step(epoch, loss, windows / max(time.perf_counter() - started, 1e-9))
        seconds = time.perf_counter() - started
        loss = float(np.mean(losses))
        threshold, result, accuracy = evaluate(params, dev, activation)
        is_best = result.f1 > best_f1
        best_f1, since_best = (result.f1, 0) if is_best else (best_f1, since_best + 1)
        stop = None
        if not np.isfinite(loss):
            stop = "the loss is not finite (diverged): lower train.lr"
        elif cfg.patience and since_best >= cfg.patience and epoch < cfg.epochs:
            stop = f"early stop: no better dev F1 for {cfg.patience} epochs"
        yield EpochResult(epoch, loss, windows / max(seconds, 1e-9), seconds, threshold, result,
                          accuracy, bool(is_best and np.isfinite(loss)), stop)
        if stop:
            return
