"""Embedding tables: random starts and pretrained vectors (GloVe / word2vec text)."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from winner.errors import WinnerError, line_end_removed, open_text, where
from winner.keys import normalise


def random_table(rows: int, dim: int, rng: np.random.Generator, scale: float | None = None) -> np.ndarray:
    """(rows, dim) float32 drawn from N(0, scale^2); scale defaults to 1/sqrt(dim)."""
    scale = 1.0 / np.sqrt(dim) if scale is None else scale
    return (rng.standard_normal((rows, dim)) * scale).astype(np.float32)


def read_vectors(path, dim: int, lowercase: bool = True, digits_to_zero: bool = True) -> tuple[list[str], np.ndarray]:
    """Read a GloVe or word2vec text file: `word v1 ... vd` per line, fields separated by spaces.

    The vector is the last `dim` fields and the word is everything before them, so a word may
    hold spaces ('. . .' in the Common Crawl GloVe files). A line whose fields after the first are
    all numbers but too many is refused, as a vector of another dimension rather than read as a
    word that holds numbers. A word2vec header line (`count dim`) is recognised and skipped. Lines
    end at \\n only and a byte-order mark is dropped (winner.errors.open_text). Words are normalised
    as the vocabulary is; where two file words normalise alike the first (in GloVe and word2vec
    files, the more frequent) wins.
    Returns the words and a (n, dim) float32 matrix.
    """
    path = Path(path)
    words: list[str] = []
    numbers: list[str] = []
    seen: set[str] = set()
    try:
        with open_text(path) as handle:
            for number, line in enumerate(handle, start=1):
                parts = line_end_removed(line).rstrip(" ").split(" ")
                if number == 1 and len(parts) == 2 and all(p.isdigit() for p in parts):
                    if int(parts[1]) != dim:
                        raise WinnerError(f"{where(path, 1)}: the vectors have dimension {parts[1]}, "
                                          f"but features.word_dim is {dim}")
                    continue
                if len(parts) == 1 and not parts[0]:
                    continue
                if len(parts) != dim + 1:
                    _check_fields(parts, dim, path, number)
                    parts = [" ".join(parts[:-dim]), *parts[-dim:]]
                word = normalise(parts[0], lowercase, digits_to_zero)
                if word in seen:
                    continue
                seen.add(word)
                words.append(word)
                numbers.extend(parts[1:])
                if not _all_numbers(parts[1:]):
                    raise WinnerError(f"{where(path, number)}: '{_first_non_number(parts[1:])}' is not a number")
    except FileNotFoundError:
        raise WinnerError(f"{path}: vectors file not found") from None
    except (UnicodeDecodeError, gzip.BadGzipFile, EOFError, OSError) as exc:
        raise WinnerError(f"{path}: cannot read the vectors file ({exc.__class__.__name__})") from None
    if not words:
        raise WinnerError(f"{path}: no vectors in the file")
    matrix = np.array(numbers, dtype=np.float32).reshape(len(words), dim)
    if not np.isfinite(matrix).all():
        row = int(np.flatnonzero(~np.isfinite(matrix).all(axis=1))[0])
        raise WinnerError(f"{path}: the vector of '{words[row]}' holds inf or nan")
    return words, matrix


def _check_fields(parts: list[str], dim: int, path, number: int) -> None:
    """A line that is not a one-field word and `dim` numbers: fine when the word holds spaces, else an error."""
    found = len(parts) - 1
    if found > dim and not _all_numbers(parts[1:]):
        return  # a word with spaces: its fields are not all numbers
    if number == 1:
        raise WinnerError(f"{where(path, 1)}: the vectors have dimension {found}, but features.word_dim is {dim}")
    raise WinnerError(f"{where(path, number)}: expected a word and {dim} numbers, got {found} values")


def _all_numbers(values) -> bool:
    try:
        np.array(values, dtype=np.float32)
    except ValueError:
        return False
    return True


def _first_non_number(values) -> str:
    for v in values:
        try:
            float(v)
        except ValueError:
            return v
    return ""


def pretrained_table(vocab_words, vector_words, vectors: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """A table for `vocab_words`: rows from the vectors where the word has one,
    random rows of the vectors' own spread elsewhere. Returns (table, rows found)."""
    position = {w: i for i, w in enumerate(vector_words)}
    table = random_table(len(vocab_words), vectors.shape[1], rng, scale=float(vectors.std()))
    found = [(row, position[w]) for row, w in enumerate(vocab_words) if w in position]
    if found:
        rows, sources = map(np.array, zip(*found))
        table[rows] = vectors[sources]
    return table, len(found)
