"""The raw-text tokenizer (winner/tokenizer.py): the cases users send, held to a reference.

The reference is NLTK's Treebank tokenizer (a test extra): tests/tokenizer_agreement.py
compares the two on the sample corpus and on tests/data/raw_text.txt, and every stretch
where they differ must be one of the deliberate differences the README lists.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from winner.tokenizer import not_names, spans, split

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
sys.path.insert(0, str(TESTS))

import tokenizer_agreement  # noqa: E402

CASES = {
    "abbreviations": ("moved to St. Louis and Washington, D.C. last year",
                      ["moved", "to", "St.", "Louis", "and", "Washington", ",", "D.C.", "last", "year"]),
    "titles-initials-companies": ("Mr. P. Smith of Acme Inc. met Dr. Jones",
                                  ["Mr.", "P.", "Smith", "of", "Acme", "Inc.", "met", "Dr.", "Jones"]),
    "headline-capitals": ("ST. LOUIS WINS", ["ST.", "LOUIS", "WINS"]),
    "lowercase-letter-is-no-initial": ("the 1990 s.", ["the", "1990", "s", "."]),
    "sentence-final-period": ("I live in Paris.", ["I", "live", "in", "Paris", "."]),
    "url": ("see https://example.com/stores/amsterdam.", ["see", "https://example.com/stores/amsterdam", "."]),
    "url-query": ("at http://x.example.net/t?id=42&lang=en today",
                  ["at", "http://x.example.net/t?id=42&lang=en", "today"]),
    "www": ("(www.example.co.uk/lagos)", ["(", "www.example.co.uk/lagos", ")"]),
    "email": ("mail jane.doe+news@mail.example.com, now", ["mail", "jane.doe+news@mail.example.com", ",", "now"]),
    "handle-and-tags": ("@KLM #travel #1", ["@KLM", "#travel", "#", "1"]),
    "flag": ("Bali 🇮🇩!", ["Bali", "🇮🇩", "!"]),
    "skin-tone": ("ok 👍🏽", ["ok", "👍🏽"]),
    "zwj-family": ("family 👨‍👩‍👧.", ["family", "👨‍👩‍👧", "."]),
    "selector": ("I ❤️ Lisbon", ["I", "❤️", "Lisbon"]),
    "tag-sequence-flag": ("🏴󠁧󠁢󠁥󠁮󠁧󠁿 fans", ["🏴󠁧󠁢󠁥󠁮󠁧󠁿", "fans"]),
    "keycap": ("press 1️⃣", ["press", "1️⃣"]),
    "two-emoji": ("🎉🎉", ["🎉", "🎉"]),
    "numbers-and-letters": ("Room 4B, the 19th-century 1990s 37-run win",
                            ["Room", "4B", ",", "the", "19th-century", "1990s", "37-run", "win"]),
    "clitics": ("They didn't stay; it's Rome's", ["They", "did", "n't", "stay", ";", "it", "'s", "Rome", "'s"]),
    "ph-d": ("a Ph.D. from MIT", ["a", "Ph.D.", "from", "MIT"]),
    "currencies-decimals": ("C$ 1.5 and US$3 (.496)", ["C$", "1.5", "and", "US$", "3", "(", ".496", ")"]),
    "dash-ellipsis": ("wait... -- now", ["wait", "...", "--", "now"]),
    "ranks-inside-a-line": ("1. Kenya 2. Ethiopia", ["1.", "Kenya", "2.", "Ethiopia"]),
    "number-ending-a-line": ("I came 2.", ["I", "came", "2", "."]),
    "year-and-period-inside-a-line": ("in 1996. Then", ["in", "1996", ".", "Then"]),
}


@pytest.mark.parametrize("text, expected", list(CASES.values()), ids=list(CASES))
def test_tokens(text, expected):
    assert split(text) == expected
    assert [text[a:b] for a, b in spans(text)] == expected


def test_spans_cut_as_split_on_the_raw_text():
    for line in tokenizer_agreement.raw_sentences():
        assert [line[a:b] for a, b in spans(line)] == split(line), line


@pytest.mark.parametrize("label, sentences", [
    ("sample corpus", tokenizer_agreement.sample_sentences()),
    ("raw text", tokenizer_agreement.raw_sentences()),
], ids=["sample", "raw"])
def test_every_difference_from_the_treebank_tokenizer_is_a_deliberate_one(label, sentences):
    pytest.importorskip("nltk")
    alike, shared, n_ours, n_theirs, found = tokenizer_agreement.compare(sentences)
    unexplained = [(s.ours, s.theirs, s.sentence) for s in found if s.kind() is None]
    assert not unexplained, unexplained
    print(f"{label}: {alike} of {len(sentences)} sentences alike; {shared} of {n_ours} tokens shared")
    assert 0 < alike <= len(sentences)


def test_urls_emails_and_handles_are_found_as_not_names():
    lines = ["https://example.com/amsterdam info@klm.nl @KLM #Paris", "Paris U.S. a/b", "WWW.X.ORG or @ x"]
    token_lists = [split(line) for line in lines]
    assert token_lists[2] == ["WWW.X.ORG", "or", "@", "x"]
    assert not_names(lines, token_lists) == [0, 1, 2, 9]
    assert not_names(lines[1:2], token_lists[1:2]) == []


def test_a_url_email_or_handle_is_never_tagged_even_when_every_window_scores_high(tmp_path, monkeypatch):
    """With the threshold below every score each token is inside an entity; these never are."""
    import winner

    monkeypatch.chdir(REPO)
    run = winner.train_model("configs/default.yaml", {"train.epochs": 1, "output.run_dir": str(tmp_path / "r")},
                             log=lambda line: None)
    nlp = winner.load(run.best_dir)
    nlp.loaded.meta.update(threshold=-1e30, thresholds=[-1e30] * len(nlp.labels))
    doc = nlp("Visit https://example.com/stores/amsterdam or info@klm.nl or @KLM in Amsterdam")
    never = {"https://example.com/stores/amsterdam", "info@klm.nl", "@KLM"}
    assert {t for t, tag in zip(doc.tokens, doc.tags) if tag == "O"} == never
    assert [e.text for e in doc.entities] == ["Visit", "or", "or", "in Amsterdam"]
    [tokens] = nlp.pipe([["see", "@KLM", "Paris"]])
    assert tokens.tags == ["B-LOC", "O", "B-LOC"]
