"""Tagging a large input on several cores: forked processes take its pieces in turn.

Much of tagging's time is Python (cutting lines into tokens, their ids, the
gazetteers, writing the output), which one process runs on one core however
many threads it has, and the fast path's numpy calls are too short for
threads to gain (winner.fastscore). So a large input is shared out between
processes: once a batch arrives full (the input was there in bulk, not typed
line by line), the process forks `workers - 1` children, cuts every full
batch into pieces of PIECE lines and hands them round, itself included, in
turn. Each child sends back its pieces' output, and the parent hands on
every piece's output in the input's order. Forking after the model is loaded
shares it at no cost; each process builds its own token ids and cache of
rows.

A batch that is not full (a line typed at a terminal) is tagged at once in
the parent, after the output of every piece before it, so that it is
answered without waiting for more input. Without os.fork (Windows) or with
one worker, everything is tagged in the one process. A child ends when the
parent closes its pipe (also when the parent dies), and tags nothing else.
"""

from __future__ import annotations

import marshal
import os
import sys
from collections import deque
from typing import Callable, Iterable, Iterator, TypeVar

from winner.errors import WinnerError

T = TypeVar("T")
PIECE = 1024  # lines a process tags at a time: small enough to share out evenly, large enough to pay for sending


def tag_in_turn(batches: Iterable[list[str]], tag: Callable[[list[str]], T], workers: int,
                full: int) -> Iterator[T]:
    """tag(batch) for every batch of lines, in order (for a batch cut into pieces, tag(piece) for each
    piece: tag's results must add up piece by piece, as output text does); a batch of `full` lines or
    more marks bulk input, which `workers` processes share (see the module docstring). The results go
    through marshal: strings, numbers, and tuples and lists of them. Raises WinnerError when a child
    fails."""
    children: list[Child] = []
    waiting: deque = deque()  # per piece, in input order: (None, its result), or (the child tagging it, None)
    turns = 0
    try:
        for batch in batches:
            if len(batch) < full or workers < 2 or not hasattr(os, "fork"):
                yield from _drain(waiting)
                yield tag(batch)
                continue
            if not children:
                sys.stdout.flush()  # nothing of the parent's left in a buffer the children copy
                for _ in range(workers - 1):
                    children.append(Child(tag, children))
            for first in range(0, len(batch), PIECE):
                piece = batch[first: first + PIECE]
                turn = turns % workers
                turns += 1
                if turn < len(children):
                    children[turn].send(piece)
                    waiting.append((children[turn], None))
                else:  # the parent's turn: tag it here, then hand on what is done
                    waiting.append((None, tag(piece)))
                    yield from _drain(waiting)
        yield from _drain(waiting)
    finally:
        for child in children:
            child.close()


def _drain(waiting: deque) -> Iterator:
    """The result of every piece waiting, in order (a child's when it has sent it)."""
    while waiting:
        child, result = waiting.popleft()
        yield result if child is None else child.receive()


class Child:
    """A forked process that tags the pieces sent to it, one at a time, and sends back their output."""

    def __init__(self, tag: Callable[[list[str]], object], older: list[Child]):
        down_read, self.down = os.pipe()  # parent -> child: pieces
        self.up, up_write = os.pipe()  # child -> parent: outputs
        self.pid = os.fork()
        if self.pid == 0:  # the child: serve until the parent closes the pipe, then leave without cleanup
            for fd in [self.down, self.up, *(fd for child in older for fd in (child.down, child.up))]:
                os.close(fd)  # an older child's pipe held open here would never reach its end
            status = 0
            try:
                while (piece := _read(down_read)) is not None:
                    try:
                        _write(up_write, ("ok", tag(piece)))
                    except Exception as exc:  # noqa: BLE001: reported to the parent, which raises it
                        _write(up_write, ("error", f"{type(exc).__name__}: {exc}"))
            except BaseException:  # the parent has gone, or Ctrl-C reached the process group: just end
                status = 1
            os._exit(status)
        os.close(down_read)
        os.close(up_write)

    def send(self, piece: list[str]) -> None:
        _write(self.down, piece)

    def receive(self):
        message = _read(self.up)
        if message is None:
            raise WinnerError("predict: a tagging process ended unexpectedly")
        kind, text = message
        if kind == "error":
            raise WinnerError(f"predict: a tagging process failed: {text}")
        return text

    def close(self) -> None:
        for fd in (self.down, self.up):
            os.close(fd)
        os.waitpid(self.pid, 0)


def _write(fd: int, value) -> None:
    """value (lists, tuples and strings) as marshal's bytes after their length in 8 bytes."""
    data = marshal.dumps(value)
    view = memoryview(len(data).to_bytes(8, "little") + data)
    while view:
        view = view[os.write(fd, view):]


def _read(fd: int):
    """The next value _write sent, or None at the end of the pipe."""
    head = _read_exactly(fd, 8)
    body = None if head is None else _read_exactly(fd, int.from_bytes(head, "little"))
    return None if body is None else marshal.loads(body)


def _read_exactly(fd: int, size: int) -> bytes | None:
    chunks, left = [], size
    while left:
        chunk = os.read(fd, min(left, 1 << 20))
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
