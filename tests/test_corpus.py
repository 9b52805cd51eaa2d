"""Tests for winner.corpus: reading and writing CoNLL files, tag schemes, tokenizing.

Every problem with an input file must surface as a WinnerError whose message is
one line starting with `path:line: ` (or `path: ` when no line applies).
"""

from __future__ import annotations

import re
import string
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers import error_message
from winner.corpus import Sentence, read_conll, split, tokenize, write_conll


# ---------------------------------------------------------------- helpers

def write(tmp_path: Path, content: str | bytes, name: str = "corpus.txt") -> Path:
    """Write `content` byte for byte (no newline translation) and return the path."""
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def assert_names_file(message: str, path: Path) -> None:
    assert message.startswith(f"{path}: "), message


def assert_names_line(message: str, path: Path, *lines: int) -> None:
    """The message starts with `path:N: ` for one of the given line numbers."""
    allowed = "|".join(str(n) for n in lines)
    assert re.match(rf"{re.escape(str(path))}:({allowed}): ", message), message


def tokens_of(sentences):
    return [s.tokens for s in sentences]


def tags_of(sentences):
    return [s.tags for s in sentences]


# ---------------------------------------------------------------- columns and layout

def test_reads_space_separated_two_columns(tmp_path):
    path = write(tmp_path, "Paris B-LOC\nis O\nbig O\n")
    [sentence] = read_conll(path)
    assert sentence.tokens == ["Paris", "is", "big"]
    assert sentence.tags == ["B-LOC", "O", "O"]


def test_reads_tab_separated_four_columns_token_first_tag_last(tmp_path):
    path = write(tmp_path, "EU\tNNP\tB-NP\tB-ORG\nrejects\tVBZ\tB-VP\tO\nGerman\tJJ\tB-NP\tB-MISC\n")
    [sentence] = read_conll(path)
    assert sentence.tokens == ["EU", "rejects", "German"]
    assert sentence.tags == ["B-ORG", "O", "B-MISC"]


def test_reads_mixed_spaces_and_tabs_between_columns(tmp_path):
    path = write(tmp_path, "Paris \t NNP  I-LOC\n")
    [sentence] = read_conll(path)
    assert (sentence.tokens, sentence.tags) == (["Paris"], ["I-LOC"])


def test_blank_lines_separate_sentences(tmp_path):
    path = write(tmp_path, "Paris B-LOC\n\nBerlin B-LOC\nrocks O\n")
    sentences = read_conll(path)
    assert tokens_of(sentences) == [["Paris"], ["Berlin", "rocks"]]


def test_several_blank_lines_in_a_row_make_no_empty_sentence(tmp_path):
    path = write(tmp_path, "\n\nParis B-LOC\n\n\n\n  \n\t\nBerlin B-LOC\n\n\n")
    sentences = read_conll(path)
    assert tokens_of(sentences) == [["Paris"], ["Berlin"]]


def test_last_sentence_without_trailing_newline_is_read(tmp_path):
    path = write(tmp_path, "Paris B-LOC\n\nBerlin B-LOC\nrocks O")
    sentences = read_conll(path)
    assert tokens_of(sentences) == [["Paris"], ["Berlin", "rocks"]]
    assert tags_of(sentences)[-1] == ["B-LOC", "O"]


def test_windows_line_endings(tmp_path):
    path = write(tmp_path, "-DOCSTART- O\r\n\r\nParis B-LOC\r\nis O\r\n\r\nBerlin B-LOC\r\n")
    sentences = read_conll(path)
    assert tokens_of(sentences) == [["Paris", "is"], ["Berlin"]]
    assert tags_of(sentences) == [["B-LOC", "O"], ["B-LOC"]]
    assert all("\r" not in t for s in sentences for t in s.tokens + s.tags)


def test_utf8_bom_is_not_part_of_the_first_token(tmp_path):
    path = write(tmp_path, "\ufeffZürich B-LOC\nliegt O\n")
    [sentence] = read_conll(path)
    assert sentence.tokens == ["Zürich", "liegt"]


def test_utf8_bom_before_docstart_is_still_a_docstart(tmp_path):
    path = write(tmp_path, "\ufeff-DOCSTART- -X- O\n\nParis B-LOC\n")
    [sentence] = read_conll(path)
    assert sentence.tokens == ["Paris"]


def test_sentence_line_is_the_one_based_line_of_its_first_token(tmp_path):
    path = write(tmp_path, "-DOCSTART- O\n\nParis B-LOC\nis O\n\n\nBerlin B-LOC\n")
    first, second = read_conll(path)
    assert first.line == 3
    assert second.line == 7


# ---------------------------------------------------------------- documents

