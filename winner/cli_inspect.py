"""Command line of the commands that look inside a model or a run: `winner explain`, `winner gradcheck`
and `winner report`.

winner.cli registers them on its app (as it does winner.cli_many's sweep),
with its handling of errors: a WinnerError is one line on stderr and exit
code 1. Each calls the library (winner.explain, winner.selfcheck,
winner.report), imported inside the command, and prints its result.
"""

from __future__ import annotations

import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from winner.cli_common import DEFAULT_MODEL, err, not_a_file
from winner.errors import WinnerError


class ExplainFormat(str, Enum):
    text = "text"
    json = "json"


def explain(
    text: Optional[str] = typer.Argument(None, help="A sentence; omitted or '-': read one sentence per line from stdin."),
    model_dir: Path = typer.Option(Path(DEFAULT_MODEL), "--model", "-m", help="Model directory."),
    every_token: bool = typer.Option(False, "--all", help="Explain every token, not only those tagged as the class."),
    format: ExplainFormat = typer.Option(ExplainFormat.text, "--format", help="text: a table per token; json: one object per sentence."),
    chosen: Optional[str] = typer.Option(None, "--class", help="Softmax models: the class whose logit to explain (default the target type)."),
):
    """How much each word of a token's window pushed its score (a softmax model: a class's logit) up or
    down; the parts add up to it."""
    import json

    from winner import checkpoint, colour, stream
    from winner.explain import explain_lines, render_text

    not_a_file(text, "explain", f"to explain its lines give them on stdin: winner explain < {text}")
    loaded = checkpoint.load(model_dir)
    target = chosen or loaded.target
    h = loaded.featurizer.half_window
    sentences = explain_lines(loaded, [line for batch in stream.text_or_stdin(text) for line in batch],
                              every_token, target)
    threshold = float(loaded.thresholds[loaded.types.index(target)]) if target in loaded.types else None
    terminal, coloured = sys.stdout.isatty(), colour.enabled(sys.stdout)
    for i, sentence in enumerate(sentences):
        if format == ExplainFormat.json:
            typer.echo(json.dumps(sentence.as_dict(h, target, threshold), ensure_ascii=False))
        else:
            typer.echo(("\n" if i else "") + render_text(sentence, h, target, threshold, terminal, coloured), nl=False)


def gradcheck(
    config: Optional[Path] = typer.Argument(None, help="YAML config file; or give --model instead."),
    overrides: Optional[List[str]] = typer.Argument(None, help="section.key=value, e.g. model.hidden=10 for a quick check."),
    model_dir: Optional[Path] = typer.Option(None, "--model", help="Check a trained model directory instead of a config's initial parameters."),
    windows: int = typer.Option(2, "--windows", min=1, help="Windows in the batch: true windows with train.k corrupted ones each (max-margin), or windows (softmax)."),
    tolerance: float = typer.Option(1e-6, "--tolerance", min=0.0, help="Largest relative error that passes."),
):
    """Every analytic gradient of the loss against central differences, in float64; exit 1 on failure."""
    from winner.selfcheck import render_text, run_gradcheck

    if (config is None) == (model_dir is None):
        raise WinnerError("gradcheck: give a CONFIG or --model DIR (one of them)")
    check = run_gradcheck(config, overrides or [], model_dir, windows, tolerance, log=err)
    typer.echo(render_text(check), nl=False)
    if not check.passed:
        raise typer.Exit(1)


def report(
    run_dir: Path = typer.Argument(..., help="A run directory written by 'winner train', e.g. runs/default."),
    # a str, not a Path: a trailing '/' (a directory meant) is kept for winner.picture to refuse
    out: Optional[str] = typer.Option(None, "--out", help="Picture to write (default RUN_DIR/report.png); its "
                                                          "extension gives the format: .png, .pdf, .svg, ..."),
):
    """Summarise a training run; with matplotlib, also plot its curves and dev score distributions."""
    from winner.report import INSTALL_HINT, build

    summary, written = build(run_dir, out)
    typer.echo(summary, nl=False)
    if written is None:
        err(f"no plot: matplotlib is not installed ({INSTALL_HINT})")
    else:
        typer.echo(f"plot: {written}")
