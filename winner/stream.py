"""Lines of a stream in batches of what has already arrived.

Tagging pays per batch, not per line, so bulk input is best read 4,096 lines
at a time; but a person typing at a terminal, or `tail -f log | winner
predict`, needs each line answered when it arrives. Both hold when a batch is
what the stream has ready: the bytes are read with os.read on the file
descriptor as they come, and a batch is handed on as soon as the next read
would wait (select says the descriptor is not readable) or it holds `limit`
lines. A regular file is always readable, so it is read in full batches, as
before; a line typed at a terminal is answered at once.

Lines end at \\n only (a \\r before it is dropped), as in every file winner
reads (winner.errors.lines); a byte-order mark before the first line is
dropped. A byte that is not valid UTF-8, or a NUL byte (binary data), is a
WinnerError naming the line, as in every other file winner reads: text
tagged with a stand-in character would give tokens and windows the user
never wrote.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import select
from typing import Iterator

from winner import errors
from winner.errors import BOM, WinnerError, where

READ_SIZE = 1 << 16  # bytes per os.read
_ESCAPED_BYTE = re.compile("[\udc80-\udcff]")  # how surrogateescape writes a byte argv held that is not UTF-8
BATCH_LINES = 4096  # lines a batch holds at most


def _ready(fd: int) -> bool:
    """Can fd be read without waiting?"""
    try:
        return bool(select.select([fd], [], [], 0)[0])
    except (OSError, ValueError):  # select cannot watch this descriptor: reading will not wait for long
        return True


def _chunks(stream) -> Iterator[tuple[bytes, bool]]:
    """(bytes, more_ready) as they arrive: more_ready says whether another read would return at once.
    Ends at end of input."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, io.UnsupportedOperation):
        fd = None
    if fd is None:  # an in-memory stream (tests, embedding programs): everything is there already
        buffer = getattr(stream, "buffer", stream)
        read = getattr(buffer, "read1", buffer.read)
        while data := read(READ_SIZE):
            yield (data if isinstance(data, bytes) else data.encode("utf-8")), True
        return
    while data := os.read(fd, READ_SIZE):
        yield data, _ready(fd)


def _checked(data: bytes, decoder, name: str, line: int, final: bool = False) -> str:
    """The text of `data`, after the bytes `decoder` holds from the read before it; a WinnerError at
    `name`:LINE for a byte that is not valid UTF-8 or a NUL byte. line: the line `data` begins in."""
    held = decoder.getstate()[0]
    try:
        text = decoder.decode(data, final)
    except UnicodeDecodeError as exc:  # its offsets count the held bytes too
        both = held + data
        bad = line + both.count(b"\n", 0, exc.start)
        raise WinnerError(f"{where(name, bad)}: not valid UTF-8 (byte 0x{both[exc.start]:02x})") from None
    nul = text.find("\0")
    if nul >= 0:
        bad = line + text.count("\n", 0, nul)
        raise WinnerError(f"{where(name, bad)}: binary data (NUL byte), expected UTF-8 text")
    return text


def line_batches(stream, limit: int = BATCH_LINES, name: str = "<stdin>") -> Iterator[list[str]]:
    """The stream's lines without their line ends, in lists of at most `limit`, each handed on as
    soon as no more input is ready. A last line without a line end is a line too. name: the stream's
    file, as errors name it. Raises WinnerError '<name>:<line>: ...' for a byte that is not valid
    UTF-8 or a NUL byte."""
    decoder = codecs.getincrementaldecoder("utf-8")()  # a character cut between reads waits for the next
    lines: list[str] = []
    partial, first, line = "", True, 1  # line: the line the next read begins in
    for data, more_ready in _chunks(stream):
        text = _checked(data, decoder, name, line)
        line += data.count(b"\n")
        if first and text:
            text, first = text.removeprefix(BOM), False
        pieces = (partial + text).split("\n")
        partial = pieces.pop()
        lines += [piece.removesuffix("\r") for piece in pieces] if "\r" in text else pieces
        while len(lines) >= limit:
            yield lines[:limit]
            lines = lines[limit:]
        if lines and not more_ready:
            yield lines
            lines = []
    partial += _checked(b"", decoder, name, line, final=True)
    if partial:
        lines.append(partial.removeprefix(BOM) if first else partial)
    while lines:
        yield lines[:limit]
        lines = lines[limit:]


def text_batches(text: str, limit: int = BATCH_LINES) -> Iterator[list[str]]:
    """The lines of a string, as winner.errors.lines cuts them (a byte-order mark first dropped), in
    lists of at most `limit`; an empty string is one empty line. Raises WinnerError for a byte that
    was not valid UTF-8 in a command-line argument (Python reads it as a lone surrogate, PEP 383)."""
    escaped = _ESCAPED_BYTE.search(text)
    if escaped:
        line = text.count("\n", 0, escaped.start()) + 1
        raise WinnerError(f"{where('TEXT', line)}: not valid UTF-8 (byte 0x{ord(escaped.group()) - 0xDC00:02x})")
    lines = errors.lines(text.removeprefix(BOM)) or [""]
    for start in range(0, len(lines), limit):
        yield lines[start: start + limit]


def text_or_stdin(text: str | None, limit: int = BATCH_LINES) -> Iterator[list[str]]:
    """Batches of the lines of a TEXT argument, or of stdin's when TEXT is omitted or '-' (predict, explain)."""
    import sys

    return text_batches(text, limit) if text not in (None, "-") else line_batches(sys.stdin, limit)
