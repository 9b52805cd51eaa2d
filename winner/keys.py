"""Vocabulary keys: the one form of a token that vocabulary, vectors, word endings and gazetteers look up.

A key is lowercased and has its digits mapped to 0 (as the config says), is in Unicode normal form C,
and holds no invisible character, so that text that looks the same is looked up the same: the
precomposed 'Zürich' and 'Zu' + U+0308 + 'rich' (as macOS and many PDFs write it), or 'Zür' + soft
hyphen + 'ich', all have the key 'zürich'. Character offsets are never taken from keys: they refer to
the user's own text.
"""

from __future__ import annotations

import re
import unicodedata

_DIGIT = re.compile(r"\d")
# Invisible characters that change neither how a word is spelled nor what it means (Unicode's
# default-ignorable code points, those text really holds): soft hyphen, combining grapheme joiner,
# Arabic letter mark, Mongolian vowel separator, zero-width space, non-joiner and joiner, the
# bidirectional marks, embeddings and isolates, word joiner and invisible operators, variation
# selectors, byte-order mark. Left out of vocabulary keys, so 'Zür\u00adich' is 'zürich'.
_IGNORABLE = re.compile("[\u00ad\u034f\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f"
                        "\ufe00-\ufe0f\ufeff\U000e0100-\U000e01ef]")


def normalise(token: str, lowercase: bool = True, digits_to_zero: bool = True) -> str:
    """The vocabulary key of a token: 'Paris' -> 'paris', '1996' -> '0000'.

    The key is in Unicode normal form C, so that text that is the same under canonical
    equivalence (a precomposed 'ü' or 'u' followed by a combining diaeresis) has one key,
    and holds no invisible character (see _IGNORABLE).
    """
    token = surface(token)
    if lowercase:
        token = nfc(token.lower())  # lowercasing can undo normal form C ('İ' -> 'i' and U+0307)
    if digits_to_zero and _DIGIT.search(token):
        token = _DIGIT.sub("0", token)
    return token


def surface(text: str) -> str:
    """`text` as features see it: in normal form C, without the invisible characters of _IGNORABLE."""
    if _IGNORABLE.search(text):
        text = _IGNORABLE.sub("", text)
    return nfc(text)


def normalise_all(tokens: list[str], lowercase: bool = True, digits_to_zero: bool = True) -> list[str]:
    """normalise() of many tokens, in one pass over their joined text.

    Tokens hold no line break, so joining them with one and splitting after
    gives back one key per token (lowercasing a letter looks at its
    neighbours only through cased letters, never across a line break, and
    normal form C composes no character with a line break). A token that
    does hold one is caught by the count, and all are done one by one.
    """
    text = surface("\n".join(tokens))
    if lowercase:
        text = nfc(text.lower())  # lowercasing can undo normal form C ('İ' -> 'i' and U+0307)
    if digits_to_zero:
        text = _DIGIT.sub("0", text)
    keys = text.split("\n")
    if len(keys) != len(tokens):
        return [normalise(token, lowercase, digits_to_zero) for token in tokens]
    return keys


def nfc(text: str) -> str:
    """`text` in Unicode normal form C; the quick check first, as almost all text already is."""
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)
