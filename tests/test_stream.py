"""winner.stream: stdin lines in batches of what has arrived, with every reader's line rule."""

from __future__ import annotations

import io
import os

import pytest

from winner import stream
from winner.errors import WinnerError


def batches_of(data: bytes, limit: int = 4096, tmp_path=None) -> list[list[str]]:
    """line_batches() of the bytes read from a real file descriptor (a regular file)."""
    path = tmp_path / "input.txt"
    path.write_bytes(data)
    with open(path, "rb") as handle:
        return list(stream.line_batches(handle, limit))


def test_a_regular_file_is_read_in_full_batches(tmp_path):
    """A file is always ready, so bulk input keeps the batches of 4,096 lines."""
    data = b"".join(b"line number %d\n" % i for i in range(10_000))
    assert len(data) > 2 * stream.READ_SIZE  # several reads
    got = batches_of(data, 4096, tmp_path)
    assert [len(b) for b in got] == [4096, 4096, 10_000 - 2 * 4096]
    assert [line for b in got for line in b] == [f"line number {i}" for i in range(10_000)]


def test_a_pipe_hands_on_what_has_arrived_without_waiting_for_more():
    read_end, write_end = os.pipe()
    try:
        os.write(write_end, b"first line\nsecond")
        with open(read_end, "rb", buffering=0, closefd=False) as handle:
            batches = stream.line_batches(handle)
            assert next(batches) == ["first line"]  # the unfinished line waits; nothing else blocks
            os.write(write_end, b" line\n")
            assert next(batches) == ["second line"]
            os.close(write_end)
            write_end = None
            assert list(batches) == []
    finally:
        os.close(read_end)
        if write_end is not None:
            os.close(write_end)


@pytest.mark.parametrize("data, lines", [
    (b"a\r\nb\n", ["a", "b"]),
    (b"a\rb\n", ["a\rb"]),  # a lone \r ends no line (winner.errors.lines)
    (b"a\xe2\x80\xa8b\n", ["a\u2028b"]),  # nor does U+2028
    (b"\xef\xbb\xbfa\nb", ["a", "b"]),  # byte-order mark dropped; a last line without its \n is a line
    (b"\n\n", ["", ""]),
    (b"", []),
], ids=["crlf", "lone-cr", "u2028", "bom-and-last-line", "empty-lines", "nothing"])
def test_line_rule(tmp_path, data, lines):
    assert [line for b in batches_of(data, 4096, tmp_path) for line in b] == lines


def test_a_character_cut_between_two_reads_is_decoded_whole(tmp_path):
    data = b"x" * (stream.READ_SIZE - 1) + "é\n".encode() + b"end\n"
    [batch] = batches_of(data, 4096, tmp_path)
    assert batch == ["x" * (stream.READ_SIZE - 1) + "é", "end"]


CUT = stream.READ_SIZE - 1  # a two-byte character begun at the end of one read and ended in the next


@pytest.mark.parametrize("data, message", [
    (b"caf\xe9\n", "input.txt:1: not valid UTF-8 (byte 0xe9)"),
    (b"a\nb\n\ncaf\xe9 in Paris\n", "input.txt:4: not valid UTF-8 (byte 0xe9)"),
    (b"a\n" * 40_000 + b"\xff\n", "input.txt:40001: not valid UTF-8 (byte 0xff)"),  # in a later read
    (b"x" * CUT + b"\xc3(\n", "input.txt:1: not valid UTF-8 (byte 0xc3)"),  # its second byte is not one
    (b"x\n" + b"\xc3", "input.txt:2: not valid UTF-8 (byte 0xc3)"),  # the input ends inside a character
    (b"a\nb\x00c\n", "input.txt:2: binary data (NUL byte), expected UTF-8 text"),
], ids=["first-line", "fourth-line", "later-read", "cut-character", "unfinished", "nul"])
def test_bytes_that_are_not_utf8_text_are_an_error_naming_the_line(tmp_path, data, message):
    """Every reader's rule: a stand-in character would give tokens and windows nobody wrote."""
    with pytest.raises(WinnerError) as raised:
        path = tmp_path / "input.txt"
        path.write_bytes(data)
        with open(path, "rb") as handle:
            list(stream.line_batches(handle, name=str(path)))
    assert str(raised.value) == f"{tmp_path}/{message}"


def test_a_command_line_argument_that_held_bytes_not_utf8_is_an_error():
    """Python reads such an argument with surrogateescape (PEP 383): U+DC80 + byte."""
    text = b"Caf\xe9 in Paris".decode("utf-8", "surrogateescape")
    with pytest.raises(WinnerError, match=r"^TEXT:1: not valid UTF-8 \(byte 0xe9\)$"):
        list(stream.text_batches(text))
    with pytest.raises(WinnerError, match=r"^TEXT:3: not valid UTF-8 \(byte 0xfc\)$"):  # the line, as in a file
        list(stream.text_batches(b"Paris\nis nice\nM\xfcnchen too".decode("utf-8", "surrogateescape")))


def test_in_memory_streams_are_read_too():
    text = io.TextIOWrapper(io.BytesIO(b"a\nb\n"), encoding="utf-8")
    assert list(stream.line_batches(text)) == [["a", "b"]]
    assert list(stream.line_batches(io.StringIO("c\nd"))) == [["c", "d"]]


def test_text_batches_follow_the_same_rule():
    assert list(stream.text_batches("\ufeffa\r\nb\u2028c\n")) == [["a", "b\u2028c"]]
    assert list(stream.text_batches("")) == [[""]]
    assert [len(b) for b in stream.text_batches("x\n" * 5, limit=2)] == [2, 2, 1]
