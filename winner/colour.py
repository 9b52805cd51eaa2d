"""Terminal colour, only where it helps: a terminal on stdout and NO_COLOR unset.

Piped output stays plain text, byte for byte what the formats promise, so
scripts and tests never see an escape code. Plain ANSI codes are enough for
the few styles used here.
"""

from __future__ import annotations

import json
import os
from typing import Iterable, Iterator

GREEN, RED, BOLD, DIM = "32", "31", "1", "2"


def enabled(stream) -> bool:
    """Colour when the stream is a terminal, unless NO_COLOR is set (https://no-color.org) or TERM is dumb."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR") and os.environ.get("TERM") != "dumb"


def paint(text: str, *styles: str) -> str:
    return f"\x1b[{';'.join(styles)}m{text}\x1b[0m" if styles else text


def highlight(json_records: Iterable[str]) -> Iterator[str]:
    """predict's JSON records -> inline lines with each `[LOC ...]` mark in colour.

    Marks are placed from the entities' character offsets rather than found
    again in the inline text, which may itself contain brackets.
    """
    for record in json_records:
        parsed = json.loads(record)
        line, out, cursor = parsed["text"], [], 0
        for entity in parsed["entities"]:
            start, end = entity["start"], entity["end"]
            out += [line[cursor:start], paint(f"[{entity['label']} ", GREEN),
                    paint(line[start:end], BOLD, GREEN), paint("]", GREEN)]
            cursor = end
        out.append(line[cursor:])
        yield "".join(out) + "\n"
