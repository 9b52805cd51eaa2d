"""Ensembles: n models of one config, seeds apart, merged into one network n times wider.

Member m computes s_m = g(u_m, f(W_m x_m + b_m)), x_m its own embeddings of
the window. The merged network is an ordinary window network:

    E_f = [E_f^1 ... E_f^n]          row i: the members' rows i side by side    (V_f, n d_f)
    W   = block-diagonal             hidden units of member m read x_m alone    (n H, w n d)
    b   = [b_1; ...; b_n]                                                       (n H,)
    u   = [u_1; ...; u_n] / n        max-margin: s = mean of the members' s_m   (n H,)
    U   = [U_1 ... U_n] / n          softmax: f = mean of the members' logits   (C, n H)

so its score is exactly the mean of the members' (to float32 rounding), and
eval, predict, explain, the fast path and gradcheck read it like any model.
Averaging the members' outputs is the plain ensemble of networks trained
from different random initialisations (Lakshminarayanan et al. 2017, "deep
ensembles", who average probabilities); averaging softmax logits instead
gives softmax(mean f) ∝ (Π_m p_m)^(1/n), the normalised geometric mean of
the members' class probabilities (a product of experts, Hinton 2002), which
keeps the network one network. Each type's threshold is then picked on dev
for the averaged scores by the code training uses for one model
(winner.train.evaluate).

Members must agree on everything but train.seed (and what --resume may
change): same features, vocabularies and gazetteers, so that one featurizer
serves them all. Members trained from one config always do (the vocabulary
is the training data's and the vectors' words; case augmentation draws with
the seed, but its copies only add new words when features.lowercase is
off); members that differ are refused, naming the file that differs.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from winner import checkpoint, config as config_module, model, outdir, recipe
from winner.breakdown import NAMES_FILE
from winner.corpus import read_conll
from winner.decode import overall
from winner.errors import WinnerError, require_output_dir
from winner.features import save_featurizer
from winner.run import RESUMABLE, model_meta
from winner.train import DevResult, evaluate


def merge_params(members: list[dict]) -> dict:
    """The merged network's parameters from n members' same-keyed params dicts (raises nothing: the
    members are checked by check_members first).

    Tables E_f (V_f, d_f) -> (V_f, n d_f); W (H, w d) -> (n H, w n d), block-diagonal
    in the members; b (H,) -> (n H,); u (H,) -> (n H,) / n, or U (C, H) -> (C, n H) / n.
    """
    n, first = len(members), members[0]
    names = model.feature_names(first)
    dims = [first[f"E_{name}"].shape[1] for name in names]
    H, D = first["W"].shape
    width = D // sum(dims)
    merged = {f"E_{name}": np.concatenate([m[f"E_{name}"] for m in members], axis=1) for name in names}
    blocks, offset = [], 0
    for d in dims:  # x is feature by feature, position by position, and now member by member inside
        block = np.zeros((n * H, width, n, d), first["W"].dtype)  # (n H, w, n, d_f)
        for i, member in enumerate(members):
            block[i * H:(i + 1) * H, :, i, :] = member["W"][:, offset: offset + width * d].reshape(H, width, d)
        blocks.append(block.reshape(n * H, width * n * d))
        offset += width * d
    merged["W"] = np.concatenate(blocks, axis=1)  # (n H, w n d)
    merged["b"] = np.concatenate([m["b"] for m in members])  # (n H,)
    out = model.output_key(first)
    merged[out] = (np.concatenate([m[out] for m in members], axis=-1) / n).astype(first[out].dtype)
    return merged


def merge_config(config, n: int):
    """The merged network's config: every embedding size and the hidden size n times the members'."""
    f, m = config.features, config.model
    features = dataclasses.replace(f, word_dim=n * f.word_dim, caps_dim=n * f.caps_dim, suffix_dim=n * f.suffix_dim,
                                   gazetteer_dim=n * f.gazetteer_dim)
    return dataclasses.replace(config, features=features, model=dataclasses.replace(m, hidden=n * m.hidden))


def _featurizer_files(loaded: checkpoint.LoadedModel, directory: Path) -> dict:
    """{file name: text} of what a model directory's featurizer is, and its training names."""
    files = {}
    save_featurizer(loaded.featurizer, directory, lambda path, text: files.__setitem__(path.name, text))
    names = directory / NAMES_FILE
    files[NAMES_FILE] = names.read_text(encoding="utf-8") if names.is_file() else None
    return files


