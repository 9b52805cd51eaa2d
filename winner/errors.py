"""The one exception type users see, and the reading of user files (and checking of output
directories) that raises it.

The CLI prints a WinnerError's message as a single line.
"""

import contextlib
import os
from pathlib import Path


class WinnerError(Exception):
    """A problem with the user's input (file, config, model directory).

    The message says what is wrong and where (file and line, or config key);
    the CLI prints it on one line of stderr and exits with code 1.
    """


def where(path, line=None) -> str:
    """'path:line' or 'path', the prefix of every message about a file."""
    return f"{path}:{line}" if line is not None else f"{path}"


@contextlib.contextmanager
def _reading(path, what: str, hint: str = ""):
    """OSErrors of reading `path` as one WinnerError line: not found<hint>, a directory, unreadable."""
    try:
        yield
    except FileNotFoundError:
        raise WinnerError(f"{path}: {what} not found{hint}") from None
    except IsADirectoryError:
        raise WinnerError(f"{path}: is a directory, expected {'an' if what[:1] in 'aeiou' else 'a'} {what}") from None
    except OSError as exc:
        raise WinnerError(f"{path}: cannot read the {what} ({exc.strerror})") from None


def read_bytes(path, what: str = "file", hint: str = "") -> bytes:
    """A user's file, or a WinnerError: 'path: <what> not found<hint>', a directory, unreadable."""
    path = Path(path)
    with _reading(path, what, hint):
        return path.read_bytes()


def open_binary(path, what: str = "file"):
    """A user's file opened for reading as bytes (read as it comes), or read_bytes()'s WinnerError."""
    with _reading(path, what):
        return open(path, "rb")


def decode(data: bytes, path) -> str:
    """UTF-8 text (a byte-order mark is dropped), or a WinnerError naming the line of the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise WinnerError(f"{where(path, line)}: not valid UTF-8 (byte 0x{data[exc.start]:02x})") from None


def read_text(path, what: str = "file", hint: str = "") -> str:
    """Every text file winner reads from a user goes through here, so that no read ends in a traceback."""
    return decode(read_bytes(path, what, hint), path)


def require_output_dir(path, what: str) -> None:
    """Raise WinnerError when what is already on disk rules out writing to directory `path`, checked
    before any work whose results it would hold: '<what>: cannot write to PATH: PART is a file'
    (a file where a directory must be) or 'PART is not writable'. `what` names the setting, e.g.
    'configs/a.yaml: output.run_dir', "override 'output.run_dir=runs/x'" or '--out'. What only
    making the directory shows (a name too long, a file system that refuses it) is left to
    winner.outdir.made, which the callers then make it with."""
    path = Path(path)
    # os.path.exists, not Path.exists: False under a file, and for a name too long rather than an OSError,
    # so that creating the directory (winner.outdir.made) names that fault
    existing = next((p for p in (path, *path.parents) if os.path.exists(p)), None)
    if existing is None:
        return
    if not existing.is_dir():
        raise WinnerError(f"{what}: cannot write to {path}: {existing} is a file, not a directory")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise WinnerError(f"{what}: cannot write to {path}: {existing} is not writable")


# The rule for lines, in every file and stream winner reads: a line ends at \n (a \r just before it
# belongs to the line end), as editors and `wc -l` count lines. Python's str.splitlines() also ends
# lines at the characters below, which appear inside real words (in the Common Crawl GloVe files) and
# inside text pasted from word processors, and would shift every line number after them.
OTHER_LINE_BREAKS = "\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
BOM = "\ufeff"  # a UTF-8 byte-order mark: dropped before the first line, by the utf-8-sig codec


def lines(text: str) -> list[str]:
    """The lines of `text` without their line ends: split at \n only, a \r before it dropped.

    A final \n ends the last line rather than starting an empty one.
    """
    parts = text.split("\n")
    if parts[-1] == "":
        parts.pop()
    if "\r" in text:
        parts = [part[:-1] if part.endswith("\r") else part for part in parts]
    return parts


def line_end_removed(line: str) -> str:
    """A line as a text stream yields it (opened with newline="\n"), without its \n or \r\n."""
    if line.endswith("\n"):
        line = line[:-1]
        if line.endswith("\r"):
            line = line[:-1]
    return line


def open_text(path):
    """A large text file (.gz read through gzip) as a stream of lines in the line rule above:
    UTF-8, a byte-order mark dropped, lines ended at \n only (strip them with line_end_removed)."""
    import gzip
    import io

    if Path(path).suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="\n")
    return open(path, encoding="utf-8-sig", newline="\n")
