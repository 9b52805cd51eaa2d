"""What made the outputs of a many-file predict: a record in the output directory.

An output that exists is skipped by the next run into the same directory, so
the run must know the outputs are those it would write: the same model (its
directory, and a SHA-256 of every file in it, which changes when it is
trained or saved again) and the same options that change an output's bytes
(--input-format, --format). The record is a small JSON file, hidden so that a
glob of the outputs does not take it, written atomically before any task
runs; a run whose record differs is refused, naming what differs, unless it
is told to tag every input again (--overwrite).
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

from winner.errors import WinnerError

RECORD = ".winner-predict.json"


def fingerprint(model_dir) -> str:
    """SHA-256 over the relative path and bytes of every file in the model directory, in sorted order."""
    digest = hashlib.sha256()
    root = Path(model_dir)
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(path.relative_to(root).as_posix().encode("utf-8") + b"\0")
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def record(model_dir, input_format: str, fmt: str) -> dict:
    """The record of a run: what it tags with."""
    return {"model": os.path.abspath(model_dir), "model_sha256": fingerprint(model_dir),
            "input_format": input_format, "format": fmt}


def read(output_dir: Path) -> dict | None:
    """The record in output_dir, None when there is none; a WinnerError for one that cannot be read."""
    path = output_dir / RECORD
    try:
        found = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise WinnerError(f"{path}: not a readable record of a predict run ({' '.join(str(exc).split())}); "
                          f"--overwrite tags every input again") from None
    return found if isinstance(found, dict) else {}


def check(output_dir: Path, wanted: dict, existing: list[Path]) -> None:
    """Raise WinnerError unless the outputs that exist (`existing`) were made as `wanted` says: output_dir's
    record equals it, or there is no output yet. The message names output_dir and the first thing
    that differs (or the output that has no record)."""
    found = read(output_dir)
    if found is None:
        if existing:
            raise WinnerError(f"{output_dir}: holds outputs (e.g. {existing[0].name}) with no record of the model "
                              f"and options that made them ({RECORD}); --overwrite tags every input again")
        return
    for key, value in wanted.items():
        if found.get(key) != value:
            if key == "model_sha256":
                what = f"by {wanted['model']} before its files changed (trained or saved again)"
            elif key == "model":
                what = f"by the model {found.get(key)}, not {value}"
            else:
                what = f"with --{key.replace('_', '-')} {found.get(key)}, not {value}"
            raise WinnerError(f"{output_dir}: its outputs were made {what}; --overwrite tags every input again "
                              f"(or give another --output-dir)")


def write(output_dir: Path, wanted: dict) -> None:
    """Write the record atomically (a temporary sibling renamed into place)."""
    from winner.checkpoint import write_atomic

    write_atomic(output_dir / RECORD, json.dumps(wanted, indent=1) + "\n")


def remove(output_dir: Path) -> None:
    """Delete the record: the outputs are being replaced, and until every one is, none is known."""
    (output_dir / RECORD).unlink(missing_ok=True)
