"""Helpers shared by several test files."""

from __future__ import annotations

from pathlib import Path

import pytest

from winner.errors import WinnerError


def error_message(call, *args, **kwargs) -> str:
    """Run `call`, check it raises a one-line WinnerError, return the message."""
    with pytest.raises(WinnerError) as excinfo:
        call(*args, **kwargs)
    message = str(excinfo.value)
    assert "\n" not in message and "\r" not in message, message
    return message


def snapshot(directory: Path) -> dict[str, bytes]:
    """Every file under a directory, by relative path, with its content."""
    return {str(p.relative_to(directory)): p.read_bytes() for p in sorted(directory.rglob("*")) if p.is_file()}
