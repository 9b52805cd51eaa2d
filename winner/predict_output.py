"""What `winner predict` writes for its input: one code path for stdout and for an output file.

`winner predict --input FILE` prints these strings; a many-file run
(winner.tag_files) writes the same strings of each input to its output file,
so both give the same bytes for the same input.
"""

from __future__ import annotations

from typing import Iterable, Iterator

from winner import stream
from winner.errors import WinnerError, lines, open_binary

INPUT_FORMATS = ("text", "conll")
FORMATS = ("inline", "conll", "json")


def check_formats(input_format: str, fmt: str | None) -> str:
    """The output format to use (inline, or conll for CoNLL input, when none is given); a WinnerError
    for a pair predict cannot write."""
    if input_format not in INPUT_FORMATS:
        raise WinnerError(f"--input-format '{input_format}': expected text or conll")
    if fmt is not None and fmt not in FORMATS:
        raise WinnerError(f"--format '{fmt}': expected inline, conll or json")
    if input_format == "conll" and fmt not in (None, "conll"):
        raise WinnerError(f"predict: --input-format conll writes CoNLL (the input's columns and the predicted tag); "
                          f"--format {fmt} is not available for it")
    return fmt or ("conll" if input_format == "conll" else "inline")


def file_batches(path, input_format: str) -> Iterator[list[str]]:
    """The lines of an input file in the batches predict tags them in: a CoNLL file in one batch (as
    `winner eval` scores a file), raw text 4,096 lines at a time (exactly as `winner predict < FILE`)."""
    if input_format == "conll":
        from winner.corpus import read_lines

        return iter([read_lines(path)])
    return stream.line_batches(open_binary(path, "input file"), name=str(path))


def outputs(model, batches: Iterable[list[str]], input_format: str, fmt: str,
            in_colour: bool = False, processes: int = 1, name: str = "<stdin>") -> Iterator[tuple[str, int]]:
    """(output text, tokens tagged) for each batch of lines, in order (raw text from several processes, a
    piece of a batch at a time: the text of a batch's pieces, one after the other, is the batch's). model:
    a winner.api.Model. in_colour: inline marks coloured for a terminal (winner.colour), from the JSON
    records' offsets. processes: how many share out raw text that arrives in bulk (winner.workers), or the
    scoring of a large CoNLL input (winner.fastscore). name: the input (a file, <stdin> or TEXT), as the
    errors of CoNLL lines name it."""
    if input_format == "conll":
        from winner.conll_tagging import line_kind, tag_stream

        for out in tag_stream(model.loaded, batches, processes, name):  # tokens counted by the tagger's line rule
            yield out, sum(1 for line in lines(out) if line_kind(line) == "token")
        return
    from winner import colour, workers
    from winner.tagger import render

    def tag(batch: list[str]) -> tuple[str, int]:
        tagged = model.tag_batch(batch)
        out = render(tagged, "json" if in_colour else fmt)
        return ("".join(colour.highlight(lines(out))) if in_colour else out), len(tagged.tokens)

    yield from workers.tag_in_turn(batches, tag, processes, full=stream.BATCH_LINES)