def test_docstart_lines_give_document_indices_and_are_not_tokens(tmp_path):
    path = write(tmp_path, (
        "-DOCSTART- -X- -X- O\n\n"
        "Paris NNP B-NP B-LOC\n\n"
        "Lyon NNP B-NP B-LOC\n\n"
        "-DOCSTART- -X- -X- O\n\n"
        "Berlin NNP B-NP B-LOC\n\n"
        "-DOCSTART- -X- -X- O\n\n"
        "Rome NNP B-NP B-LOC\n"
    ))
    sentences = read_conll(path)
    assert tokens_of(sentences) == [["Paris"], ["Lyon"], ["Berlin"], ["Rome"]]
    assert [s.doc for s in sentences] == [0, 0, 1, 2]
    assert all("-DOCSTART-" not in s.tokens for s in sentences)


def test_docstart_without_blank_line_ends_the_sentence_before_it(tmp_path):
    path = write(tmp_path, "Paris B-LOC\n-DOCSTART- O\nBerlin B-LOC\n")
    sentences = read_conll(path)
    assert tokens_of(sentences) == [["Paris"], ["Berlin"]]
    assert [s.doc for s in sentences] == [0, 1]


def test_file_without_docstart_is_one_document(tmp_path):
    path = write(tmp_path, "Paris B-LOC\n\nBerlin B-LOC\n")
    assert [s.doc for s in read_conll(path)] == [0, 0]


# ---------------------------------------------------------------- tag schemes

IOB1_FILE = "In O\nNew I-LOC\nYork I-LOC\nand O\nParis I-LOC\nBerlin B-LOC\n"
IOB2_FILE = "In O\nNew B-LOC\nYork I-LOC\nand O\nParis B-LOC\nBerlin B-LOC\n"
IOBES_FILE = "In O\nNew B-LOC\nYork E-LOC\nand O\nParis S-LOC\nBerlin S-LOC\n"


@pytest.mark.parametrize("content", [IOB1_FILE, IOB2_FILE, IOBES_FILE], ids=["iob1", "iob2", "iobes"])
def test_auto_scheme_reads_every_scheme(tmp_path, content):
    [sentence] = read_conll(write(tmp_path, content), scheme="auto")
    assert sentence.tokens == ["In", "New", "York", "and", "Paris", "Berlin"]
    assert sentence.tags == [line.split()[-1] for line in content.splitlines()]


@pytest.mark.parametrize("scheme, content", [("iob1", IOB1_FILE), ("iob2", IOB2_FILE), ("iobes", IOBES_FILE)])
def test_declared_scheme_accepts_a_valid_file(tmp_path, scheme, content):
    [sentence] = read_conll(write(tmp_path, content), scheme=scheme)
    assert len(sentence.tokens) == 6


@pytest.mark.parametrize("content, line", [
    ("Paris I-LOC\n", 1),                       # at sentence start
    ("in O\nParis I-LOC\n", 2),                 # after O
    ("the B-ORG\nParis I-LOC\n", 2),            # after an entity of another type
    ("Paris B-LOC\n\nBerlin I-LOC\n", 3),       # I- does not continue across sentences
])
def test_iob2_rejects_an_entity_starting_with_i(tmp_path, content, line):
    path = write(tmp_path, content)
    message = error_message(read_conll, path, scheme="iob2")
    assert_names_line(message, path, line)
    assert "I-LOC" in message


@pytest.mark.parametrize("scheme", ["iob1", "iob2"])
@pytest.mark.parametrize("tag", ["E-LOC", "S-LOC"])
def test_iob_schemes_reject_iobes_tags(tmp_path, scheme, tag):
    path = write(tmp_path, f"New B-LOC\nYork I-LOC\nand O\nParis {tag}\n")
    message = error_message(read_conll, path, scheme=scheme)
    assert_names_line(message, path, 4)
    assert tag in message


@pytest.mark.parametrize("content, line", [
    ("Paris I-LOC\nis E-LOC\n", 1),             # I- at sentence start
    ("in O\nParis I-LOC\nx E-LOC\n", 2),        # I- after O
    ("the B-ORG\nParis I-LOC\nx E-LOC\n", 2),   # I- after another type: B-ORG is also unclosed
    ("New S-LOC\nYork I-LOC\nx E-LOC\n", 2),    # I- after a closed single
    ("New B-LOC\nYork E-LOC\nx I-LOC\n", 3),    # I- after a closed entity
    ("in O\nYork E-LOC\n", 2),                  # E- with no B-
])
def test_iobes_rejects_i_or_e_that_does_not_continue_an_entity(tmp_path, content, line):
    path = write(tmp_path, content)
    message = error_message(read_conll, path, scheme="iobes")
    assert_names_line(message, path, line)


