"""The one exception type users see: the CLI prints its message as a single line."""


class WinnerError(Exception):
    """A problem with the user's input (file, config, model directory).

    The message says what is wrong and where (file and line, or config key);
    the CLI prints it on one line of stderr and exits with code 1.
    """


def where(path, line=None) -> str:
    """'path:line' or 'path', the prefix of every message about a file."""
    return f"{path}:{line}" if line is not None else f"{path}"