def check_members(members: list[checkpoint.LoadedModel], dirs: list[Path]) -> None:
    """Raise WinnerError unless the members are n >= 2 distinct models of one config that differ in
    train.seed only (and the settings --resume may change), with the same vocabularies and gazetteers.
    The error names the member at fault: an ensemble already, the first config key that differs
    (config.require_same), a train.seed given twice with every other setting the same, or the
    featurizer file that differs."""
    if len(members) < 2:
        raise WinnerError(f"an ensemble needs at least 2 models, got {len(members)}")
    first, where = members[0], dirs[0] / "config.yaml"
    seeds = {}
    for loaded, directory in zip(members, dirs):
        if "ensemble" in loaded.meta:
            raise WinnerError(f"{directory}: is an ensemble already; give the models it was built from")
        # settings first: two models of other configs that share a seed are not the same model twice
        config_module.require_same(loaded.config, first.config, (*RESUMABLE, "train.seed"), directory / "config.yaml",
                                   where, "members differ in train.seed only")
        seed = loaded.config.train.seed
        if seed in seeds:
            raise WinnerError(f"{directory}: has train.seed {seed} and every other setting of {seeds[seed]} "
                              f"(train.epochs and train.patience aside): the same model twice; members must "
                              f"differ in train.seed")
        seeds[seed] = directory
    expected = _featurizer_files(first, dirs[0])
    for loaded, directory in zip(members[1:], dirs[1:]):
        for name, text in _featurizer_files(loaded, directory).items():
            if text != expected[name]:
                raise WinnerError(f"{directory / name}: differs from {dirs[0] / name}; an ensemble's members "
                                  f"must see text the same way (one vocabulary, the same gazetteers)")


def dev_path(loaded: checkpoint.LoadedModel, directory: Path, dev=None) -> Path:
    """The dev file that picks the ensemble's thresholds: `dev`, else the members' data.dev as written,
    else the absolute path training recorded (meta.json dev_file). Raises WinnerError when `dev` is
    given but is not a file ('DEV: dev file not found'), or when neither of the members' paths is
    one (naming DIRECTORY/config.yaml's data.dev and suggesting --dev)."""
    if dev is not None:
        if not Path(dev).is_file():
            raise WinnerError(f"{dev}: dev file not found")
        return Path(dev)
    for candidate in (loaded.config.data.dev, loaded.meta.get("dev_file")):
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    raise WinnerError(f"{directory / 'config.yaml'}: data.dev: file not found: {loaded.config.data.dev} "
                      f"(nor {loaded.meta.get('dev_file')}); give the dev file with --dev FILE")


@dataclass(frozen=True)
class Ensemble:
    """What building an ensemble leaves: its directory and the dev scores of it and of each member."""

    out: Path
    members: list  # the members' directories
    seeds: list  # their train.seed
    member_dev: list  # one DevResult per member, thresholds picked on the same dev file
    dev: DevResult  # the ensemble's
    dev_file: Path

    def table(self) -> str:
        """The dev F1 of every member, of their mean and of the ensemble: a small table for stderr."""
        target = self.dev.types[self.dev.target]
        several = len(self.dev.types) > 1
        rows = [(f"seed {seed}", r, str(d)) for seed, r, d in zip(self.seeds, self.member_dev, self.members)]

        def cells(result: DevResult) -> list[float]:
            return [result.scores.f1] + ([overall(result.per_type).f1] if several else [])

        mean = np.mean([cells(r) for _, r, _ in rows], axis=0)
        lines = [f"{'':<22}{'dev ' + target + ' F1':>12}" + (f"{'dev F1, all types':>19}" if several else "")]
        for label, result, where in rows:
            lines.append(f"{label:<22}{_cells(cells(result))}  {where}")
        lines.append(f"{'mean of the members':<22}{_cells(mean)}")
        lines.append(f"{f'ensemble of {len(rows)}':<22}{_cells(cells(self.dev))}  {self.out}")
        return "\n".join(lines) + "\n"

    @property
    def summary(self) -> str:
        """One line: the ensemble's dev scores and threshold, and where it is."""
        s, target = self.dev.scores, self.dev.types[self.dev.target]
        return (f"ensemble of {len(self.members)} (seeds {', '.join(map(str, self.seeds))}): dev {target} F1 "
                f"{s.f1:.4f} (P {s.precision:.4f} R {s.recall:.4f}), threshold {self.dev.threshold:+.3f}: {self.out}")


