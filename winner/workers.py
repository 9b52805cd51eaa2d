"""Tagging a large input on several cores: forked processes share out its pieces.

Much of tagging's time is Python (cutting lines into tokens, their ids, the
gazetteers, writing the output), which one process runs on one core however
many threads it has, and the fast path's numpy calls are too short for
threads to gain (winner.fastscore). So a large input is shared out between
processes: once a batch arrives full (the input was there in bulk, not typed
line by line), the process forks `workers - 1` children and cuts every full
batch into pieces of PIECE lines. A piece goes to a child that has fewer than
AHEAD pieces in hand, else the parent tags it itself; the parent hands on
every piece's output in the input's order, as soon as it and those before
it are done. So no process waits on another in lockstep: a child that gets
less of a core (another program is running) is simply given fewer pieces,
and the parent, which also reads the input and writes the output, takes
fewer than the children. Forking after the model is loaded shares it at no
cost; each process builds its own token ids and cache of rows.

A thread per child reads its outputs as they come, so that a child never
waits to write one while the parent waits to send it the next piece (each
would wait for the other for ever once both pipes are full).

A batch that is not full (a line typed at a terminal) is tagged at once in
the parent, after the output of every piece before it, so that it is
answered without waiting for more input. Without os.fork (Windows) or with
one worker, everything is tagged in the one process. A child ends when the
parent closes its pipe (also when the parent dies), and tags nothing else.
"""

from __future__ import annotations

import marshal
import os
import queue
import sys
import threading
from collections import deque
from typing import Callable, Iterable, Iterator, TypeVar

from winner.errors import WinnerError

T = TypeVar("T")
PIECE = 1024  # lines a process tags at a time: small enough to share out evenly, large enough to pay for sending
AHEAD = 2  # pieces a child holds at most (one being tagged, one waiting), so that it never runs dry


def tag_in_turn(batches: Iterable[list[str]], tag: Callable[[list[str]], T], workers: int,
                full: int) -> Iterator[T]:
    """tag(batch) for every batch of lines, in order (for a batch cut into pieces, tag(piece) for each
    piece: tag's results must add up piece by piece, as output text does); a batch of `full` lines or
    more marks bulk input, which `workers` processes share (see the module docstring). The results go
    through marshal: strings, numbers, and tuples and lists of them. Raises WinnerError when a child
    fails."""
    children: list[Child] = []
    waiting: deque = deque()  # per piece, in input order: (None, its result), or (the child tagging it, None)
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
                for child in children:  # threads only once every child is forked: a fork copies no thread
                    child.start_reading()
            for first in range(0, len(batch), PIECE):
                piece = batch[first: first + PIECE]
                child = min(children, key=lambda c: (c.in_hand(), c.sent))  # the least busy, then the least given
                if child.in_hand() < AHEAD:
                    child.send(piece)
                    waiting.append((child, None))
                else:  # every child has its hands full: the parent tags this piece itself
                    waiting.append((None, tag(piece)))
                yield from _drain(waiting, ready_only=len(waiting) <= AHEAD * workers)
        yield from _drain(waiting)
    finally:
        for child in children:
            child.close()


def _drain(waiting: deque, ready_only: bool = False) -> Iterator:
    """The result of every piece waiting, in order (a child's when it has sent it); with ready_only,
    only as far as results are there without waiting."""
    while waiting:
        child, result = waiting[0]
        if child is not None and ready_only and not child.has_result():
            return
        waiting.popleft()
        yield result if child is None else child.receive()


class Child:
    """A forked process that tags the pieces sent to it, one at a time, and sends back their output."""

    def __init__(self, tag: Callable[[list[str]], object], older: list[Child]):
        down_read, self.down = os.pipe()  # parent -> child: pieces
        self.up, up_write = os.pipe()  # child -> parent: outputs
        self.sent = self.taken = 0  # pieces sent, and outputs taken by receive()
        self.outputs: queue.SimpleQueue = queue.SimpleQueue()  # messages read from `up`, None at its end
        self.reader: threading.Thread | None = None
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

    def start_reading(self) -> None:
        """Read the child's outputs into self.outputs as they come, on a thread of their own."""
        self.reader = threading.Thread(target=self._read_all, daemon=True, name=f"winner-child-{self.pid}")
        self.reader.start()

    def _read_all(self) -> None:
        try:
            while (message := _read(self.up)) is not None:
                self.outputs.put(message)
        except OSError:
            pass
        self.outputs.put(None)

    def in_hand(self) -> int:
        """Pieces sent whose output has not come back yet."""
        return self.sent - self.taken - self.outputs.qsize()

    def has_result(self) -> bool:
        return not self.outputs.empty()

    def send(self, piece: list[str]) -> None:
        self.sent += 1
        _write(self.down, piece)

    def receive(self):
        message = self.outputs.get()
        if message is None:
            self.outputs.put(None)  # the end stays the end for a later call
            raise WinnerError("predict: a tagging process ended unexpectedly")
        self.taken += 1
        kind, text = message
        if kind == "error":
            raise WinnerError(f"predict: a tagging process failed: {text}")
        return text

    def close(self) -> None:
        os.close(self.down)  # the child ends, and with it its end of `up`: the reader thread sees the end
        os.waitpid(self.pid, 0)
        if self.reader is not None:
            self.reader.join()
        os.close(self.up)


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
