"""`winner train --overwrite`: the run a directory holds is kept aside until the new run has a model.

The new run may stop before it saves anything: a divergence in the first
epoch (train.lr=1e9, say), an error, a killed process (Ctrl-C, taken at a
step's end, saves model-last). Had the old run been deleted when the new one
started, the directory would then hold neither. So once the new run's config
and data have passed every check, the old run's files are moved into
RUN_DIR/.replaced; when the new run ends having saved a model, .replaced is
deleted; if it ends without one, its own files are deleted and the old ones
put back. A process killed in between leaves .replaced, which the next run
in the directory settles the same way before it looks at what it holds.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable, Sequence

from winner import checkpoint

ASIDE = ".replaced"  # hidden: not a run file, and outside a glob of the directory's files
MOVING = ".replacing"  # the files being set aside, renamed ASIDE once all of them are there


def settle(run_dir: Path, files: Sequence[str], models: Sequence[str]) -> bool:
    """Deal with run_dir/.replaced, if there: delete it when one of `models` (names among `files`) is
    in run_dir, else delete `files` from run_dir and move the files kept aside back. Returns True when
    the old run was put back. Files set aside only in part (MOVING: the new run never started) go back."""
    moving = run_dir / MOVING
    if moving.is_dir():
        for kept in moving.iterdir():
            os.replace(kept, run_dir / kept.name)
        moving.rmdir()
    aside = run_dir / ASIDE
    if not aside.is_dir():
        return False
    if any(checkpoint.present(run_dir / name) for name in models):
        shutil.rmtree(aside)
        return False
    for name in files:
        checkpoint.remove(run_dir / name)
    for kept in aside.iterdir():
        os.replace(kept, run_dir / kept.name)
    aside.rmdir()
    return True


def set_aside(run_dir: Path, files: Sequence[str], log: Callable[[str], None]) -> None:
    """Move `files` of run_dir into run_dir/.replaced (a crashed save's leftovers first put right:
    checkpoint.recover), for settle() to delete or put back when the new run ends. They go through
    run_dir/.replacing, renamed .replaced once all are in it: a process stopped half-way leaves the
    old files that were not moved yet beside .replacing, never beside .replaced, where settle() would
    take them for the new run's."""
    moving = run_dir / MOVING
    moved = []
    for name in files:
        checkpoint.recover(run_dir / name)
        if os.path.lexists(run_dir / name):
            moving.mkdir(exist_ok=True)
            os.replace(run_dir / name, moving / name)
            moved.append(name)
    if moved:
        os.replace(moving, run_dir / ASIDE)
        log(f"--overwrite: {', '.join(moved)} of the run in {run_dir} set aside, to be deleted once this run "
            f"saves a model (put back if it stops before)")
