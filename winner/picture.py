"""Where `winner report` writes its picture: --out checked before any work, the format read from the
file's extension as matplotlib's savefig reads it, and the file written whole or not at all.

matplotlib (the optional plot extra) is imported only here and in winner.report's drawing, and only
when it is installed: without it no picture is drawn and --out is not looked at.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from winner.errors import WinnerError, require_output_dir

# A name without an extension is written as PNG, under the name with .png added: what matplotlib's
# savefig does by default (the path printed is then the one written).
DEFAULT_FORMAT = "png"


def available() -> bool:
    """Is matplotlib installed (can a picture be drawn)?"""
    try:
        import matplotlib  # noqa: F401  (the optional extra)
    except ImportError:
        return False
    return True


def formats() -> list[str]:
    """The extensions matplotlib can write a figure as (png, pdf, svg, ...), sorted; needs matplotlib."""
    from matplotlib.figure import Figure

    return sorted(Figure().canvas.get_supported_filetypes())


def target(out) -> tuple[Path, str]:
    """(the file to write, its format) for --out `out` (a str keeps a trailing '/', which says a directory).

    The format is the extension, in any case; a name without one gets .png (DEFAULT_FORMAT).
    Raises WinnerError '--out OUT: ...' for a directory (an existing one, or a name ending in '/'),
    an extension matplotlib cannot write (naming those it can), or a file in the path or a
    directory that cannot be written (winner.errors.require_output_dir). Needs matplotlib."""
    text = os.fspath(out)
    path = Path(text)
    if path.is_dir() or text.endswith(("/", os.sep)):
        raise _directory(text, path, "is" if path.is_dir() else "names")
    extension = path.suffix[1:].lower()
    if not extension:
        path, extension = path.with_name(f"{path.name}.{DEFAULT_FORMAT}"), DEFAULT_FORMAT
        if path.is_dir():
            raise _directory(text, path, f"with .{DEFAULT_FORMAT} added, {path}, is")
    known = formats()
    if extension not in known:
        raise WinnerError(f"--out {text}: matplotlib cannot write .{extension} files; end the name in one of "
                          f"{', '.join('.' + k for k in known)}")
    require_output_dir(path.parent, f"--out {text}")
    return path, extension


def _directory(text: str, path: Path, verb: str) -> WinnerError:
    return WinnerError(f"--out {text}: {verb} a directory; name the picture's file, e.g. --out {path / 'report.png'}")


def save(figure, path: Path, format: str) -> None:
    """Write `figure` to `path` through a hidden temporary file beside it and a rename, so that a
    failed write leaves any file there as it was. Raises WinnerError '--out PATH: cannot write the
    picture (reason)' for what the file system or matplotlib refuses (a pgf file without LaTeX, say)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        figure.savefig(tmp, format=format, dpi=100)
        os.replace(tmp, path)
    except (OSError, RuntimeError, ValueError) as exc:  # RuntimeError: a TeX system pgf needs is missing
        raise WinnerError(f"--out {path}: cannot write the picture ({getattr(exc, 'strerror', None) or exc})") \
            from None
    finally:
        with contextlib.suppress(OSError):  # gone once renamed; never made when the directory could not be
            tmp.unlink()
