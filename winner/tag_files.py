"""Tagging many files: `winner predict --input GLOB --output-dir DIR`, one Dask task per input file.

Each input file gives one output file under the output directory, at the
input's path relative to the inputs' common directory (or --input-root),
with the extension of the output format (.txt inline, .conll, .jsonl). A
task is (model directory, input path, output path, formats) -> tokens; the
worker loads the model once and keeps it for the tasks after it. The output
is the very text `winner predict --input FILE` prints (winner.predict_output),
written to a temporary sibling and renamed into place, so an output file that
exists is complete: a run skips the inputs whose output exists, and a run
again after a crash or a killed worker tags only what is missing. It skips
them only when the output directory's record (winner.tag_record) says the
same model and formats made them; a directory the run made is removed again
when the run writes nothing into it (winner.outdir).
"""

from __future__ import annotations

import contextlib
import glob
import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

from winner import distributed, outdir, tag_record
from winner.errors import WinnerError
from winner.predict_output import check_formats, file_batches, outputs

EXTENSIONS = {"inline": ".txt", "conll": ".conll", "json": ".jsonl"}
_MODELS: dict = {}  # in a worker: the model its tasks use, loaded by the first of them


@dataclass
class FilesResult:
    """What a many-file predict did: files tagged and tokens in them, files skipped because their output
    existed, and the files that failed as (input path, one-line error)."""

    output_dir: Path
    tagged: int = 0
    tokens: int = 0
    skipped: int = 0
    failures: list = field(default_factory=list)


def expand(patterns: Sequence[str]) -> list[Path]:
    """The input files: each pattern a file or a glob (** spans directories), sorted, each once.
    A WinnerError for a pattern that names no file."""
    found: dict[str, None] = {}
    for pattern in patterns:
        if not glob.has_magic(pattern):
            path = Path(pattern)
            if path.is_dir():
                raise WinnerError(f"{pattern}: is a directory, expected an input file (or a glob such as "
                                  f"'{path / '**' / '*.txt'}')")
            if not path.exists():
                raise WinnerError(f"{pattern}: input file not found")
            found[os.path.abspath(path)] = None
            continue
        matches = [m for m in glob.glob(pattern, recursive=True) if not os.path.isdir(m)]  # a named pipe is input too
        if not matches:
            raise WinnerError(f"--input '{pattern}': no file matches")
        found.update((os.path.abspath(m), None) for m in matches)
    return [Path(p) for p in sorted(found)]


def plan(inputs: Sequence[Path], output_dir, fmt: str, input_root=None) -> list[tuple[Path, Path]]:
    """(input, output) absolute paths: each output under output_dir at the input's path relative to
    input_root (default: the inputs' deepest common directory), with fmt's extension."""
    output_dir = Path(os.path.abspath(output_dir))
    root = Path(os.path.abspath(input_root)) if input_root is not None else \
        Path(os.path.commonpath([p.parent for p in inputs]))
    pairs, seen = [], {}
    for path in inputs:
        if not path.is_relative_to(root):
            raise WinnerError(f"{path}: not under --input-root {root}")
        if path.is_relative_to(output_dir):
            raise WinnerError(f"{path}: is inside --output-dir {output_dir}; tag it into another directory")
        relative = path.relative_to(root)
        output = output_dir / relative.with_name(relative.stem + EXTENSIONS[fmt])
        if output in seen:
            raise WinnerError(f"{seen[output]} and {path}: both would be written to {output}")
        seen[output] = path
        pairs.append((path, output))
    return pairs


def _model(model_dir: str):
    """The worker's loaded model for model_dir, loaded by the first task that needs it (again when the
    directory has been saved anew since)."""
    from winner import api

    key = (model_dir, os.stat(os.path.join(model_dir, "meta.json")).st_mtime_ns)
    if key not in _MODELS:
        _MODELS.clear()  # one model at a time in a worker's memory
        _MODELS[key] = api.load(model_dir)
    return _MODELS[key]


def _temporary(output: Path) -> Path:
    """Where a task writes before the rename: hidden, so that a glob of outputs does not take it; named
    by the task's host and process, so that a file a killed task left is told from a running one's."""
    return output.with_name(f".{output.name}.tmp-{socket.gethostname()}-{os.getpid()}")


def _clear_dead_leftovers(output: Path) -> None:
    """Delete the temporary files beside `output` of processes of this host that have ended (a killed
    task's): a running task's, such as a copy of this task Dask runs at once elsewhere, stays. Never
    raises: the output is written already."""
    host = socket.gethostname()
    for leftover in output.parent.glob(f".{glob.escape(output.name)}.tmp-*"):
        owner, _, pid = leftover.name.rpartition(".tmp-")[2].rpartition("-")
        if owner != host or not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:  # ended: its file is a leftover
            with contextlib.suppress(OSError):
                leftover.unlink()
        except OSError:  # a process of another user's: running
            continue