@pytest.mark.parametrize("content, lines", [
    ("New B-LOC\nYork O\n", (2,)),                    # followed by O
    ("New B-LOC\nYork S-LOC\n", (2,)),                # followed by a new entity
    ("New B-LOC\nYork I-LOC\nis B-LOC\nx E-LOC\n", (3,)),
    ("New B-LOC\nYork I-LOC\n\nParis S-LOC\n", (2, 3)),   # at sentence end (blank line)
    ("New B-LOC\n-DOCSTART- O\n\nParis S-LOC\n", (1, 2)),  # at a document start
    ("Paris S-LOC\nNew B-LOC\n", (2,)),               # at end of file, trailing newline
    ("Paris S-LOC\nNew B-LOC", (2,)),                 # at end of file, no trailing newline
])
def test_iobes_rejects_an_entity_not_closed_with_e(tmp_path, content, lines):
    path = write(tmp_path, content)
    message = error_message(read_conll, path, scheme="iobes")
    assert_names_line(message, path, *lines)
    assert "E-LOC" in message


# ---------------------------------------------------------------- label_map

def test_label_map_renames_entity_types(tmp_path):
    path = write(tmp_path, "New B-location\nYork I-location\nin O\nUSA B-country\n")
    [sentence] = read_conll(path, label_map={"location": "LOC"})
    assert sentence.tags == ["B-LOC", "I-LOC", "O", "B-country"]


def test_the_scheme_check_reads_the_files_own_tags_before_renaming(tmp_path):
    """I-LOC after B-location starts an entity in the file as written: not IOB2, whatever the renaming."""
    path = write(tmp_path, "New B-location\nYork I-LOC\n")
    message = error_message(read_conll, path, scheme="iob2", label_map={"location": "LOC"})
    assert_names_line(message, path, 2)


# ---------------------------------------------------------------- errors

def test_missing_file(tmp_path):
    path = tmp_path / "nope.txt"
    assert_names_file(error_message(read_conll, path), path)


def test_directory_instead_of_file(tmp_path):
    assert_names_file(error_message(read_conll, tmp_path), tmp_path)


@pytest.mark.parametrize("content", ["", "\n\n  \n", "\ufeff"], ids=["empty", "blank-lines", "bom-only"])
def test_empty_file(tmp_path, content):
    path = write(tmp_path, content)
    assert_names_file(error_message(read_conll, path), path)


def test_file_with_only_docstart(tmp_path):
    path = write(tmp_path, "-DOCSTART- -X- -X- O\n\n-DOCSTART- -X- -X- O\n\n")
    assert_names_file(error_message(read_conll, path), path)


def test_binary_file_with_nul_byte_names_the_line(tmp_path):
    path = write(tmp_path, b"Paris B-LOC\nis O\nbi\x00g O\n")
    message = error_message(read_conll, path)
    assert_names_line(message, path, 3)
    assert "NUL" in message


def test_non_utf8_bytes_name_the_line(tmp_path):
    path = write(tmp_path, "Paris B-LOC\n\n".encode() + "Zürich B-LOC\n".encode("latin-1"))
    message = error_message(read_conll, path)
    assert_names_line(message, path, 3)
    assert "UTF-8" in message


def test_line_with_one_column_names_the_line(tmp_path):
    path = write(tmp_path, "Paris B-LOC\nis O\nbig\n")
    assert_names_line(error_message(read_conll, path), path, 3)


@pytest.mark.parametrize("tag", ["B-", "X-LOC", "LOC", "b-LOC", "I_LOC", "-LOC"])
def test_malformed_tag_names_the_line(tmp_path, tag):
    path = write(tmp_path, f"-DOCSTART- O\n\nParis B-LOC\n\nBerlin {tag}\n")
    message = error_message(read_conll, path)
    assert_names_line(message, path, 5)
    assert f"'{tag}'" in message


# ---------------------------------------------------------------- write_conll round trip

def test_write_then_read_round_trips_tokens_tags_and_documents(tmp_path):
    sentences = [
        Sentence(["Paris", "is", "big"], ["B-LOC", "O", "O"], doc=0),
        Sentence(["New", "York"], ["B-LOC", "I-LOC"], doc=0),
        Sentence(["Zürich", "🙂"], ["S-LOC", "O"], doc=1),
        Sentence(["東京"], ["B-LOC"], doc=2),
    ]
    path = tmp_path / "out.txt"
    write_conll(sentences, path)
    back = read_conll(path)
    assert tokens_of(back) == tokens_of(sentences)
    assert tags_of(back) == tags_of(sentences)
    assert [s.doc for s in back] == [0, 0, 1, 2]


TOKEN = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8).filter(
    lambda t: "\x00" not in t and not any(c.isspace() for c in t) and t != "-DOCSTART-"
)
TYPE = st.one_of(st.sampled_from(["LOC", "PER", "ORG", "MISC"]),
                 st.text(string.ascii_letters + string.digits + "-_.", min_size=1, max_size=6))


