"""Command line of the two Dask operations: `winner predict --output-dir` (many files) and `winner sweep`
(many trainings).

winner.cli registers `sweep` on its app and hands `predict` here when
--output-dir is given; both check their options, call the library
(winner.tag_files, winner.sweeps) and print its result: the counts or the
table on stdout, each failed file or training and a summary line on stderr,
exit code 1 if any failed. Dask is imported only inside the library calls.
"""

from __future__ import annotations

from pathlib import Path
from typing import List, Optional

import typer

from winner.cli_common import err, one_line
from winner.errors import WinnerError


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def predict_files(text, model_dir: Path, inputs: List[str], input_format: str, fmt: str, output_dir: Path,
                  input_root, workers, scheduler, overwrite: bool) -> None:
    """predict --output-dir: every --input file tagged into DIR on Dask (winner.tag_files). Raises
    WinnerError for options that do not go together and for what predict_files raises."""
    from winner import distributed

    distributed.require("winner predict --output-dir")
    if text is not None:
        raise WinnerError(f"predict: --output-dir tags the --input files; TEXT '{text}' has no place there")
    if not inputs or "-" in inputs:
        raise WinnerError("predict: --output-dir needs --input FILE or GLOB (files, not stdin), e.g. "
                          "--input 'corpus/**/*.txt'")
    distributed.check_choice("predict", workers, scheduler)
    from winner.tag_files import predict_files as tag_many

    done = tag_many(model_dir, inputs, output_dir, workers=workers, scheduler=scheduler,
                    input_format=input_format, format=fmt, input_root=input_root, overwrite=overwrite)
    typer.echo(f"tagged {_count(done.tagged, 'file')} ({done.tokens:,} tokens) into {done.output_dir}"
               + (f"; skipped {done.skipped} whose output was there" if done.skipped else ""))
    for source, error in done.failures:  # named once: most errors name their file already
        err(f"error: {one_line(error if source in error else f'{source}: {error}')}")
    if done.failures:
        err(f"error: {len(done.failures)} of {_count(done.tagged + len(done.failures), 'file')} failed; run the same "
            f"command again to tag only those")
        raise typer.Exit(1)


def sweep(
    configs: List[Path] = typer.Argument(..., help="YAML config files; each config's runs go to OUT/<file stem>/."),
    seeds: str = typer.Option("0", "--seeds", help="Seeds to train each config with: 0,1,2 or 0-4."),
    out: Path = typer.Option(Path("runs/sweep"), "--out", help="Directory of the runs (OUT/NAME/seed-K) and of "
                                                                "the table (sweep.tsv, sweep.json)."),
    overrides: Optional[List[str]] = typer.Option(None, "--set", metavar="SECTION.KEY=VALUE",
                                                  help="An override for every config, repeatable, e.g. "
                                                       "--set train.epochs=5."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, metavar="N",
                                          help="Local worker processes, one training each at a time "
                                               "(default: one per core)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                            help="Run on the Dask cluster of this scheduler, e.g. "
                                                 "tcp://10.0.0.5:8786, instead of local processes."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Train again the runs that finished (by default "
                                                              "they are read and kept, if trained with the "
                                                              "settings given now)."),
):
    """Train every config with every seed, one Dask task each with one BLAS thread, and print the dev scores
    of all runs as one table. A run that finished before with the same settings is kept; a failed training
    is listed and the others go on (exit code 1 if any failed). Needs the dask extra."""
    from winner import distributed

    distributed.require("winner sweep")
    distributed.check_choice("sweep", workers, scheduler)
    from winner.sweeps import parse_seeds, render_text, sweep as run_sweep

    done = run_sweep([str(c) for c in configs], parse_seeds(seeds), out, overrides or [], workers=workers,
                     scheduler=scheduler, overwrite=overwrite)
    typer.echo(render_text(done), nl=False)
    notes = [f"{done.skipped} runs kept from before"] if done.skipped else []
    if len(done.table) > len(done.rows):  # rows of runs that failed now but still hold a finished run
        notes.append(f"it keeps the rows of {_count(len(done.table) - len(done.rows), 'run')} that failed now: "
                     f"their finished runs from before are still there")
    typer.echo(f"table: {done.out / 'sweep.tsv'}" + (f" ({'; '.join(notes)})" if notes else ""))
    if done.failures:
        err(f"error: {len(done.failures)} of {_count(len(done.failures) + len(done.rows), 'training')} failed "
            f"(listed above; a training's log: {done.out}/NAME/seed-K/train.log)")
        raise typer.Exit(1)
