"""What winner's command-line modules share (winner.cli, cli_many, cli_inspect): the default model, and
how an error line is written."""

from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from winner.errors import WinnerError

DEFAULT_MODEL = "runs/default/model-best"


def err(message: str) -> None:
    typer.echo(message, err=True)


def one_line(message: str) -> str:
    """Errors are one line even when they quote user input that holds line breaks."""
    return message.replace("\r", "\\r").replace("\n", "\\n")


def not_a_file(text: Optional[str], command: str, hint: str) -> None:
    """A TEXT argument that names an existing file is refused: it was surely meant to be read."""
    if text not in (None, "-") and Path(text).is_file():
        raise WinnerError(f"{command}: '{text}' is a file; {hint}")
