"""`winner gradcheck`: the gradients of a real configured model against central differences.

The unit tests check every gate on toy sizes; this checks the model a config
(or a saved model directory) describes, at its real sizes and on windows of
its own training data: parameters cast to float64, then every analytic
gradient of the model's loss against central differences. For max-margin,
a few true windows and k corrupted windows each, drawn until no hinge pair
and no hidden unit is near a kink (winner.gradcheck.kink_distance); for
softmax with cross-entropy, a few windows of every class (the loss has no
kink; relu and hardtanh units still must be away from theirs).

Two things keep it fast enough to run from the command line:

- Only the embedding rows the batch looks up are differenced. The loss of a
  batch depends on no other row, so their gradient is exactly 0 on both
  sides; a table of 50,000 rows would otherwise take hours. The check runs on
  a compact copy of the problem, the touched rows with the window ids
  renumbered into them, whose gradients are those rows' gradients.
- The numeric side evaluates the loss alone (forward pass and hinge), where
  winner.gradcheck.check_loss_gradients runs loss_and_grads, backward
  included, at every one of the 2 x (entries of W) evaluations: the same J,
  several times cheaper.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from winner import checkpoint, config as config_module, gates, gradcheck, model, objectives, recipe
from winner.corpus import read_conll
from winner.errors import WinnerError

MIN_KINK_DISTANCE = 1e-4  # far beyond what a step of eps = 1e-6 can cross
DRAWS = 200  # batches tried before giving up on finding one away from kinks
HARD_SHARE = 10  # hard max-margin batches: true windows from the lowest-scoring tenth,
HARD_POOL = 50  # each with the k highest-scoring of HARD_POOL x k corrupted windows


@dataclass
class Check:
    source: str
    activation: str
    shapes: dict[str, tuple]  # the full parameter shapes
    rows_checked: dict[str, int]  # embedding tables: rows the batch touches
    batch: str  # what the batch holds, in words
    kink_distance: float
    errors: dict[str, float]  # parameter -> relative error
    tolerance: float

    @property
    def passed(self) -> bool:
        return all(error < self.tolerance for error in self.errors.values())


def compact(params: dict, true_windows: dict, corrupt_windows: dict):
    """The same loss on only the embedding rows the windows use, ids renumbered into them."""
    params, true_compact, corrupt_compact, rows_used = dict(params), {}, {}, {}
    for name in model.feature_names(params):  # windows may carry features the model has no table for
        both = np.concatenate([true_windows[name].ravel(), corrupt_windows[name].ravel()])  # (B*w + B*k*w,)
        rows, renumbered = np.unique(both, return_inverse=True)
        params[f"E_{name}"] = params[f"E_{name}"][rows]  # (R, d)
        split = true_windows[name].size
        true_compact[name] = renumbered[:split].reshape(true_windows[name].shape)
        corrupt_compact[name] = renumbered[split:].reshape(corrupt_windows[name].shape)
        rows_used[f"E_{name}"] = len(rows)
    return params, true_compact, corrupt_compact, rows_used


def loss_only(params: dict, true_windows: dict, corrupt_windows: dict, activation: str, margin: float,
              mask: np.ndarray | None = None):
    """J() of the current params: forward pass and hinge, no backward. model.score_pairs without its
    concatenation, which is done once here: J is evaluated twice for every parameter entry. mask: the
    dropout mask (B + Bk, D) held fixed, or None."""
    B = len(next(iter(true_windows.values())))
    both = {k: np.concatenate([true_windows[k], corrupt_windows[k]]) for k in true_windows}

    def loss() -> float:
        s, _ = model.forward(params, both, activation, mask)  # (B + Bk,)
        return gates.hinge_forward(s[:B], s[B:].reshape(B, -1), margin)[0]

    return loss


def _mask(params: dict, rows: int, cfg, rng) -> np.ndarray | None:
    """The dropout mask (rows, D) of a checked batch, drawn as a training step draws one
    (objectives.step_mask) and held fixed while J is differenced; None without train.dropout."""
    mask = objectives.step_mask(params, rows, cfg.train.dropout, rng)
    return None if mask is None else mask.astype(np.float64)


def _held(cfg) -> str:
    return f"; a dropout mask (train.dropout {cfg.train.dropout:g}) held fixed" if cfg.train.dropout else ""


def _problem(config_path, overrides, model_dir):
    """float64 params, training windows and the config, from a config or a model directory."""
    if model_dir is not None:
        loaded = checkpoint.load(model_dir)
        cfg = loaded.config
        if not Path(cfg.data.train).is_file():
            raise WinnerError(f"{Path(model_dir) / 'config.yaml'}: data.train: file not found: {cfg.data.train}")
        sentences = read_conll(cfg.data.train, cfg.data.scheme, cfg.data.label_map)
        types = loaded.objective.label_types
        return loaded.params, recipe.make_windows(loaded.featurizer, sentences, cfg.data.target, types=types), cfg, \
            f"{model_dir} (trained parameters)", loaded.objective
    cfg = config_module.load(config_path, overrides)
    config_module.check_paths(cfg, str(config_path), overrides)
    prepared = recipe.prepare(cfg, np.random.default_rng(cfg.train.seed))
    return prepared.params, prepared.train, cfg, f"{config_path} (initial parameters)", prepared.objective


def _hardest_positives(params, data, positives: np.ndarray, activation: str, windows: int) -> np.ndarray:
    """The lowest-scoring 1/HARD_SHARE of the true windows (at least `windows` of them): row indices."""
    scores = np.concatenate([model.score(params, data.take(part), activation)  # (N,), in chunks: W may be wide
                             for part in np.array_split(positives, max(1, len(positives) // 4096))])
    return positives[np.argsort(scores, kind="stable")[:max(windows, len(positives) // HARD_SHARE)]]


def _hardest_corrupted(params, data, batch: np.ndarray, cfg, negatives: np.ndarray, rng) -> dict:
    """For each true window of `batch`, the k highest-scoring of HARD_POOL x k corrupted windows drawn
    as training draws them (train.corruption): rows i*k ... i*k+k-1 for true window i."""
    k, drawn = cfg.train.k, HARD_POOL * cfg.train.k
    candidates = objectives.corrupt(data, batch, drawn, cfg.train.corruption, negatives, len(params["E_word"]), rng)
    scores = model.score(params, candidates, cfg.model.activation).reshape(len(batch), drawn)  # (B, drawn)
    top = np.argsort(-scores, axis=1, kind="stable")[:, :k]  # (B, k)
    rows = (np.arange(len(batch))[:, None] * drawn + top).ravel()  # (B k,)
    return {name: ids[rows] for name, ids in candidates.items()}


def _max_margin_batch(params, data, cfg, windows: int, rng):
    """True windows with k corrupted ones each, away from every kink, with a pair inside the margin.

    The first half of the DRAWS are batches as training draws them. A trained model separates most
    of its training pairs by more than the margin, and an ensemble, whose score is the mean of its
    members', by more still: no pair of such a batch may be inside the margin, and every gradient is
    then 0. The second half are therefore hard batches (hard-example mining): true windows from the
    lowest-scoring tenth, each with the highest-scoring of many corrupted windows. Any batch serves a
    gradient check; these make the hinge's gradients nonzero.
    """
    activation, margin, k = cfg.model.activation, cfg.train.margin, cfg.train.k
    positives, negatives = np.flatnonzero(data.positive), np.flatnonzero(~data.positive)
    if len(positives) < windows:
        raise WinnerError(f"{cfg.data.train}: fewer than {windows} '{cfg.data.target}' windows to check with")
    hardest = None
    for draw in range(DRAWS):
        if draw < DRAWS // 2:
            batch = rng.choice(positives, windows, replace=False)
            corrupt_windows = objectives.corrupt(data, batch, k, cfg.train.corruption, negatives,
                                                 len(params["E_word"]), rng)
        else:
            if hardest is None:
                hardest = _hardest_positives(params, data, positives, activation, windows)
            batch = rng.choice(hardest, windows, replace=False)
            corrupt_windows = _hardest_corrupted(params, data, batch, cfg, negatives, rng)
        small, true_compact, corrupt_compact, rows_used = compact(params, data.take(batch), corrupt_windows)
        mask = _mask(small, windows + windows * k, cfg, rng)
        distance = gradcheck.kink_distance(small, true_compact, corrupt_compact, activation, margin, mask)
        _, grads, active = model.loss_and_grads(small, true_compact, corrupt_compact, activation, margin, mask=mask)
        if distance > MIN_KINK_DISTANCE and active:  # no pair active: every gradient is 0, nothing checked
            break
    else:
        raise WinnerError(f"no batch of {windows} true windows away from kinks with a pair inside the margin "
                          f"in {DRAWS} draws; try another --windows")
    plural = "s" if windows != 1 else ""
    if hardest is None:
        drawn = f"{windows} true window{plural}, {windows * k} corrupted"
    else:
        drawn = (f"{windows} true window{plural} of the lowest-scoring {len(hardest):,}, {windows * k} corrupted "
                 f"(the highest-scoring {k} of {HARD_POOL * k} drawn for each)")
    described = f"{drawn}; {active} of {windows * k} pairs inside the margin{_held(cfg)}"
    return small, grads, loss_only(small, true_compact, corrupt_compact, activation, margin, mask), rows_used, \
        described, distance


def _softmax_batch(params, data, cfg, classes, windows: int, rng):
    """`windows` windows of every class, away from the activation's kinks."""
    activation = cfg.model.activation
    by_class = [np.flatnonzero(data.labels == c) for c in range(len(classes))]
    for c, rows in enumerate(by_class):
        if len(rows) < windows:
            raise WinnerError(f"{cfg.data.train}: fewer than {windows} '{classes[c]}' windows to check with")
    for _ in range(DRAWS):
        batch = np.concatenate([rng.choice(rows, windows, replace=False) for rows in by_class])
        labels = data.labels[batch].astype(np.int64)
        small, compacted, _, rows_used = compact(params, data.take(batch), {k: v[:0] for k, v in data.ids.items()})
        mask = _mask(small, len(batch), cfg, rng)
        distance = gradcheck.activation_kink_distance(small, compacted, activation, mask)
        if distance > MIN_KINK_DISTANCE:
            break
    else:
        raise WinnerError(f"no batch of {windows} windows a class away from kinks in {DRAWS} draws; "
                          f"try another --windows")
    _, grads = model.softmax_loss_and_grads(small, compacted, labels, activation, mask=mask)

    def loss() -> float:
        return gates.softmax_ce_forward(model.forward(small, compacted, activation, mask)[0], labels)[0]

    described = (f"{len(batch)} windows, {windows} of each class ({', '.join(classes)}); softmax with cross-entropy"
                 f"{_held(cfg)}")
    return small, grads, loss, rows_used, described, distance


