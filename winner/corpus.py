"""Reading CoNLL column files and tokenizing raw text.

A CoNLL file has one token per line, the token in the first column and the
entity tag in the last; blank lines separate sentences and `-DOCSTART-` lines
separate documents. Tags follow IOB1, IOB2 or IOBES; the tag's type can be
renamed on reading (label_map), so a corpus that says `location` can train or
evaluate a model that says `LOC`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from winner.errors import OTHER_LINE_BREAKS, WinnerError, decode, lines, read_bytes, where
from winner.metrics import chunks
from winner.tokenizer import spans, split, tokenize  # noqa: F401  (raw text: winner/tokenizer.py)

PREFIXES = ("B", "I", "E", "S")


@dataclass
class Sentence:
    tokens: list[str]
    tags: list[str]
    doc: int = 0  # index of the -DOCSTART- document it belongs to
    line: int = 0  # line of its first token in the file (1-based)


def parse_tag(tag: str) -> tuple[str, str] | None:
    """'B-LOC' -> ('B', 'LOC'); 'O' -> ('O', ''); anything else -> None."""
    if tag == "O":
        return "O", ""
    prefix, sep, kind = tag.partition("-")
    if not sep or prefix not in PREFIXES or not kind:
        return None
    return prefix, kind


def read_lines(path: Path) -> list[str]:
    """The lines of a CoNLL file (winner.errors.lines); a WinnerError naming the line of a NUL byte
    (binary data) or of a byte that is not valid UTF-8."""
    data = read_bytes(path, "CoNLL file")
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        raise WinnerError(f"{where(path, line)}: binary data (NUL byte), expected a UTF-8 CoNLL text file")
    return lines(decode(data, path))


_INNER_BREAK = re.compile(f"[{OTHER_LINE_BREAKS}]")
_NOT_SEPARATOR = re.compile(r"[^\S \t]")  # white space that does not separate columns (no-break space ...)


def split_columns(line: str, tabbed: int, path, number: int) -> list[str]:
    """The columns of one stripped token line, the token first and the tag last.

    Columns are separated by tabs in a file that holds a tab (its first one on line `tabbed`, 0 for
    none), so that a token may hold spaces ('San Sebastian'); otherwise by runs of spaces and tabs,
    as conlleval separates them. A line whose columns the two readings disagree on, and that neither
    reading alone explains, is refused: winner does not guess where a token ends.
    """
    words = line.split() if _NOT_SEPARATOR.search(line) is None else re.split(r"[ \t]+", line)
    if "\t" not in line:
        if tabbed and len(words) > 2 and words[0] != "-DOCSTART-":
            raise WinnerError(f"{where(path, number)}: no tab in this line, but the file separates its columns "
                              f"with tabs (line {tabbed}): is '{' '.join(words[:-1])}' one token? "
                              f"Separate the columns with tabs")
        return words
    fields = [field.strip() for field in line.split("\t")]
    if fields[0] == words[0] and fields[-1] == words[-1]:
        return words
    if not _has_space(fields[-1]):
        return fields  # the token holds spaces: 'San Sebastian<TAB>B-LOC'
    if not _has_space(fields[0]):
        return [fields[0], *words[1:]]  # spaces and tabs both separate: 'Paris <TAB> NNP  I-LOC'
    raise WinnerError(f"{where(path, number)}: cannot tell the columns apart: both the first tab-separated "
                      f"column '{fields[0]}' and the last '{fields[-1]}' hold spaces")


def _has_space(text: str) -> bool:
    return " " in text or "\t" in text


def any_line_breaks(lines: list[str]) -> bool:
    """Does any of the lines hold a character that other tools take for a line end? (One search of
    them all: a file without one, nearly every file, needs no check line by line.)"""
    return _INNER_BREAK.search("\n".join(lines)) is not None


def check_line_breaks(line: str, path, number: int) -> None:
    """A token line may not hold a character that other tools take for a line end (U+2028 ...)."""
    found = _INNER_BREAK.search(line)
    if found:
        raise WinnerError(f"{where(path, number)}: U+{ord(found.group()):04X} inside the line: winner ends lines "
                          f"only at \\n, and other tools would end one here; remove it or use a space")


def _renamed(tags: list[str], label_map: dict) -> list[str]:
    """The tags of one sentence with their entities renamed: the entities are found on the file's own
    tags (conlleval's rules), then given their new types and written in IOB2, so that the renaming never
    joins two entities nor splits one, whatever scheme the file is in."""
    found = chunks(tags)
    if not any(kind in label_map for kind, _, _ in found):
        return tags
    out = ["O"] * len(tags)
    for kind, start, end in found:
        kind = label_map.get(kind, kind)
        out[start:end] = [f"B-{kind}"] + [f"I-{kind}"] * (end - start - 1)
    return out


def _scheme_error(scheme: str, prev: tuple[str, str], cur: tuple[str, str]) -> str | None:
    """Why the tag `cur` after `prev` breaks the declared scheme, or None."""
    (pp, pk), (cp, ck) = prev, cur
    if scheme in ("iob1", "iob2") and cp in ("E", "S"):
        return f"{cp}- tags belong to IOBES, not {scheme.upper()}"
    if scheme == "iob2" and cp == "I" and (pp == "O" or pk != ck):
        return f"an entity starts with I-{ck}; IOB2 starts every entity with B-"
    if scheme == "iobes":
        inside = pp in ("B", "I") and pk == ck
        if cp in ("I", "E") and not inside:
            return f"{cp}-{ck} does not continue a B-{ck} or I-{ck}"
        if cp in ("B", "S", "O") and pp in ("B", "I"):
            return f"the entity {pp}-{pk} before it is not closed with E-{pk}"
    return None


def read_conll(path, scheme: str = "auto", label_map: dict | None = None) -> list[Sentence]:
    """Read a CoNLL column file into sentences, checking every tag.

    With scheme 'auto' any mix of IOB1/IOB2/IOBES tags is read with conlleval's
    chunk rules; a named scheme is also enforced, line by line, on the file's own
    tags. label_map renames entity types after the entities are found (see _renamed).
    Lines end at \\n only (winner.errors.lines); white space at either end of a line is
    ignored; columns are split as split_columns says.
    """
    path = Path(path)
    label_map = label_map or {}
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    doc, first_line = 0, 0
    prev = ("O", "")
    lines = read_lines(path)
    text_has_tab = any("\t" in line for line in lines)
    tabbed = next(i for i, line in enumerate(lines, start=1) if "\t" in line) if text_has_tab else 0
    check_breaks = any_line_breaks(lines)

    def close(line_no: int) -> None:
        nonlocal tokens, tags, prev
        if scheme == "iobes" and prev[0] in ("B", "I"):
            raise WinnerError(f"{where(path, line_no)}: the entity {prev[0]}-{prev[1]} is not closed with E-{prev[1]}")
        if tokens:
            sentences.append(Sentence(tokens, _renamed(tags, label_map) if label_map else tags, doc, first_line))
        tokens, tags, prev = [], [], ("O", "")

    for number, line in enumerate(lines, start=1):
        line = line.strip()
        if not line:
            close(number)
            continue
        if check_breaks:
            check_line_breaks(line, path, number)
        columns = split_columns(line, tabbed, path, number)
        if columns[0] == "-DOCSTART-":
            close(number)
            doc += 1 if sentences else 0
            continue
        if len(columns) < 2:
            raise WinnerError(f"{where(path, number)}: expected at least two columns (token ... tag), got '{line}'")
        tag = columns[-1]
        parsed = parse_tag(tag)
        if parsed is None:
            raise WinnerError(f"{where(path, number)}: malformed tag '{tag}' (expected O or B-, I-, E-, S- followed by a type)")
        if scheme != "auto":
            problem = _scheme_error(scheme, prev, parsed)
            if problem:
                raise WinnerError(f"{where(path, number)}: tag '{tag}' does not follow {scheme.upper()}: {problem}")
        if not tokens:
            first_line = number
        tokens.append(columns[0])
        tags.append(tag)
        prev = parsed
    close(len(lines))
    if not sentences:
        raise WinnerError(f"{path}: no sentences (the file is empty or holds only -DOCSTART- lines)")
    return sentences


def write_conll(sentences: list[Sentence], path) -> None:
    """Write sentences as two-column CoNLL (token<TAB>tag), one blank line between them.

    Columns are separated by a tab, so that read_conll gives back a token that holds a
    space whole. A token that holds a tab or a line break could not be read back: WinnerError.
    """
    out: list[str] = []
    doc = None
    for sentence in sentences:
        if sentence.doc != doc:
            out += ["-DOCSTART-\tO", ""]
            doc = sentence.doc
        for token in sentence.tokens:
            if token != token.strip() or "\t" in token or "\n" in token or _INNER_BREAK.search(token):
                raise WinnerError(f"{path}: cannot write the token {token!r}: a CoNLL token may not hold a tab "
                                  f"or a line break, nor begin or end with white space")
        out += [f"{token}\t{tag}" for token, tag in zip(sentence.tokens, sentence.tags)]
        out.append("")
    Path(path).write_text("\n".join(out), encoding="utf-8")
