"""An output directory made for a run, and removed again when the run leaves nothing in it.

A training run, an ensemble, a many-file predict and a sweep make their output
directory before any work (before the data loads, before any task runs), so
that a directory that cannot be made is one error before any work.
A run that then fails (a scheduler that cannot be reached, Ctrl-C, every task
failed) must not leave behind an empty directory the user did not have.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Iterator

from winner.errors import WinnerError


@contextlib.contextmanager
def made(path, what: str, clutter: tuple[str, ...] = ()) -> Iterator[Path]:
    """Directory `path` (absolute), made with its missing parents for the block. On leaving, however the
    block ends, the directories made here are removed again if nothing is in them but empty
    directories and files named in `clutter` (bookkeeping of the run, e.g. winner.tag_record's
    record); a directory that existed before is left as it is. Raises WinnerError
    '<path>: cannot create <what> (<reason>)'."""
    path = Path(os.path.abspath(path))
    new = [p for p in (path, *path.parents) if not os.path.lexists(p)]  # deepest first
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        _remove_empty(new[1:])  # the parents made before the directory itself failed
        raise WinnerError(f"{path}: cannot create {what} ({exc.strerror or exc})") from None
    try:
        yield path
    finally:
        if new and _holds_nothing(path, clutter):
            for root, _, files in os.walk(path, topdown=False):  # everything in it was made by this run
                for name in files:
                    os.unlink(os.path.join(root, name))
                os.rmdir(root)
            _remove_empty(new[1:])


def _remove_empty(parents: list[Path]) -> None:
    """Remove the directories `parents` (deepest first, made for a directory) while they are empty;
    one not made (mkdir stopped short of it) is passed over."""
    for directory in parents:
        try:
            directory.rmdir()
        except FileNotFoundError:
            continue
        except OSError:
            break


def _holds_nothing(path: Path, clutter: tuple[str, ...]) -> bool:
    """True when `path` holds only directories and files named in `clutter` (at any depth)."""
    return all(name in clutter for _, _, files in os.walk(path) for name in files)
