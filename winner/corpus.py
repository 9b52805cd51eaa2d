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

from winner import marks
from winner.errors import OTHER_LINE_BREAKS, WinnerError, decode, lines as text_lines, read_bytes, where
from winner.metrics import chunks

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


def _decode(path: Path) -> str:
    data = read_bytes(path, "CoNLL file")
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        raise WinnerError(f"{where(path, line)}: binary data (NUL byte), expected a UTF-8 CoNLL text file")
    return decode(data, path)


_INNER_BREAK = re.compile(f"[{OTHER_LINE_BREAKS.replace(chr(13), '')}]|\r(?!\n)")  # a \r\n ends a line
_NOT_SEPARATOR = re.compile(r"[^\S \t\n\r]")  # white space that does not separate columns (no-break space ...)


def _columns(line: str, tabbed: int, path, number: int) -> list[str]:
    """The columns of one stripped token line, the token first and the tag last.

    Columns are separated by tabs in a file that holds a tab (its first one on line `tabbed`, 0 for
    none), so that a token may hold spaces ('San Sebastian'); otherwise by runs of spaces, as
    conlleval separates them (a no-break space is part of a token). A line whose columns the two readings disagree on, and that neither
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


def _check_breaks(line: str, path, number: int) -> None:
    """A token line may not hold a character that other tools take for a line end (U+2028 ...)."""
    found = _INNER_BREAK.search(line)
    if found:
        raise WinnerError(f"{where(path, number)}: U+{ord(found.group()):04X} inside the line: winner ends lines "
                          f"only at \\n, and other tools would end one here; remove it or use a space")


def _renamed(tags: list[str], label_map: dict) -> list[str]:
    """The tags of one sentence with their entities renamed: the entities are found on the file's own
    tags (conlleval's rules), then given their new types and written in IOB2, so that the renaming never
    joins two entities nor splits one, whatever scheme the file is in."""
    out = ["O"] * len(tags)
    for kind, start, end in chunks(tags):
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
    ignored; columns are split as _columns says.
    """
    path = Path(path)
    label_map = label_map or {}
    sentences: list[Sentence] = []
    tokens: list[str] = []
    tags: list[str] = []
    doc, first_line = 0, 0
    prev = ("O", "")
    text = _decode(path)
    lines = text_lines(text)
    tabbed = text.count("\n", 0, text.find("\t")) + 1 if "\t" in text else 0
    check_breaks = _INNER_BREAK.search(text) is not None
    plain = not tabbed and not check_breaks and _NOT_SEPARATOR.search(text) is None  # str.split() is the rule
    renaming = False  # does the sentence hold a type the label map renames?

    def close(line_no: int) -> None:
        nonlocal tokens, tags, prev, renaming
        if scheme == "iobes" and prev[0] in ("B", "I"):
            raise WinnerError(f"{where(path, line_no)}: the entity {prev[0]}-{prev[1]} is not closed with E-{prev[1]}")
        if tokens:
            sentences.append(Sentence(tokens, _renamed(tags, label_map) if renaming else tags, doc, first_line))
        tokens, tags, prev, renaming = [], [], ("O", ""), False

    for number, line in enumerate(lines, start=1):
        if plain:
            columns = line.split()
        elif line.strip():
            line = line.strip()
            if check_breaks:
                _check_breaks(line, path, number)
            columns = _columns(line, tabbed, path, number)
        else:
            columns = []
        if not columns:
            close(number)
            continue
        if columns[0] == "-DOCSTART-":
            close(number)
            doc += 1 if sentences else 0
            continue
        if len(columns) < 2:
            raise WinnerError(f"{where(path, number)}: expected at least two columns (token ... tag), "
                              f"got '{line.strip()}'")
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
        renaming = renaming or parsed[1] in label_map
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


# Raw text -> tokens in the style of CoNLL-2003 (clitics split off, abbreviations kept).
# Combining marks and invisible format characters (winner/marks.py) belong to the character before
# them. The token pattern reads a piece with each one that follows a letter (or a mark that follows
# one) replaced by _JOINED, a letter nothing else in the pattern names, and each other one left out;
# every token then covers the marks after it (a mark that begins a piece, the first token). So
# 'Zu' + U+0308 + 'rich' is one word as 'Zürich' is, Devanagari, Arabic or Thai words are not cut at
# their vowel signs, and '’s' + U+0301 is not the clitic '’s' any more than '’ś' is.
_JOINED = "\ua7f8"  # MODIFIER LETTER CAPITAL H WITH STROKE: a letter, folds to no other
_TOKEN = re.compile(
    rf"""
      (?:[^\W\d_]{_JOINED}*\.){{2,}}          # abbreviations: U.S. , e.g.
    | n['’]t(?![^\W_])                    # clitic of don't, isn't
    | ['’](?:s|re|ve|ll|d|m)(?![^\W_])    # clitics: 's 're 've 'll 'd 'm
    | \d+(?:[.,:/-]\d+)*                  # numbers, times, dates: 3,000.50 10:30 1996-08-22
    | [^\W_]+?(?=n['’]t(?![^\W_]))        # the word before n't: do|n't
    | [^\W_]+(?:-[^\W_]+|['’](?!(?:s|re|ve|ll|d|m)(?![^\W_]))[^\W_]+)*  # words: well-known, O'Keeffe
    | \S                                  # any other single character
    """,
    re.VERBOSE | re.IGNORECASE,
)
_PIECE = re.compile(r"\S+")


@lru_cache(maxsize=None)
def _marks() -> re.Pattern:
    """The pattern of one mark, compiled the first time a piece that is not ASCII needs it (ASCII
    holds none, and the few milliseconds count at the start of every `winner predict`)."""
    return re.compile(f"[{marks.regex_class()}]")


def _has_marks(piece: str) -> bool:
    return not piece.isascii() and _marks().search(piece) is not None


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """Split raw text into (token, start, end) with character offsets into `text`."""
    return [(text[a:b], a, b) for a, b in spans(text)]


def spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) character offsets of tokenize(text)'s tokens.

    No token holds white space: the text is cut at white space first, and each piece
    is cut as _cut_spans says (a piece of letters only, or of digits only, is one token).
    """
    out: list[tuple[int, int]] = []
    for match in _PIECE.finditer(text):
        piece, start = match.group(), match.start()
        if piece.isalpha() or piece.isdecimal():
            out.append((start, match.end()))
        else:
            out += [(start + a, start + b) for a, b in _cut_spans(piece)]
    return out


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
    if not _has_marks(piece):
        return tuple(_TOKEN.findall(piece))
    return tuple(piece[a:b] for a, b in _cut_spans(piece))


@lru_cache(maxsize=1 << 16)
def _cut_spans(piece: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of the tokens of a piece without white space (see _JOINED)."""
    if not _has_marks(piece):
        return tuple(m.span() for m in _TOKEN.finditer(piece))
    mark = _marks().match
    read, at = [], []  # the piece as the pattern reads it, and where each of its characters stands
    base_is_letter = False
    for i, char in enumerate(piece):
        if mark(char) is None:
            base_is_letter = char.isalpha()
        elif not base_is_letter:
            continue
        else:
            char = _JOINED
        read.append(char)
        at.append(i)
    if not read:
        return ((0, len(piece)),)  # marks alone: one token
    at.append(len(piece))
    return tuple((at[a] if a else 0, at[b]) for a, b in (m.span() for m in _TOKEN.finditer("".join(read))))