def _cells(values) -> str:
    """The table's F1 columns: the target type's, then all types'."""
    return "".join(f"{v:>{width}.4f}" for v, width in zip(values, (12, 19)))


def _refuse_member_out(out: Path, dirs: list[Path]) -> None:
    """Raise WinnerError when `out` is a member, holds one or lies inside one: writing the ensemble
    there would replace (with --overwrite) or change a model it is built from. Paths are compared
    resolved, so a link or `..` does not hide a member."""
    target = out.resolve()
    for directory in dirs:
        member = directory.resolve()
        if target == member:
            relation = "is the member"
        elif target in member.parents:
            relation = "holds the member"
        elif member in target.parents:
            relation = "is inside the member"
        else:
            continue
        raise WinnerError(f"--out {out}: {relation} {directory}; write the ensemble outside its members")


def build(model_dirs, out, dev=None, overwrite: bool = False, log: Callable[[str], None] = lambda _: None) -> Ensemble:
    """Merge trained model directories into one ensemble model directory `out`.

    model_dirs: n >= 2 directories of models trained from one config with different
    train.seed; dev: the CoNLL file that picks the ensemble's thresholds (default the
    members' data.dev). An existing `out` is replaced only with overwrite, only when it is a model
    directory (or empty), and never when it is, holds or lies inside one of the members. Raises
    WinnerError naming the directory or file at fault: an `out` that is, holds or lies inside a
    member, is a file or a directory other than a model directory (a run directory, say), cannot
    be made or cannot be written (these whether or not overwrite is given, before the next, and
    before the members load), or exists (without overwrite); a member that is not a model
    directory, or differs from the first in more than
    train.seed (check_members); a dev file not found or without the target type.
    """
    dirs, out = [Path(d) for d in model_dirs], Path(out)
    _refuse_member_out(out, dirs)
    # what --overwrite would not replace either is refused first, so that no error suggests --overwrite in vain;
    # os.path.isdir: a name too long is False here, and one error line when made below
    if os.path.isdir(out) and not (out / "meta.json").is_file() and any(out.iterdir()):
        held = ", ".join(sorted(p.name for p in out.iterdir())[:4])
        raise WinnerError(f"--out {out}: is a directory but not a model directory (it holds {held}); --overwrite "
                          f"replaces a model directory only; choose another --out")
    require_output_dir(out, "--out")  # a file at `out` or in its path, or a directory not writable
    if checkpoint.present(out) and not overwrite:
        raise WinnerError(f"{out}: exists; add --overwrite to replace it, or choose another --out")
    # made before the members load: an --out that cannot be made is one error before any work (and is
    # removed again when the build fails); checkpoint.save replaces the empty directory
    with outdir.made(out, "the ensemble's model directory") as made:
        checkpoint.require_savable(made, "the ensemble's model directory")
        members = [checkpoint.load(d) for d in dirs]
        check_members(members, dirs)
        first = members[0]
        dev_file = dev_path(first, dirs[0], dev)
        cfg = first.config
        sentences = read_conll(dev_file, cfg.data.scheme, cfg.data.label_map)
        recipe.require_target(sentences, first.target, dev_file, "dev cannot pick the thresholds", recipe.CONFIG_HINT)
        dev_set = recipe.make_dev(first.featurizer, sentences, first.target, cfg.decode.document_consistency,
                                  first.objective.label_types)
        activation = cfg.model.activation
        log(f"ensemble: {len(members)} members; thresholds picked on {dev_file}")
        member_dev = [evaluate(m.params, dev_set, activation, first.objective) for m in members]
        params = merge_params([m.params for m in members])
        merged = evaluate(params, dev_set, activation, first.objective)
        config = merge_config(dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, dev=str(dev_file))),
                              len(members))
        seeds = [m.config.train.seed for m in members]
        meta = model_meta(config, first.objective, merged)
        meta["ensemble"] = {"size": len(members), "seeds": seeds, "members": [str(d.resolve()) for d in dirs],
                            "members_dev_f1": [r.scores.f1 for r in member_dev]}
        names = dirs[0] / NAMES_FILE
        texts = {NAMES_FILE: names.read_text(encoding="utf-8")} if names.is_file() else {}
        checkpoint.save(out, params, first.featurizer, config, meta, texts=texts)
        return Ensemble(out, dirs, seeds, member_dev, merged, dev_file)
