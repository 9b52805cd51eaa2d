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
from functools import lru_cache
from pathlib import Path

from winner.errors import WinnerError, decode, read_bytes, where

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


def _decode_lines(path: Path) -> list[str]:
    data = read_bytes(path, "CoNLL file")
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        raise WinnerError(f"{where(path, line)}: binary data (NUL byte), expected a UTF-8 CoNLL text file")
    return decode(data, path).splitlines()


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
    chunk rules; a named scheme is also enforced, line by line.
    """
    path = Path(path)
    label_map = label_map or {}
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    doc, first_line = 0, 0
    prev = ("O", "")
    lines = _decode_lines(path)

    def close(line_no: int) -> None:
        nonlocal tokens, tags, prev
        if scheme == "iobes" and prev[0] in ("B", "I"):
            raise WinnerError(f"{where(path, line_no)}: the entity {prev[0]}-{prev[1]} is not closed with E-{prev[1]}")
        if tokens:
            sentences.append(Sentence(tokens, tags, doc, first_line))
        tokens, tags, prev = [], [], ("O", "")

    for number, line in enumerate(lines, start=1):
        columns = line.split()
        if not columns:
            close(number)
            continue
        if columns[0] == "-DOCSTART-":
            close(number)
            doc += 1 if sentences else 0
            continue
        if len(columns) < 2:
            raise WinnerError(f"{where(path, number)}: expected at least two columns (token ... tag), got '{line.strip()}'")
        tag = columns[-1]
        parsed = parse_tag(tag)
        if parsed is None:
            raise WinnerError(f"{where(path, number)}: malformed tag '{tag}' (expected O or B-, I-, E-, S- followed by a type)")
        if parsed[1] in label_map:
            parsed = (parsed[0], label_map[parsed[1]])
            tag = f"{parsed[0]}-{parsed[1]}"
        if scheme != "auto":
            problem = _scheme_error(scheme, prev, parsed)
            if problem:
                raise WinnerError(f"{where(path, number)}: tag '{columns[-1]}' does not follow {scheme.upper()}: {problem}")
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
    """Write sentences as two-column CoNLL (token, tag), one blank line between them."""
    lines: list[str] = []
    doc = None
    for sentence in sentences:
        if sentence.doc != doc:
            lines += ["-DOCSTART- O", ""]
            doc = sentence.doc
        lines += [f"{token} {tag}" for token, tag in zip(sentence.tokens, sentence.tags)]
        lines.append("")
    Path(path).write_text("\n".join(lines), encoding="utf-8")


# Raw text -> tokens in the style of CoNLL-2003 (clitics split off, abbreviations kept).
_TOKEN = re.compile(
    r"""
      (?:[^\W\d_]\.){2,}                  # abbreviations: U.S. , e.g.
    | n['’]t(?![^\W_])                    # clitic of don't, isn't
    | ['’](?:s|re|ve|ll|d|m)(?![^\W_])    # clitics: 's 're 've 'll 'd 'm
    | \d+(?:[.,:/-]\d+)*                  # numbers, times, dates: 3,000.50 10:30 1996-08-22
    | [^\W_]+?(?=n['’]t(?![^\W_]))        # the word before n't: do|n't
    | [^\W_]+(?:-[^\W_]+|['’](?!(?:s|re|ve|ll|d|m)(?![^\W_]))[^\W_]+)*  # words: well-known, O'Keeffe
    | \S                                  # any other single character
    """,
    re.VERBOSE | re.IGNORECASE,
)


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """Split raw text into (token, start, end) with character offsets into `text`."""
    return [(m.group(), m.start(), m.end()) for m in _TOKEN.finditer(text)]


def spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) character offsets of tokenize(text)'s tokens."""
    return [m.span() for m in _TOKEN.finditer(text)]


def split(text: str) -> list[str]:
    """The tokens of tokenize(text) without their offsets, several times faster.

    No token holds white space, so the text is cut at white space first; a
    piece of letters only, or of digits only, is one token as it stands, and
    only the others go through the pattern.
    """
    tokens: list[str] = []
    for piece in text.split():
        if piece.isalpha() or piece.isdecimal():
            tokens.append(piece)
        else:
            tokens += _cut(piece)
    return tokens


@lru_cache(maxsize=1 << 16)
def _cut(piece: str) -> tuple[str, ...]:
    """The tokens of a piece of text without white space. Pieces such as ',' and
    'Paris,' come back again and again, so the answers are kept."""
    return tuple(_TOKEN.findall(piece))