@st.composite
def iob2_sentence(draw):
    """A non-empty sentence with valid IOB2 tags."""
    tokens = draw(st.lists(TOKEN, min_size=1, max_size=6))
    tags, prev_type = [], None
    for _ in tokens:
        prefix = draw(st.sampled_from(["O", "B", "I"] if prev_type else ["O", "B"]))
        if prefix == "O":
            tags.append("O")
            prev_type = None
        elif prefix == "I":
            tags.append(f"I-{prev_type}")
        else:
            prev_type = draw(TYPE)
            tags.append(f"B-{prev_type}")
    return tokens, tags


@st.composite
def corpus(draw):
    """Sentences with document indices 0, 1, 2, ... in order."""
    pieces = draw(st.lists(st.tuples(iob2_sentence(), st.booleans()), min_size=1, max_size=6))
    sentences, doc = [], 0
    for i, ((tokens, tags), new_doc) in enumerate(pieces):
        doc += 1 if new_doc and i > 0 else 0
        sentences.append(Sentence(tokens, tags, doc))
    return sentences


@settings(max_examples=60, deadline=None)
@given(corpus())
def test_write_then_read_round_trips_random_corpora(sentences):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "out.txt"
        write_conll(sentences, path)
        back = read_conll(path, scheme="iob2")
    assert tokens_of(back) == tokens_of(sentences)
    assert tags_of(back) == tags_of(sentences)
    assert [s.doc for s in back] == [s.doc for s in sentences]


# ---------------------------------------------------------------- tokenize

OFFSET_SAMPLES = [
    "",
    "   ",
    "\t\n  \r\n",
    "Not all museums in Paris are amazing.",
    "Germany's representative to the E.U. said: don't!",
    "Zürich  liegt\tin der Schweiz,  nicht in Österreich.",
    "Je suis allé à Montréal l’été dernier.",
    "東京は日本の首都です。",
    "I ❤️ New York 🗽🇺🇸!",
    "Price: 3,000.50 at 10:30 on 1996-08-22 (approx.)",
    "  leading and trailing spaces  ",
    "Москва — столица России.",
    "O'Keeffe isn't here; they're in São Paulo.",
]


@pytest.mark.parametrize("text", OFFSET_SAMPLES)
def test_tokenize_offsets_slice_back_to_the_tokens(text):
    result = tokenize(text)
    for token, start, end in result:
        assert text[start:end] == token
        assert token and not any(c.isspace() for c in token)
    assert "".join(token for token, _, _ in result) == "".join(text.split())


@pytest.mark.parametrize("text", ["", " ", "\t\n\r  "])
def test_tokenize_empty_or_whitespace_gives_no_tokens(text):
    assert tokenize(text) == []


@pytest.mark.parametrize("text, expected", [
    ("Germany's", ["Germany", "'s"]),
    ("Germany’s", ["Germany", "’s"]),
    ("don't", ["do", "n't"]),
    ("isn't", ["is", "n't"]),
    ("they're", ["they", "'re"]),
    ("U.S.", ["U.S."]),
    ("the U.S. army", ["the", "U.S.", "army"]),
    ("1996-08-22", ["1996-08-22"]),
    ("3,000.50", ["3,000.50"]),
    ("10:30", ["10:30"]),
    ("well-known", ["well-known"]),
    ("O'Keeffe", ["O'Keeffe"]),
    ("Paris.", ["Paris", "."]),
    ("Paris, France.", ["Paris", ",", "France", "."]),
    ("(Berlin)", ["(", "Berlin", ")"]),
])
def test_tokenize_splits_like_conll(text, expected):
    assert [token for token, _, _ in tokenize(text)] == expected


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_tokenize_any_text(text):
    result = tokenize(text)
    previous_end = 0
    for token, start, end in result:
        assert token
        assert not any(c.isspace() for c in token)
        assert text[start:end] == token
        assert previous_end <= start < end
        previous_end = end
    # nothing but whitespace is dropped
    assert "".join(token for token, _, _ in result) == "".join(text.split())


# Letters (with and without case, precomposed and combining), digits of several scripts,
# the punctuation the token pattern treats specially, and white space of many kinds.
TOKENISH = st.text(st.sampled_from(list("aZéß東اn'’t.-,:/_s1٣𝟘 \t\n\r\x0b\x0c\x1c\x85\u00a0\u2028\u3000\u0301")), max_size=40)


@settings(max_examples=2000, deadline=None)
@given(TOKENISH)
def test_split_takes_the_same_tokens_as_tokenize(text):
    """split's shortcut (pieces of letters or digits only) must not change a single token."""
    assert split(text) == [token for token, _, _ in tokenize(text)]
