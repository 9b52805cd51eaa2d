"""Command line: winner train / eval / predict / ensemble / sweep, and explain / gradcheck / report to see inside.

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

from winner import cli_inspect, cli_many
from winner.cli_common import DEFAULT_MODEL, err, not_a_file, one_line
from winner.errors import WinnerError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
    help="Window-based named-entity tagger: train (max-margin or softmax), evaluate and run a window network.",
)


def _print_version(value: bool) -> None:
    if value:
        from winner import __version__

        typer.echo(f"winner {__version__}")
        raise typer.Exit()


@app.callback()
def options(
    ctx: typer.Context,
    threads: Optional[int] = typer.Option(
        None, "--threads", envvar="WINNER_THREADS", min=1,
        help="BLAS threads for the matrix products (default: OPENBLAS_NUM_THREADS, MKL_NUM_THREADS or "
             "OMP_NUM_THREADS if set, else 1); for predict and eval, processes for tagging large input and "
             "scoring a large file, one BLAS thread each (default: the same variables if set, else every core)."),
    version: bool = typer.Option(False, "--version", is_eager=True, callback=_print_version,
                                 help="Print winner's version and exit."),
):
    """Window-based named-entity tagger: train (max-margin or softmax), evaluate and run a window network."""
    from winner import threads as blas_threads

    # before numpy loads: the commands import it only after this
    blas_threads.configure(threads, tagging=ctx.invoked_subcommand in blas_threads.TAGGING)


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
    resume: bool = typer.Option(False, "--resume", help="Continue RUN_DIR/model-last where it stopped (same settings; "
                                                        "train.epochs and train.patience may change)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace the run RUN_DIR holds (its model-best, "
                                                              "model-last and metrics.jsonl); without it, or "
                                                              "--resume, such a RUN_DIR is refused."),
    seeds: Optional[str] = typer.Option(None, "--seeds", metavar="0,1,2",
                                        help="Train one model per seed into RUN_DIR/members/seed-K and save "
                                             "their ensemble (the mean of their scores) as RUN_DIR/model-best."),
):
    """Train a model; keeps RUN_DIR/model-best, RUN_DIR/model-last and RUN_DIR/metrics.jsonl.

    Ctrl-C stops at the end of the current step, saves model-last and exits with 130.
    """
    from winner import api

    if seeds is None:
        typer.echo(api.train_model(config, overrides or [], resume=resume, overwrite=overwrite, log=err).summary)
        return
    from winner.members import parse_seeds

    built = api.train_ensemble(config, parse_seeds(seeds), overrides or [], resume=resume, overwrite=overwrite, log=err)
    typer.echo(built.summary)


@app.command()
@user_errors
def ensemble(
    model_dirs: List[Path] = typer.Argument(..., help="Model directories trained from one config with different train.seed."),
    out: Path = typer.Option(..., "--out", help="The ensemble's model directory to write."),
    dev: Optional[Path] = typer.Option(None, "--dev", help="CoNLL file that picks the thresholds (default: the members' data.dev)."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace OUT if it exists."),
):
    """Merge trained models into one ensemble model whose scores are the mean of theirs."""
    from winner import api

    built = api.build_ensemble(model_dirs, out, dev, overwrite, log=err)
    err(built.table().rstrip("\n"))
    typer.echo(built.summary)


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
    errors: Optional[int] = typer.Option(None, "--errors", min=0, metavar="N", help="Also list up to N false positives and N false negatives, most confident first."),
    allow_no_gold: bool = typer.Option(False, "--allow-no-gold", help="Score DATA_FILE even if it holds no gold entity of the model's type (otherwise an error)."),
    breakdown: bool = typer.Option(False, "--breakdown", help="Also score slices: entities whose string the model saw as the target in training or not, and sentences in mixed case, lower case, upper case. A slice's recall counts its gold entities, its precision the predicted entities whose own string and sentence fall in it."),
    casing: Optional[str] = typer.Option(None, "--casing", metavar="lower|upper", help="Put every token of DATA_FILE in lower or upper case before tagging."),
):
    """Entity-level precision, recall and F1 of a model on a CoNLL file (conlleval's rules): all the
    model's entity types together, then each type. --errors lists the target type's mistakes."""
    import json

    from winner import scoring, threads
    from winner.casing import RECASINGS
    from winner.config_values import SCHEMES

    if scheme not in SCHEMES:
        raise WinnerError(f"--scheme '{scheme}': expected {', '.join(SCHEMES[:-1])} or {SCHEMES[-1]}")
    if casing is not None and casing not in RECASINGS:
        raise WinnerError(f"--casing '{casing}': expected {' or '.join(RECASINGS)}")
    scored = scoring.score_file(model_dir, data_file, _label_map(label_map), scheme, allow_no_gold, casing,
                                threads.for_tagging())
    result = scoring.evaluate(scored)
    found = sliced = None
    if errors is not None:
        from winner import mistakes

        found = mistakes.find(scored, errors)
    if breakdown:
        from winner import breakdown as slices

        sliced = slices.breakdown(scored, scored.labels == scored.dev.target, slices.read_names(model_dir))
    if format == EvalFormat.json:
        if found is not None:
            result.update(false_positives=[m.as_dict() for m in found.false_positives],
                          false_negatives=[m.as_dict() for m in found.false_negatives])
        if sliced is not None:
            result["breakdown"] = sliced
            if sliced["seen_in_training"] is None:
                result["breakdown"]["seen_in_training_unavailable"] = slices.unavailable(model_dir)
        typer.echo(json.dumps(result))
    else:
        from winner.metrics import Scores, report

        keys = ("precision", "recall", "f1", "gold", "predicted", "correct")
        per_type = {kind: Scores(**{k: values[k] for k in keys}) for kind, values in result["types"].items()}
        overall = Scores(**{k: result[k] for k in keys})
        typer.echo(report(overall, per_type, result["tokens"], result["token_accuracy"]), nl=False)
        if sliced is not None:
            typer.echo(slices.render_text(sliced, result["target"], slices.unavailable(model_dir)), nl=False)
        if found is not None:
            typer.echo(mistakes.render_text(found, data_file), nl=False)


class InputFormat(str, Enum):
    text = "text"
    conll = "conll"


@app.command()
@user_errors
def predict(
    text: Optional[str] = typer.Argument(None, help="A sentence to tag; omitted or '-': read stdin, line by line. "
                                                    "A file is read with --input FILE, never tagged as text."),
    model_dir: Path = typer.Option(Path(DEFAULT_MODEL), "--model", "-m", help="Model directory."),
    inputs: Optional[List[str]] = typer.Option(None, "--input", "-i", metavar="FILE",
                                               help="Read FILE ('-': stdin) instead of TEXT. With --output-dir: "
                                                    "files or globs ('corpus/**/*.txt'), repeatable."),
    input_format: InputFormat = typer.Option(InputFormat.text, "--input-format",
                                             help="text: one raw sentence per line, tokenized by winner; "
                                                  "conll: a CoNLL column file, tokens kept as they are."),
    format: Optional[PredictFormat] = typer.Option(None, "--format", "-f",
                                                   help="inline: [LOC Paris] marks; conll: token and tag per line; "
                                                        "json: one object per line. With --input-format conll: "
                                                        "conll only, the input's columns plus the predicted tag."),
    output_dir: Optional[Path] = typer.Option(None, "--output-dir", "-o", metavar="DIR",
                                              help="Tag every --input file into DIR, one output per input at the "
                                                   "same relative path (extension .txt, .conll or .jsonl by "
                                                   "--format), one Dask task per file; outputs that exist are "
                                                   "skipped. Needs the dask extra."),
    input_root: Optional[Path] = typer.Option(None, "--input-root", metavar="DIR",
                                              help="With --output-dir: input paths are taken relative to DIR "
                                                   "(default: the inputs' common directory)."),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, metavar="N",
                                          help="With --output-dir: local worker processes (default: one per core)."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                            help="With --output-dir: run on the Dask cluster of this scheduler, "
                                                 "e.g. tcp://10.0.0.5:8786, instead of local processes."),
    overwrite: bool = typer.Option(False, "--overwrite", help="With --output-dir: tag every input again, replacing "
                                                              "outputs that another model or --format made."),
):
    """Tag text: a token whose window scores above the model's threshold is an entity (with several
    types, of the likeliest type that clears its threshold)."""
    from winner import api, colour, predict_output, stream, threads

    fmt = predict_output.check_formats(input_format.value, format.value if format else None)
    if output_dir is not None:
        return cli_many.predict_files(text, model_dir, inputs or [], input_format.value, fmt, output_dir, input_root,
                                      workers, scheduler, overwrite)
    for name, value in (("--input-root", input_root), ("--workers", workers), ("--scheduler", scheduler),
                        ("--overwrite", overwrite or None)):
        if value is not None:
            raise WinnerError(f"predict: {name} goes with --output-dir DIR (tagging many files)")
    if inputs and len(inputs) > 1:
        raise WinnerError(f"predict: {len(inputs)} --input files need --output-dir DIR to write their outputs to")
    input = inputs[0] if inputs else None
    if text not in (None, "-") and input is not None:
        raise WinnerError(f"predict: give TEXT or --input {input}, not both")
    not_a_file(text, "predict", f"to tag its lines use --input {text} (add --input-format conll for a CoNLL file)")
    model = api.load(model_dir)
    if input not in (None, "-"):
        batches = predict_output.file_batches(input, input_format.value)  # as --output-dir tags each file
    else:
        batches = stream.text_or_stdin(text)
    # On a terminal the inline marks are coloured; piped, the output is exactly what --output-dir writes.
    in_colour = fmt == "inline" and input_format == InputFormat.text and colour.enabled(sys.stdout)
    name = str(input) if input not in (None, "-") else "TEXT" if text not in (None, "-") else "<stdin>"
    for out, _ in predict_output.outputs(model, batches, input_format.value, fmt, in_colour, threads.for_tagging(),
                                         name):
        sys.stdout.write(out)  # written as each batch is done, so a line typed or streamed in is answered at once
        sys.stdout.flush()


app.command()(user_errors(cli_many.sweep))  # winner sweep, defined with many-file predict


# winner explain, gradcheck and report: the commands that look inside a model or run
app.command()(user_errors(cli_inspect.explain))
app.command()(user_errors(cli_inspect.gradcheck))
app.command()(user_errors(cli_inspect.report))


def main() -> None:
    """Console entry point: usage errors, like data errors, are one line and exit code 1."""
    try:
        code = app(standalone_mode=False, prog_name="winner")
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
