"""Raw text -> tokens, with character offsets, in the conventions of CoNLL-2003 and the Penn Treebank.

- Clitics are split off (`Germany 's`, `do n't`); hyphenated words stay whole (`well-known`,
  `37-run`); numbers, times and dates stay whole (`3,000.50`, `10:30`, `1996-08-22`, `.496`),
  and so do currencies (`C$`, `US$`), dashes (`--`) and ellipses (`...`). A number of one or two
  digits and a period inside a line is a rank or list item (`1. Kenya 2. Ethiopia`), one token as
  in CoNLL-2003; at the end of a line the period ends the sentence.
- Abbreviations keep their period: letter-period runs (`U.S.`, `D.C.`, `e.g.`), single letters
  (initials: `P.`; any letter, so that NFC and NFD text cut alike), and the titles and
  shortenings of ABBREVIATIONS (`St.`, `Mr.`, `Inc.`, `Jan.`).
- URLs (with a scheme or `www.`), e-mail addresses, @-handles and #-tags are one token each; a
  URL does not take the punctuation that ends it (`amsterdam.` -> `amsterdam` `.`).
- Emoji sequences are one token each: a flag (two regional indicators), an emoji with its skin
  tone, variation selector, keycap or tag characters, and emoji joined by zero-width joiners.
- Combining marks and invisible format characters (winner/marks.py) belong to the character before
  them. The token pattern reads a piece with each one that follows a letter (or a mark that follows
  one) replaced by _JOINED, a letter nothing else in the pattern names, each one inside an emoji
  sequence as it is, and each other one left out; every token then covers the marks after it (a
  mark that begins a piece, the first token). So 'Zu' + U+0308 + 'rich' is one word as 'Zürich'
  is, Devanagari, Arabic or Thai words are not cut at their vowel signs, and '’s' + U+0301 is not
  the clitic '’s' any more than '’ś' is.

No token holds white space. tests/tokenizer_agreement.py compares the result with NLTK's Treebank
tokenizer; the README lists every deliberate difference.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from functools import lru_cache
from itertools import accumulate

from winner import marks

# Shortenings that keep their period, as in CoNLL-2003 and the Penn Treebank. Matched whole, in any
# case (CoNLL-2003 headlines are in capitals: `ST. LOUIS`); 'no' is left out, being a word too.
ABBREVIATIONS = (
    "mr mrs ms messrs mme mlle dr prof rev hon st mt ft jr sr gen col lt sgt capt cmdr adm gov sen rep pres supt "
    "inc corp ltd co bros dept univ assn est jan feb mar apr jun jul aug sep sept oct nov dec "
    "ave blvd rd hwy apt vs etc approx fig al p pp vol"
).split()
_SHORT_FORMS = frozenset(ABBREVIATIONS)

_JOINED = "\ua7f8"  # MODIFIER LETTER CAPITAL H WITH STROKE: a letter, folds to no other
_EMOJI = (r"\u00a9\u00ae\u203c\u2049\u2122\u2139\u2194-\u21aa\u231a-\u23ff\u24c2\u25aa-\u25fe\u2600-\u27bf"
          r"\u2934\u2935\u2b05-\u2b55\u3030\u303d\u3297\u3299\U0001f000-\U0001faff")
_EMOJI_PART = r"\ufe0f\u20e3\U0001f3fb-\U0001f3ff\U000e0020-\U000e007f"  # variation selector, keycap, skin tones, tags
_EMOJI_SEQUENCE = rf"[{_EMOJI}][{_EMOJI_PART}]*(?:\u200d(?:[{_EMOJI}][{_EMOJI_PART}]*)?)*"
_URL_END = r"""[^\s.,;:!?'"’”)\]}>]"""  # a URL does not end in the punctuation after it
_WORD_CHAR = r"[^\W_]"

_TOKEN = re.compile(
    rf"""
      (?:https?://|ftp://|www\.)\S*{_URL_END}      # URLs: https://example.com/stores/amsterdam
    | [\w.+-]+@{_WORD_CHAR}[\w-]*(?:\.[\w-]*{_WORD_CHAR})+  # e-mail addresses: info@example.org
    | (?<!{_WORD_CHAR})[@#](?=\w*[^\W\d_])\w+         # @-handles, #-tags (with a letter: not #1)
    | [\U0001f1e6-\U0001f1ff]{{2}}                    # flags: two regional indicators
    | {_EMOJI_SEQUENCE}                              # emoji with skin tone, selector, keycap, ZWJ
    | (?<!{_WORD_CHAR})(?-i:[A-Z]{{1,3}})\$            # currencies: C$ US$
    | (?:[^\W\d_]{_JOINED}*(?:[^\W\d_]{_JOINED}*)?\.){{2,}}  # abbreviations: U.S. , e.g. , Ph.D.
    | (?<!{_WORD_CHAR})[^\W\d_]+\.(?!{_WORD_CHAR}|\.)  # St. Mr. P. , if _loses_period says they keep it
    | n['’]t(?!{_WORD_CHAR})                          # clitic of don't, isn't
    | ['’](?:s|re|ve|ll|d|m)(?!{_WORD_CHAR})          # clitics: 's 're 've 'll 'd 'm
    | (?<![\w.])\d{{1,2}}\.(?![\w.])                  # ranks and list numbers: 1. (not at a line's end)
    | \d+[^\W\d_]{_WORD_CHAR}*(?:-{_WORD_CHAR}+)*      # a number and letters: 21st 1990s 4B 19th-century
    | \d+(?:[.,:/-]\d+)*(?:-{_WORD_CHAR}+)*          # numbers, times, dates: 3,000.50 10:30 1996-08-22 37-run
    | {_WORD_CHAR}+?(?=n['’]t(?!{_WORD_CHAR}))        # the word before n't: do|n't
    | {_WORD_CHAR}+(?:-{_WORD_CHAR}+|['’](?!(?:s|re|ve|ll|d|m)(?!{_WORD_CHAR})){_WORD_CHAR}+)*  # well-known, O'Keeffe
    | (?<![^\W_.])\.\d+                              # decimals without the 0: .496
    | -{{2,}}|\.{{2,}}                                 # dashes and ellipses: -- ...
    | \S                                            # any other single character
    """,
    re.VERBOSE | re.IGNORECASE,
)
_PIECE = re.compile(r"\S+")
_NOT_NAME_MARKS = ("@", "://", "www.", "WWW.")  # what every URL, e-mail address and handle holds


@lru_cache(maxsize=None)
def _emoji_char() -> re.Pattern:
    """One emoji character; compiled when first needed (only pieces with marks need it)."""
    return re.compile(f"[{_EMOJI}]")


@lru_cache(maxsize=None)
def _not_a_name() -> re.Pattern:
    """Tokens that name no place whatever their window says: URLs, e-mail addresses, @-handles."""
    return re.compile(rf"(?:https?://|ftp://|www\.)\S*|[\w.+-]+@{_WORD_CHAR}\S*|@\w+", re.IGNORECASE)


@lru_cache(maxsize=None)
def _marks() -> re.Pattern:
    """The pattern of one mark, compiled the first time a piece that is not ASCII needs it (ASCII
    holds none, and the few milliseconds count at the start of every `winner predict`)."""
    return re.compile(f"[{marks.regex_class()}]")


def _has_marks(piece: str) -> bool:
    return not piece.isascii() and _marks().search(piece) is not None


def tokenize(text: str) -> list[tuple[str, int, int]]:
    """Split raw text into (token, start, end) with character offsets into `text`."""
    return [(text[a:b], a, b) for a, b in spans(text)]


def spans(text: str) -> list[tuple[int, int]]:
    """The (start, end) character offsets of tokenize(text)'s tokens.

    No token holds white space: the text is cut at white space first, and each piece
    is cut as _cut_spans says (a piece of letters only, or of digits only, is one token).
    """
    out: list[tuple[int, int]] = []
    for match in _PIECE.finditer(text):
        piece, start = match.group(), match.start()
        if piece.isalpha() or piece.isdecimal():
            out.append((start, match.end()))
        else:
            out += [(start + a, start + b) for a, b in _cut_spans(piece)]
    if out and _ends_in_rank(text[out[-1][0]: out[-1][1]]):
        a, b = out.pop()
        out += [(a, b - 1), (b - 1, b)]
    return out


def split(text: str) -> list[str]:
    """The tokens of tokenize(text) without their offsets, several times faster.

    No token holds white space, so the text is cut at white space first; a
    piece of letters only, or of digits only, is one token as it stands, and
    only the others go through the pattern.
    """
    tokens: list[str] = []
    for piece in text.split():
        if piece.isalpha() or piece.isdecimal():
            tokens.append(piece)
        else:
            tokens += _cut(piece)
    if tokens and _ends_in_rank(tokens[-1]):
        tokens[-1:] = [tokens[-1][:-1], "."]
    return tokens


def _ends_in_rank(token: str) -> bool:
    """Is the last token of a line a number and a period ('1.')? The period then ends the sentence
    ('I came 2 .'), where inside a line it marks a rank or a list item ('1. Kenya 2. Ethiopia')."""
    return token[-1] == "." and token[:-1].isdecimal() and len(token) <= 3


@lru_cache(maxsize=1 << 16)
def _cut(piece: str) -> tuple[str, ...]:
    """The tokens of a piece of text without white space. Pieces such as ',' and
    'Paris,' come back again and again, so the answers are kept."""
    if _has_marks(piece):
        return tuple(piece[a:b] for a, b in _cut_spans(piece))
    tokens = _TOKEN.findall(piece)
    if "." not in piece:
        return tuple(tokens)
    out: list[str] = []
    for token in tokens:
        out += (token[:-1], ".") if _loses_period(token) else (token,)
    return tuple(out)


def _loses_period(token: str) -> bool:
    """Is the token a word and a period where the word is no short form? A word and a period stay
    one token when the word is one of ABBREVIATIONS (in any case) or an initial, a capital letter
    alone ('P.', not the 's.' of '1990 s.'); the pattern, blind to case and to the list, matched
    both alike."""
    if token[-1] != "." or len(token) < 2:
        return False
    word = token[:-1].replace(_JOINED, "")
    return word.isalpha() and not (word.lower() in _SHORT_FORMS or (len(word) == 1 and word.isupper()))


def _spans(read: str) -> list[tuple[int, int]]:
    """(start, end) of the pattern's tokens in a piece as the pattern reads it (see _loses_period)."""
    out = []
    for m in _TOKEN.finditer(read):
        a, b = m.span()
        if read[b - 1] == "." and _loses_period(m.group()):
            out += [(a, b - 1), (b - 1, b)]
        else:
            out.append((a, b))
    return out


@lru_cache(maxsize=1 << 16)
def _cut_spans(piece: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of the tokens of a piece without white space (see _JOINED)."""
    if not _has_marks(piece):
        return tuple(_spans(piece))
    mark = _marks().match
    read, at = [], []  # the piece as the pattern reads it, and where each of its characters stands
    base = ""  # what the last character that is not a mark was: 'letter', 'emoji' or ''
    for i, char in enumerate(piece):
        if mark(char) is None:
            base = "letter" if char.isalpha() else "emoji" if _emoji_char().match(char) else ""
        elif base == "letter":
            char = _JOINED
        elif base != "emoji":  # an emoji sequence keeps its joiners, selectors and tags for the pattern
            continue
        read.append(char)
        at.append(i)
    if not read:
        return ((0, len(piece)),)  # marks alone: one token
    at.append(len(piece))
    return tuple((at[a] if a else 0, at[b]) for a, b in _spans("".join(read)))


def _find_all(text: str, needle: str) -> list[int]:
    """Every offset of needle in text (str.find: a fast scan, where a regular expression is not)."""
    found, at = [], text.find(needle)
    while at >= 0:
        found.append(at)
        at = text.find(needle, at + 1)
    return found


def not_names(lines: list[str], token_lists: list[list[str]]) -> list[int]:
    """Indices, into the lines' tokens laid end to end, of the tokens that are URLs, e-mail
    addresses or @-handles, which tagging never puts inside an entity. Only the lines where a
    search of the batch finds '@', '://' or 'www.' (or 'WWW.') are looked into."""
    joined = "\n".join(lines)
    hits = [hit for needle in _NOT_NAME_MARKS for hit in _find_all(joined, needle)]
    if not hits:
        return []
    line_starts = list(accumulate((len(line) + 1 for line in lines), initial=0))  # (L+1,) offsets in joined
    token_starts = list(accumulate(map(len, token_lists), initial=0))  # (L+1,)
    not_a_name = _not_a_name().fullmatch
    found = []
    for i in sorted({bisect_right(line_starts, hit) - 1 for hit in hits}):
        found += [token_starts[i] + j for j, token in enumerate(token_lists[i]) if not_a_name(token)]
    return found