def run_gradcheck(config_path=None, overrides=(), model_dir=None, windows: int = 2, tolerance: float = 1e-6,
                  eps: float = 1e-6, log: Callable[[str], None] = print) -> Check:
    """Build the problem, draw a batch away from kinks, compare every gradient."""
    from tqdm import tqdm

    params, data, cfg, source, objective = _problem(config_path, overrides, model_dir)
    params = {key: value.astype(np.float64) for key, value in params.items()}
    rng = np.random.default_rng(cfg.train.seed)
    if objective.name == "softmax":
        problem = _softmax_batch(params, data, cfg, objective.classes, windows, rng)
    else:
        problem = _max_margin_batch(params, data, cfg, windows, rng)
    small, grads, loss, rows_used, described, distance = problem
    bar = tqdm(total=2 * sum(v.size for v in small.values()), unit="eval", disable=None, leave=False,
               dynamic_ncols=True, desc="central differences")

    def counted_loss() -> float:
        bar.update(1)
        return loss()

    log(f"checking {sum(v.size for v in small.values()):,} parameter entries by central differences")
    errors = {}
    for key in small:
        numeric = gradcheck.numeric_gradient(counted_loss, small[key], eps)
        errors[key] = gradcheck.relative_error(gradcheck.dense(grads[key], small[key].shape), numeric)
    bar.close()
    return Check(source, cfg.model.activation, {key: value.shape for key, value in params.items()}, rows_used,
                 described, distance, errors, tolerance)


def render_text(check: Check) -> str:
    tables = ", ".join(f"{check.rows_checked[key]:,} of {check.shapes[key][0]:,} {key} rows"
                       for key in check.rows_checked)
    lines = [
        f"gradcheck {check.source}: {check.activation}, float64",
        f"batch: {check.batch}; " + (f"nearest kink {check.kink_distance:.2g} away"
                                     if np.isfinite(check.kink_distance) else "no kink (a smooth activation)"),
        f"embedding tables: only the rows the batch looks up are checked ({tables}); "
        f"the loss does not depend on the others, whose gradient is exactly 0",
        "",
        f"{'parameter':<10} {'shape':<14} relative error",
    ]
    for key, error in check.errors.items():
        mark = "" if error < check.tolerance else "  > tolerance"
        lines.append(f"{key:<10} {str(check.shapes[key]):<14} {error:.2e}{mark}")
    lines.append("")
    failed = [key for key, error in check.errors.items() if error >= check.tolerance]
    lines.append(f"PASS: every relative error is below {check.tolerance:g}" if not failed
                 else f"FAIL: {', '.join(failed)} above the tolerance {check.tolerance:g}")
    return "\n".join(lines) + "\n"
