"""Tagging text that is already tokenized: CoNLL lines in, the same lines out with the predicted tag
as a last column, ready for conlleval or seqeval beside the gold column.

The input is a CoNLL column file: a token first on each line, any other
columns after it (a gold tag, POS, chunk), blank lines between sentences,
`-DOCSTART-` lines between documents. Every line is kept as it is; a token
line gains its predicted IOB2 tag, a -DOCSTART- line gains O (so that every
line has the same number of columns, as conlleval requires), a blank line
stays blank. The tag is joined with a tab when the line already uses tabs,
with a space otherwise.

Scores are those of `winner eval`: the windows of whole sentences, document
consistency within each -DOCSTART- document (decode.document_consistency),
the model's threshold, and an entity is a maximal run of tokens above it
within a sentence. So conlleval or seqeval on this output count exactly the
entities that `winner eval` counts.
"""

from __future__ import annotations

from typing import Iterable, Iterator

import numpy as np

from winner import consistency, decode
from winner.checkpoint import LoadedModel
from winner.corpus import any_line_breaks, check_line_breaks, split_columns  # the reader's rules: eval's tokens
from winner.metrics import sentence_edges

DOCSTART = "-DOCSTART-"


def line_kind(line: str) -> str:
    """'blank', 'doc' (a -DOCSTART- line) or 'token'."""
    columns = line.split(None, 1)
    if not columns:
        return "blank"
    return "doc" if columns[0] == DOCSTART else "token"


def _token(line: str, name: str, number: int, tabbed: int, breaks: bool) -> str:
    """The token of a token line, its first column as corpus.read_conll reads it (a tab-separated
    token may hold spaces), with the reader's checks: a WinnerError at name:number for columns the
    reader would refuse, or (when `breaks` says the input holds one) a line break other tools see
    inside the line. tabbed: the input's first line with a tab, 0 for none yet."""
    line = line.strip()
    if breaks:
        check_line_breaks(line, name, number)
    return split_columns(line, tabbed, name, number)[0]


def tag_lines(loaded: LoadedModel, lines: list[str], processes: int = 1, name: str = "input", first: int = 1,
              tabbed: int = 0) -> str:
    """The lines (without line ends) with the predicted tag added, each ending in a line end.

    Sentences and documents are found as corpus.read_conll finds them, and
    its line rules hold; the lines must hold whole documents (tag_stream makes
    sure of it). processes: how many share out the scoring when there is
    enough of it (winner.fastscore). name, first: the input's name and the
    number of lines[0], as errors name them; tabbed: its first line with a
    tab (0: none), after which tabs separate the columns. Raises WinnerError
    for a line corpus.read_conll refuses for its columns or line breaks."""
    kinds = [line_kind(line) for line in lines]
    tokens, docs, lengths = [], [], []
    doc, length, breaks = 0, 0, any_line_breaks(lines)
    for number, (line, kind) in enumerate(zip(lines, kinds), start=first):
        if kind != "blank":
            token = _token(line, name, number, tabbed, breaks)
        if kind == "token":
            tokens.append(token)
            docs.append(doc)
            length += 1
            continue
        if length:
            lengths.append(length)
            length = 0
        if kind == "doc" and tokens:  # as read_conll: a new document once a sentence has been read
            doc += 1
    if length:
        lengths.append(length)
    tags = _predict(loaded, tokens, docs, np.array(lengths, np.int64), processes)
    out, position = [], 0
    for line, kind in zip(lines, kinds):
        if kind == "blank":
            out.append("\n")
            continue
        gap = "\t" if "\t" in line else " "
        if kind == "doc":
            out.append(f"{line.rstrip()}{gap}O\n")
        else:
            out.append(f"{line.rstrip()}{gap}{tags[position]}\n")
            position += 1
    return "".join(out)


def _predict(loaded: LoadedModel, tokens: list[str], docs: list[int], lengths: np.ndarray,
             processes: int = 1) -> list[str]:
    """(N,) IOB2 tags of the tokens of sentences laid end to end (lengths (S,)), as `winner eval` decides."""
    if not tokens:
        return []
    windows = loaded.featurizer.windows_flat(tokens, lengths)
    scores = loaded.type_scores(windows, processes)  # (N, T)
    scores = decode.smooth(scores, consistency.groups(tokens, docs), loaded.config.decode.document_consistency)
    labels = decode.decide(scores, loaded.thresholds)  # (N,) type index or decode.OUTSIDE
    starts, _, kinds = decode.entity_runs(labels, *sentence_edges(lengths))
    # code of each token: 0 O, 1 + 2t B-type t, 2 + 2t I-type t
    code = np.where(labels < 0, 0, 2 + 2 * labels)
    code[starts] = 1 + 2 * kinds
    names = np.array(["O", *(f"{prefix}-{kind}" for kind in loaded.types for prefix in "BI")], dtype=object)
    return names[code].tolist()


def tag_stream(loaded: LoadedModel, batches: Iterable[list[str]], processes: int = 1,
               name: str = "<stdin>") -> Iterator[str]:
    """tag_lines() of lines arriving in batches, one output string per unit that is complete: a
    document (its scores depend on the whole of it) when the model uses document consistency,
    otherwise every whole sentence, so that typed or streamed input is answered as it comes.
    name: the input, as errors name it. A file comes in one batch, so its first tab is known for
    all its lines, as corpus.read_conll knows it; in a stream, from the batch that holds it on."""
    per_sentence = loaded.config.decode.document_consistency == 0
    pending: list[str] = []
    first, tabbed = 1, 0  # the number of pending[0]; the first line with a tab
    for batch in batches:
        if not tabbed:
            tabbed = next((first + len(pending) + i for i, line in enumerate(batch) if "\t" in line), 0)
        pending += batch
        cut = _last_boundary(pending, per_sentence, len(pending) - len(batch))
        if cut:
            yield tag_lines(loaded, pending[:cut], processes, name, first, tabbed)
            pending, first = pending[cut:], first + cut
    if pending:
        yield tag_lines(loaded, pending, processes, name, first, tabbed)


def _last_boundary(lines: list[str], per_sentence: bool, since: int) -> int:
    """How many of the lines make whole units: up to and including the last blank line (per sentence),
    or up to the last -DOCSTART- line (per document); 0 when none is complete. Only lines[since:] are
    new, and the lines before them held no boundary."""
    for i in range(len(lines) - 1, since - 1, -1):
        kind = line_kind(lines[i])
        if kind == "doc":
            return i if not per_sentence else i + 1
        if kind == "blank" and per_sentence:
            return i + 1
    return 0
