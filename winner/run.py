"""What `train` and `eval` do with files: a training run and a file evaluation.
The CLI only parses arguments and prints."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Callable

import numpy as np

from winner import __version__, checkpoint, config as config_module, metrics, recipe
from winner.errors import WinnerError
from winner.train import EpochResult, evaluate, train_epochs


def _meta(cfg, result: EpochResult | None, threshold: float) -> dict:
    meta = {"winner_version": __version__, "target": cfg.data.target, "threshold": float(threshold)}
    if result is not None:
        meta.update(epoch=result.epoch, dev=result.dev.as_dict(), dev_token_accuracy=result.token_accuracy)
    return meta


def _metrics_row(result: EpochResult, elapsed: float) -> dict:
    finite = math.isfinite(result.loss)
    return {
        "epoch": result.epoch,
        "loss": round(result.loss, 6) if finite else None,
        "dev_precision": round(result.dev.precision, 6),
        "dev_recall": round(result.dev.recall, 6),
        "dev_f1": round(result.dev.f1, 6),
        "dev_gold": result.dev.gold,
        "dev_predicted": result.dev.predicted,
        "dev_correct": result.dev.correct,
        "dev_token_accuracy": round(result.token_accuracy, 6),
        "threshold": round(result.threshold, 6),
        "windows_per_s": round(result.windows_per_s, 1),
        "train_seconds": round(result.train_seconds, 3),
        "seconds": round(elapsed, 3),
        "is_best": result.is_best,
    }


def run_training(config_path, overrides, log: Callable[[str], None] = print) -> str:
    """Train as the config says; returns a one-line summary of the best epoch."""
    from tqdm import tqdm

    started = time.perf_counter()
    cfg = config_module.load(config_path, overrides)
    config_module.check_paths(cfg, str(config_path))
    rng = np.random.default_rng(cfg.train.seed)
    prepared = recipe.prepare(cfg, rng)
    for note in prepared.notes:
        log(note)
    run_dir = Path(cfg.output.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    steps = math.ceil(int(prepared.train.positive.sum()) / cfg.train.batch_size)
    bar = tqdm(total=steps * cfg.train.epochs, unit="step", disable=None, leave=False, dynamic_ncols=True)

    def on_step(epoch, loss, windows_per_s):
        bar.update(1)
        if bar.n % 20 == 0:
            bar.set_description(f"epoch {epoch}", refresh=False)
            bar.set_postfix(loss=f"{loss:.4f}", windows_s=f"{windows_per_s:,.0f}", refresh=False)

    rows, best, last = [], None, None
    epochs = train_epochs(prepared.params, prepared.train, prepared.dev, cfg.train, cfg.model.activation,
                          rng, prepared.frozen, on_step)
    try:
        for result in epochs:
            rows.append(_metrics_row(result, time.perf_counter() - started))
            checkpoint.write_atomic(run_dir / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in rows))
            if not math.isfinite(result.loss):
                bar.close()
                raise WinnerError(f"{config_path}: training diverged at epoch {result.epoch} ({result.stop_reason}); "
                                  f"{run_dir / 'model-best'} keeps the last good model")
            last = result
            checkpoint.save(run_dir / "model-last", prepared.params, prepared.featurizer, cfg, _meta(cfg, result, result.threshold))
            if result.is_best:
                best = result
                checkpoint.save(run_dir / "model-best", prepared.params, prepared.featurizer, cfg, _meta(cfg, result, result.threshold))
            bar.clear()
            log(f"epoch {result.epoch:>3}  loss {result.loss:.4f}  dev P {result.dev.precision:.4f} "
                f"R {result.dev.recall:.4f} F1 {result.dev.f1:.4f}  threshold {result.threshold:+.3f}  "
                f"{result.windows_per_s:,.0f} windows/s{'  best' if result.is_best else ''}")
            if result.stop_reason:
                log(result.stop_reason)
    except KeyboardInterrupt:
        bar.close()
        threshold, scores, accuracy = evaluate(prepared.params, prepared.dev, cfg.model.activation)
        meta = _meta(cfg, last, threshold)
        meta.update(dev=scores.as_dict(), interrupted=True)
        checkpoint.save(run_dir / "model-last", prepared.params, prepared.featurizer, cfg, meta)
        log(f"interrupted: saved {run_dir / 'model-last'} and {run_dir / 'metrics.jsonl'}")
        raise
    bar.close()
    return (f"best dev {cfg.data.target} F1 {best.dev.f1:.4f} (P {best.dev.precision:.4f} R {best.dev.recall:.4f}) "
            f"at epoch {best.epoch}, threshold {best.threshold:+.3f}: {run_dir / 'model-best'}")


def evaluate_file(model_dir, data_file, label_map: dict, scheme: str = "auto") -> dict:
    """conlleval-style scores of a saved model on a CoNLL file."""
    from winner.corpus import read_conll

    loaded = checkpoint.load(model_dir)
    mapping = {**loaded.config.data.label_map, **label_map}
    sentences = read_conll(data_file, scheme, mapping)
    dev = recipe.make_dev(loaded.featurizer, sentences, loaded.target)
    from winner import model

    scores = model.score(loaded.params, dev.windows.ids, loaded.config.model.activation)
    positive = scores > loaded.threshold
    result = dev.scorer(positive).as_dict()
    result.update(
        target=loaded.target,
        threshold=loaded.threshold,
        tokens=int(positive.size),
        token_accuracy=metrics.token_accuracy(dev.windows.positive, positive),
        sentences=len(sentences),
    )
    return result