def tag_file(model_dir: str, source: str, output: str, input_format: str, fmt: str, replace: bool = False) -> int | None:
    """One task: tag `source` into `output` as `winner predict --input source` prints it; returns the
    tokens tagged, or None without writing when the output exists already (unless replace). Runs on a
    worker. Raises WinnerError for an input that cannot be read or is not valid (its file and line)
    and an output that cannot be written."""
    output_path = Path(output)
    if output_path.exists() and not replace:  # written since the run was planned (a task Dask ran twice)
        return None
    model = _model(model_dir)
    tmp, tokens = _temporary(output_path), 0
    try:
        output_path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as handle:
            for text, count in outputs(model, file_batches(source, input_format), input_format, fmt, name=source):
                handle.write(text.encode("utf-8"))
                tokens += count
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, output_path)
    except OSError as exc:  # reading the input is a WinnerError already: this is the output's side
        tmp.unlink(missing_ok=True)
        raise WinnerError(f"{output}: cannot write the output ({exc.strerror or exc})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _clear_dead_leftovers(output_path)  # a killed task's, for this output: the output is complete now
    return tokens


def _clear_leftovers(output: Path) -> None:
    """Delete temporary files that a killed task left beside `output` (one run per output directory
    at a time: a running task's file would go too)."""
    for leftover in output.parent.glob(f".{glob.escape(output.name)}.tmp-*"):
        leftover.unlink(missing_ok=True)


def _refuse_others(output_dir: Path, fmt: str, planned: set[Path]) -> None:
    """A WinnerError when output_dir holds outputs of fmt's extension that this run would not write:
    --overwrite writes the record of the new model over the whole directory, so outputs of inputs not
    given now would be taken for that model's by the runs after it. Hidden files (the record, a task's
    temporary file) are not outputs."""
    for path in sorted(output_dir.rglob(f"*{EXTENSIONS[fmt]}")):
        hidden = any(part.startswith(".") for part in path.relative_to(output_dir).parts)
        if path.is_file() and not hidden and path not in planned:
            raise WinnerError(f"{output_dir}: holds outputs of inputs not given now (e.g. "
                              f"{path.relative_to(output_dir)}), which --overwrite would leave under the new "
                              f"model's record; give every input again, remove those outputs, or give another "
                              f"--output-dir")


def predict_files(model, inputs: Sequence[str], output_dir, client=None, workers: int | None = None,
                  scheduler: str | None = None, input_format: str = "text", format: str | None = None, input_root=None,
                  progress: bool = True, overwrite: bool = False) -> FilesResult:
    """Tag every input file (paths or globs, ** spanning directories) into output_dir, one Dask task per
    file, each output what `winner predict --input FILE --format FORMAT` prints for its input; inputs
    whose output exists are skipped when output_dir's record (winner.tag_record) says the same model
    and formats made it, and every input is tagged again with overwrite.

    model: a model directory or a winner.Model; it, the inputs and output_dir must be at paths the
    workers can read (output_dir: write). client: a dask.distributed.Client; None connects to
    `scheduler` (an address) when given, else starts a LocalCluster of `workers` processes (default
    one per core) for the call. Returns a FilesResult (tagged, tokens, skipped, failures); a file
    that fails is in its failures and the others go on. Raises WinnerError for a bad model, a
    pattern that names no file, outputs that would clash, an output directory that cannot be made
    or whose outputs another model or other formats made (with overwrite: that holds outputs of
    inputs not given), a scheduler that cannot be reached, or when Dask is not installed;
    an output directory made by the call is removed again if it holds no output at the end."""
    from winner import checkpoint

    distributed.require("winner.predict_files")
    fmt = check_formats(input_format, format)
    model_dir = os.path.abspath(getattr(model, "path", model))
    checkpoint.load(model_dir)  # a bad model is one error here, not one per task
    pairs = plan(expand(inputs), output_dir, fmt, input_root)
    wanted = tag_record.record(model_dir, input_format, fmt)
    with outdir.made(output_dir, "the output directory", clutter=(tag_record.RECORD,)) as made:
        result = FilesResult(made)
        existing = [output for _, output in pairs if output.exists()]
        if overwrite:
            _refuse_others(made, fmt, {output for _, output in pairs})
            tag_record.remove(made)  # until every output is replaced, none is known to be the new model's
        else:
            tag_record.check(made, wanted, existing)
            tag_record.write(made, wanted)
        pending = pairs if overwrite else [(source, output) for source, output in pairs if not output.exists()]
        result.skipped = len(pairs) - len(pending)
        for _, output in pending:
            _clear_leftovers(output)
        if pending:
            calls = [(model_dir, str(source), str(output), input_format, fmt, overwrite) for source, output in pending]
            _tag(calls, result, client, workers, scheduler, progress)
        if overwrite and not result.failures:
            tag_record.write(made, wanted)
    return result


def _size(path: Path) -> int:
    """A file's size in bytes; 0 for one gone since the glob (its task then fails with its error)."""
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _tag(arguments: list[tuple], result: FilesResult, client, workers, scheduler, progress: bool) -> None:
    """Run a tag_file task per tuple of its arguments and count their outcomes into result. Raises
    what distributed.outcomes raises (a WinnerError for a scheduler that cannot be reached)."""
    arguments = sorted(arguments, key=lambda args: -_size(Path(args[1])))  # largest first: the last to end are short
    calls = [(f"tag {Path(args[1]).name}", tag_file, args) for args in arguments]

    def status() -> dict:
        return {"tokens": f"{result.tokens:,}", "failed": len(result.failures)}

    for outcome in distributed.outcomes("winner.predict_files", calls, client, workers, scheduler, "file", progress,
                                        status):
        if outcome.error is None and outcome.result is None:
            result.skipped += 1
        elif outcome.error is None:
            result.tagged += 1
            result.tokens += outcome.result
        else:
            result.failures.append((arguments[outcome.index][1], outcome.error))
