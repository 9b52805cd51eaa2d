"""What `winner train CONFIG --seeds 0,1,2` does: one training run per seed, then their ensemble.

    RUN_DIR/members/seed-0/   an ordinary run (model-best, model-last, metrics.jsonl) with train.seed 0
    RUN_DIR/members/seed-1/   ...
    RUN_DIR/model-best/       the ensemble of the members' model-best (winner.ensemble)

so `winner eval RUN_DIR/model-best` and `winner predict -m RUN_DIR/model-best`
find the ensemble where they find a single run's model. With --resume a
finished member is kept as it is, an unfinished one continues where it
stopped and a missing one is trained, each started one only if the settings
given are those it was started with (as for a single run); --overwrite
trains every member afresh.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from winner import checkpoint, config as config_module, ensemble, outdir, recipe, sweeps
from winner.errors import WinnerError, require_output_dir
from winner.run import MEMBERS, RUN_FILES, check_settings, check_training_data, run_training

def parse_seeds(text: str) -> list[int]:
    """'0,1,2' or '0-2' -> [0, 1, 2], as `winner sweep --seeds` reads them (winner.sweeps), and at
    least two of them; a WinnerError naming the fault otherwise."""
    seeds = sweeps.parse_seeds(text)
    if len(seeds) < 2:
        raise WinnerError(f"--seeds '{text}': an ensemble needs at least 2 seeds")
    return seeds


def member_dir(run_dir, seed: int) -> Path:
    """RUN_DIR/members/seed-SEED: where `winner train --seeds` keeps the run of the member with that
    train.seed (the path only; nothing is checked or created)."""
    return Path(run_dir) / MEMBERS / f"seed-{seed}"


def finished(run_dir: Path, cfg) -> bool:
    """Has the run in run_dir stopped for good: all cfg.train.epochs done, or stopped early by patience?
    (what --resume would refuse to continue). Raises nothing: an unreadable state counts as
    unfinished, and resuming it then names the fault in a WinnerError."""
    try:
        state = json.loads((run_dir / "model-last" / "training_state.json").read_text(encoding="utf-8"))
        epoch, step, since_best = int(state["epoch"]), int(state["step"]), int(state["since_best"])
    except (OSError, ValueError, KeyError, TypeError):
        return False
    patience = cfg.train.patience
    return step == 0 and (epoch >= cfg.train.epochs or bool(patience and since_best >= patience))


def _with(overrides, extra: dict):
    """The user's overrides (strings or a mapping) with `extra` {'section.key': value} after them."""
    if isinstance(overrides, dict):
        return {**overrides, **extra}
    return [*overrides, *(f"{key}={value}" for key, value in extra.items())]


def _check_run_dir(run_dir: Path, resume: bool, overwrite: bool) -> None:
    """An ensemble's run directory is continued (--resume) or replaced (--overwrite), never replaced
    without a word; a single model's run there is only ever replaced with --overwrite."""
    if resume and overwrite:
        raise WinnerError("--resume and --overwrite: give one of them (continue the run, or replace it)")
    single = [name for name in RUN_FILES[1:] if checkpoint.present(run_dir / name)]
    members = (run_dir / MEMBERS).is_dir()
    if single and not overwrite:
        raise WinnerError(f"{run_dir}: holds a single model's training run ({', '.join(single)}), not an "
                          f"ensemble's; add --overwrite to replace it, or set another output.run_dir")
    if (members or checkpoint.present(run_dir / "model-best")) and not (resume or overwrite):
        raise WinnerError(f"{run_dir}: holds a training run ({MEMBERS if members else 'model-best'}); add --resume "
                          f"to continue it (finished members are kept), --overwrite to replace it, or set another "
                          f"output.run_dir")


def train_members(config_path, overrides, seeds: list[int], resume: bool = False, overwrite: bool = False,
                  log: Callable[[str], None] = print) -> ensemble.Ensemble:
    """Train one member per seed into RUN_DIR/members/seed-K, then merge them into RUN_DIR/model-best.

    config_path: a YAML file or a mapping of sections; overrides: 'section.key=value' strings or a
    mapping (not train.seed: --seeds sets it). With resume, every member started must have the
    settings it was started with (winner.run.check_settings) and the training data
    (winner.run.check_training_data), checked before any member trains.
    Raises WinnerError for fewer than 2 or repeated seeds, a train.seed override, a bad config, a
    run directory that cannot be made (before any member trains), a run directory that holds a run (without resume or overwrite), a single model's run there
    (without overwrite), a resumed member whose settings differ (naming the key and its
    config.yaml) or whose training data changed (naming the first file that differs), a member
    that diverged (the members trained so far and any ensemble already in RUN_DIR are kept), or
    members that cannot be merged.
    """
    seeds = list(seeds)
    if len(set(seeds)) != len(seeds) or len(seeds) < 2:
        raise WinnerError(f"seeds {seeds}: an ensemble needs at least 2 distinct seeds")
    given = overrides.keys() if isinstance(overrides, dict) else [o.partition("=")[0] for o in overrides]
    if "train.seed" in given:
        raise WinnerError("train.seed: --seeds sets each member's seed; drop the train.seed override")
    source = "config" if isinstance(config_path, dict) else str(config_path)
    load = config_module.from_mapping if isinstance(config_path, dict) else config_module.load
    cfg = load(config_path, overrides)
    config_module.check_paths(cfg, source, overrides)
    run_dir = Path(cfg.output.run_dir)
    require_output_dir(run_dir, config_module.origin("output.run_dir", source, overrides))
    with outdir.made(run_dir, "the run directory"):  # as for a single run (winner.run.run_training)
        _check_run_dir(run_dir, resume, overwrite)
        configs = {seed: _with(overrides, {"train.seed": seed, "output.run_dir": str(member_dir(run_dir, seed))})
                   for seed in seeds}
        if resume:  # every member started keeps its settings and training data, checked before any member trains
            for seed in seeds:
                last = member_dir(run_dir, seed) / "model-last"
                if checkpoint.present(last):
                    member_cfg = load(config_path, configs[seed])
                    check_settings(source, member_cfg, last)
                    # per member: the copies data.case_augment_* adds depend on train.seed
                    check_training_data(member_cfg, last, recipe.training_featurizer(member_cfg),
                                        "its members cannot be resumed or kept")
        best_dirs = []
        for i, seed in enumerate(seeds, start=1):
            where, member = member_dir(run_dir, seed), configs[seed]
            if resume and finished(where, load(config_path, member)):
                log(f"member {i} of {len(seeds)}, seed {seed}: {where} has finished; kept as it is")
            else:
                started = resume and checkpoint.present(where / "model-last")
                log(f"member {i} of {len(seeds)}, seed {seed}: {'resuming' if started else 'training'} {where}")
                # a member directory with no model-last holds no epoch worth keeping: it starts afresh
                run_training(config_path, member, log=log, resume=started,
                             overwrite=overwrite or (resume and not started))
            best_dirs.append(where / "model-best")
        if overwrite:  # a single model's run that was here is replaced by the ensemble
            for name in RUN_FILES[1:]:
                checkpoint.remove(run_dir / name)
        built = ensemble.build(best_dirs, run_dir / "model-best", overwrite=True, log=log)
        log(built.table().rstrip("\n"))
        return built
