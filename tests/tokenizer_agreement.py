"""How far winner's raw-text tokenizer agrees with NLTK's Treebank tokenizer, and where it differs.

    python tests/tokenizer_agreement.py        (needs the test extras: pip install -e '.[test]')

Text: every sentence of the sample corpus (data/sample/train.txt and dev.txt), its tokens put
back together as raw text (no space before , . 's n't and the like), and the raw sentences of
tests/data/raw_text.txt, written for this comparison (URLs, e-mail addresses, handles, emoji,
abbreviations). Each sentence goes through both tokenizers, and tokens are compared by their
character offsets. Every stretch of text where the two differ is put in one of the deliberate
differences of DIFFERENCES, by the first rule that explains it; tests/test_tokenizer.py fails
when a stretch is explained by none. With data/conll2003/ linked, it also counts the CoNLL-2003
dev sentences whose tokens, joined by spaces, the tokenizer cuts differently.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from winner.corpus import read_conll  # noqa: E402
from winner.tokenizer import spans  # noqa: E402

SAMPLE = [REPO / "data/sample/train.txt", REPO / "data/sample/dev.txt"]
RAW = REPO / "tests/data/raw_text.txt"
EMOJI_CATEGORIES = ("So", "Sk", "Mn", "Me", "Cf")  # symbols, modifiers (skin tones), selectors, keycaps, joiners

# The deliberate differences: a name, and a rule on the differing stretch (winner's tokens, the
# Treebank tokenizer's tokens, and whether the stretch ends the sentence). First match wins.
DIFFERENCES = [
    ("URLs are one token (Treebank cuts them at ':', '?' and '&')",
     lambda ours, theirs, last: any(re.match(r"(?:https?|ftp)://|www\.", t, re.I) for t in ours)),
    ("e-mail addresses are one token (Treebank cuts them at '@')",
     lambda ours, theirs, last: any(re.fullmatch(r"[\w.+-]+@[\w.-]+", t) for t in ours)),
    ("@-handles and #-tags are one token (Treebank cuts off '@' and '#')",
     lambda ours, theirs, last: any(re.fullmatch(r"[@#]\w+", t) for t in ours)),
    ("each emoji sequence is one token, and two emoji are two (Treebank keeps a run of them whole)",
     lambda ours, theirs, last: all(all(unicodedata.category(c) in EMOJI_CATEGORIES for c in t) for t in ours)),
    ("a sign or currency symbol before a number is its own token, as '$' is in both (Treebank keeps '€25', '+1')",
     lambda ours, theirs, last: len(ours) == 2 and theirs == ["".join(ours)] and not ours[0].isalnum()
     and ours[1][0].isdigit()),
    ("a sentence-final abbreviation keeps its period (Treebank splits off the text's last period)",
     lambda ours, theirs, last: last and len(ours[-1]) > 1 and ours[-1].endswith(".")
     and theirs == [*ours[:-1], ours[-1][:-1], "."]),
    ("a period inside the sentence after a word or number that is no abbreviation is a token (Treebank splits only "
     "the text's last period)",
     lambda ours, theirs, last: len(ours) == 2 and ours[1] == "." and theirs == [ours[0] + "."]),
    ("cannot, gonna: Treebank splits them in two, winner keeps the word",
     lambda ours, theirs, last: len(ours) == 1 and ours[0].lower() in ("cannot", "gonna", "gotta", "wanna")),
]


@dataclass
class Stretch:
    """Where the two tokenizers differ: the tokens of each over the same characters."""

    sentence: str
    ours: list
    theirs: list
    last: bool  # the stretch ends the sentence (white space aside)

    def kind(self) -> str | None:
        for name, rule in DIFFERENCES:
            if rule(self.ours, self.theirs, self.last):
                return name
        return None


def sample_sentences() -> list[str]:
    """The sample corpus's sentences as raw text: tokens joined by spaces, except before
    punctuation and clitics and after opening brackets, as the text would have been written."""
    out = []
    for path in SAMPLE:
        for sentence in read_conll(path):
            text = " ".join(sentence.tokens)
            text = re.sub(r" ([.,;:!?%)\]}]|'s|'re|'ve|'ll|'d|'m|n't)(?=\s|$)", r"\1", text)
            text = re.sub(r"([(\[{$]) ", r"\1", text)
            out.append(text)
    return out


def raw_sentences() -> list[str]:
    return [line for line in RAW.read_text(encoding="utf-8").split("\n") if line.strip()]


def stretches(sentence: str, ours: list, theirs: list) -> list[Stretch]:
    """The stretches of the sentence where the two lists of (start, end) differ: between two
    offsets where both tokenizers have a token boundary and agree on everything in between."""
    ours_set, theirs_set = set(ours), set(theirs)
    bounds_ours = {a for a, _ in ours} | {b for _, b in ours}
    bounds_theirs = {a for a, _ in theirs} | {b for _, b in theirs}
    shared = sorted(bounds_ours & bounds_theirs)
    out = []
    end_of_text = len(sentence.rstrip())
    for a, b in zip(shared, shared[1:]):
        mine = [s for s in ours if a <= s[0] and s[1] <= b]
        other = [s for s in theirs if a <= s[0] and s[1] <= b]
        if set(mine) != set(other) and not (set(mine) <= theirs_set and set(other) <= ours_set):
            out.append(Stretch(sentence, [sentence[x:y] for x, y in mine], [sentence[x:y] for x, y in other],
                               b >= end_of_text))
    return out


def compare(sentences: list[str]):
    """(sentences alike, tokens of ours also in theirs, tokens of ours, tokens of theirs, stretches)."""
    from nltk.tokenize import TreebankWordTokenizer

    treebank = TreebankWordTokenizer()
    alike = shared = n_ours = n_theirs = 0
    found: list[Stretch] = []
    for sentence in sentences:
        ours, theirs = spans(sentence), list(treebank.span_tokenize(sentence))
        alike += ours == theirs
        shared += len(set(ours) & set(theirs))
        n_ours, n_theirs = n_ours + len(ours), n_theirs + len(theirs)
        found += stretches(sentence, ours, theirs)
    return alike, shared, n_ours, n_theirs, found


def conll_retokenized(path: Path) -> tuple[int, int]:
    """(sentences whose tokens, joined by spaces, the tokenizer cuts into other tokens; sentences):
    how far raw-text tagging of CoNLL text strays from the CoNLL tokens."""
    from winner.tokenizer import split

    sentences = read_conll(path)
    return sum(split(" ".join(s.tokens)) != s.tokens for s in sentences), len(sentences)


def main() -> None:
    for label, sentences in (("sample corpus", sample_sentences()), ("raw text (tests/data/raw_text.txt)",
                                                                      raw_sentences())):
        alike, shared, n_ours, n_theirs, found = compare(sentences)
        print(f"{label}: {len(sentences)} sentences, {alike} ({alike / len(sentences):.1%}) cut exactly as the "
              f"Treebank tokenizer cuts them; {shared:,} of winner's {n_ours:,} tokens ({shared / n_ours:.1%}) "
              f"and of Treebank's {n_theirs:,} ({shared / n_theirs:.1%}) are the same tokens")
        kinds = Counter(stretch.kind() for stretch in found)
        for name, count in kinds.most_common():
            example = next(s for s in found if s.kind() == name)
            print(f"  {count:4d}  {name or 'NOT EXPLAINED'}: e.g. {example.ours} / {example.theirs}")

    conll_dev = REPO / "data/conll2003/dev.txt"
    if conll_dev.is_file():
        differ, total = conll_retokenized(conll_dev)
        print(f"CoNLL-2003 dev: {differ:,} of {total:,} sentences, their tokens joined by spaces, are cut into "
              f"other tokens ({differ / total:.1%})")


if __name__ == "__main__":
    main()
