"""The one exception type users see, and the reading of user files that raises it.

The CLI prints a WinnerError's message as a single line.
"""

from pathlib import Path


class WinnerError(Exception):
    """A problem with the user's input (file, config, model directory).

    The message says what is wrong and where (file and line, or config key);
    the CLI prints it on one line of stderr and exits with code 1.
    """


def where(path, line=None) -> str:
    """'path:line' or 'path', the prefix of every message about a file."""
    return f"{path}:{line}" if line is not None else f"{path}"


def read_bytes(path, what: str = "file", hint: str = "") -> bytes:
    """A user's file, or a WinnerError: 'path: <what> not found<hint>', a directory, unreadable."""
    path = Path(path)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise WinnerError(f"{path}: {what} not found{hint}") from None
    except IsADirectoryError:
        raise WinnerError(f"{path}: is a directory, expected a {what}") from None
    except OSError as exc:
        raise WinnerError(f"{path}: cannot read the {what} ({exc.strerror})") from None


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
