"""Command line: winner train / eval / predict.

Each command parses its arguments, calls the library, and prints: progress and
logs to stderr, results to stdout. A WinnerError becomes one line on stderr
and exit code 1; Ctrl-C exits with 130. Heavy modules are imported inside
the commands so that `winner --help` and `winner predict` start quickly.
"""

from __future__ import annotations

import functools
import sys
from enum import Enum
from pathlib import Path
from typing import List, Optional

import typer

from winner.errors import WinnerError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Window-based location tagger: train, evaluate and run a max-margin window scorer.",
)

DEFAULT_MODEL = "runs/default/model-best"


def err(message: str) -> None:
    typer.echo(message, err=True)


def one_line(message: str) -> str:
    """Errors are one line even when they quote user input that holds line breaks."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


def user_errors(command):
    """Turn the errors a user can cause into one line on stderr and exit code 1."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except WinnerError as exc:
            err(f"error: {one_line(str(exc))}")
            raise typer.Exit(1) from None
        except KeyboardInterrupt:
            err("interrupted")
            raise typer.Exit(130) from None
        except BrokenPipeError:  # output piped into `head` and closed early
            sys.stderr.close()
            raise typer.Exit(0) from None

    return wrapper


class EvalFormat(str, Enum):
    text = "text"
    json = "json"


class PredictFormat(str, Enum):
    inline = "inline"
    conll = "conll"
    json = "json"


@app.command()
@user_errors
def train(
    config: Path = typer.Argument(..., help="YAML config file (see configs/default.yaml)."),
    overrides: Optional[List[str]] = typer.Argument(None, help="section.key=value, value parsed as YAML, e.g. train.lr=0.1"),
):
    """Train a model; keeps RUN_DIR/model-best, RUN_DIR/model-last and RUN_DIR/metrics.jsonl."""
    from winner.run import run_training

    best = run_training(config, overrides or [], log=err)
    typer.echo(best)


def _label_map(pairs: Optional[List[str]]) -> dict:
    mapping = {}
    for pair in pairs or []:
        source, sep, target = pair.partition("=")
        if not sep or not source or not target:
            raise WinnerError(f"--label-map '{pair}': expected CORPUS_TYPE=MODEL_TYPE, e.g. location=LOC")
        mapping[source] = target
    return mapping


@app.command("eval")
@user_errors
def evaluate(
    model_dir: Path = typer.Argument(..., help="A model directory, e.g. runs/default/model-best."),
    data_file: Path = typer.Argument(..., help="CoNLL file with gold tags in the last column."),
    format: EvalFormat = typer.Option(EvalFormat.text, "--format", help="text: conlleval-style report; json: one object."),
    label_map: Optional[List[str]] = typer.Option(None, "--label-map", help="CORPUS_TYPE=MODEL_TYPE, repeatable, e.g. location=LOC."),
    scheme: str = typer.Option("auto", "--scheme", help="Tag scheme of DATA_FILE: auto, iob1, iob2 or iobes."),
):
    """Entity-level precision, recall and F1 of a model on a CoNLL file (conlleval's rules)."""
    import json

    from winner.run import evaluate_file

    if scheme not in ("auto", "iob1", "iob2", "iobes"):
        raise WinnerError(f"--scheme '{scheme}': expected auto, iob1, iob2 or iobes")
    result = evaluate_file(model_dir, data_file, _label_map(label_map), scheme)
    if format == EvalFormat.json:
        typer.echo(json.dumps(result))
    else:
        from winner.metrics import Scores, report

        scores = Scores(**{k: result[k] for k in ("precision", "recall", "f1", "gold", "predicted", "correct")})
        typer.echo(report(scores, result["target"], result["tokens"], result["token_accuracy"]), nl=False)


@app.command()
@user_errors
def predict(
    text: Optional[str] = typer.Argument(None, help="A sentence; omitted or '-': read one sentence per line from stdin."),
    model_dir: Path = typer.Option(Path(DEFAULT_MODEL), "--model", help="Model directory."),
    format: PredictFormat = typer.Option(PredictFormat.inline, "--format", help="inline: [LOC Paris] marks; conll: token and tag per line; json: one object per line."),
):
    """Tag raw text: every token whose window scores above the model's threshold is a location."""
    from winner.tagger import predict_lines

    if text is None or text == "-":
        lines = (line.rstrip("\r\n") for line in sys.stdin)
    else:
        lines = iter(text.splitlines() or [""])
    for chunk in predict_lines(model_dir, lines, format.value):
        sys.stdout.write(chunk)
    sys.stdout.flush()


def main() -> None:
    """Console entry point: usage errors, like data errors, are one line and exit code 1."""
    try:
        code = app(standalone_mode=False)
    except Exception as exc:
        # Usage errors (missing argument, unknown option, bad choice) come from
        # typer's click layer, which typer has moved between releases; they are
        # recognised by their shape rather than by class.
        if not (hasattr(exc, "format_message") and hasattr(exc, "exit_code")):
            raise
        ctx = getattr(exc, "ctx", None)
        command = ctx.command_path if ctx is not None else "winner"
        message = " ".join(exc.format_message().split())
        if message:  # empty when `winner` alone has printed the help
            err(f"error: {message} (see '{command} --help')")
        code = 1
    sys.exit(code if isinstance(code, int) else 0)
