"""Inputs real users send, each a kind that broke tools of this kind in public reports.

Vectors files (words with spaces, byte-order marks), the line rule (a line ends at \\n, with
\\r\\n allowed, in every file and stream winner reads), CoNLL columns (tab-separated files),
label maps over any tag scheme, repeated YAML keys, and raw text with combining marks,
invisible format characters and either Unicode normal form.
"""

from __future__ import annotations

import gzip
import json
import unicodedata
from pathlib import Path

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from helpers import error_message
from winner import checkpoint, config, gazetteer, marks
from winner.cli import app
from winner.corpus import Sentence, read_conll, split, tokenize, write_conll
from winner.embeddings import read_vectors
from winner.features import Featurizer, Vocab, load_featurizer, save_featurizer
from winner.gazetteer import Gazetteer
from winner.keys import normalise
from winner.metrics import chunks

# Every character Python's str.splitlines() ends a line at, besides \n.
OTHER_BREAKS = ["\r", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]
VECTOR = "0.1 0.2 0.3 0.4 0.5"


def write(path: Path, content: str) -> Path:
    path.write_bytes(content.encode("utf-8"))  # byte for byte: no newline translation
    return path


def invoke(*args, input: str | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], input=input)


@pytest.fixture(scope="module")
def model_dir(in_repo_root, tmp_path_factory) -> Path:
    """A small model trained on the sample corpus with word endings and a gazetteer, so that
    every feature a token has is exercised."""
    tmp = tmp_path_factory.mktemp("inputs")
    places = write(tmp / "places.txt", "Zürich\nSão Paulo\nहिन्दी\n")
    result = invoke("train", "configs/default.yaml", f"output.run_dir={tmp / 'run'}", "train.epochs=2",
                    "features.suffix_dim=5", f"features.gazetteer={places}", "model.hidden=20")
    assert result.exit_code == 0, result.output
    return tmp / "run" / "model-best"


# ---------------------------------------------------------------- 3. vectors files

@pytest.mark.parametrize("first", [True, False], ids=["first-line", "later-line"])
def test_a_vectors_word_may_hold_spaces_the_vector_is_the_last_fields(tmp_path, first):
    lines = [f". . . {VECTOR}", f"at name@domain.com {VECTOR}"]
    lines.insert(0 if not first else 2, f"the {VECTOR}")
    words, matrix = read_vectors(write(tmp_path / "v.txt", "\n".join(lines) + "\n"), 5)
    assert sorted(words) == [". . .", "at name@domain.com", "the"]
    assert matrix.shape == (3, 5)
    assert np.array_equal(matrix[words.index(". . .")], np.array([0.1, 0.2, 0.3, 0.4, 0.5], np.float32))


@pytest.mark.parametrize("number", [1, 2])
def test_a_vectors_line_of_a_word_and_too_many_numbers_is_refused_with_its_line(tmp_path, number):
    lines = [f"the {VECTOR}", f"of {VECTOR}"]
    lines[number - 1] = f"city {VECTOR} 0.6 0.7"
    path = write(tmp_path / "v.txt", "\n".join(lines) + "\n")
    message = error_message(read_vectors, path, 5)
    assert message.startswith(f"{path}:{number}: "), message
    assert ("dimension 7" if number == 1 else "7 values") in message


@pytest.mark.parametrize("suffix", [".txt", ".txt.gz"])
@pytest.mark.parametrize("header", ["", "2 5\n"], ids=["glove", "word2vec"])
def test_a_byte_order_mark_before_the_vectors_is_dropped(tmp_path, suffix, header):
    content = ("\ufeff" + header + f"the {VECTOR}\nParis {VECTOR}\n").encode("utf-8")
    path = tmp_path / f"v{suffix}"
    path.write_bytes(gzip.compress(content) if suffix.endswith(".gz") else content)
    words, _ = read_vectors(path, 5)
    assert words == ["the", "paris"]


@pytest.mark.parametrize("char", OTHER_BREAKS, ids=[f"U+{ord(c):04X}" for c in OTHER_BREAKS])
def test_a_vectors_word_holding_a_line_break_character_is_one_word_and_lines_count_at_newlines(tmp_path, char):
    path = write(tmp_path / "v.txt", f"a{char}b {VECTOR}\nc 0.1 0.2\n")
    message = error_message(read_vectors, path, 5)
    assert message.startswith(f"{path}:2: "), message
    words, _ = read_vectors(write(tmp_path / "w.txt", f"a{char}b {VECTOR}\nc {VECTOR}\r\n"), 5)
    assert words == [normalise(f"a{char}b"), "c"]


# ---------------------------------------------------------------- 4. lines

@pytest.mark.parametrize("char", OTHER_BREAKS, ids=[f"U+{ord(c):04X}" for c in OTHER_BREAKS])
def test_conll_lines_end_at_newline_only(tmp_path, char):
    content = f"New B-LOC{char}\nYork I-LOC\n\nParis B-LOC\n"
    [sentence, paris] = read_conll(write(tmp_path / "c.txt", content))
    assert (sentence.tokens, sentence.tags) == (["New", "York"], ["B-LOC", "I-LOC"])
    assert paris.line == 4
    path = write(tmp_path / "d.txt", content + "is\n")
    message = error_message(read_conll, path)
    assert message.startswith(f"{path}:5: "), message  # the one-column line, counted as editors count


@pytest.mark.parametrize("char", OTHER_BREAKS, ids=[f"U+{ord(c):04X}" for c in OTHER_BREAKS])
def test_a_line_break_character_inside_a_conll_line_is_an_error_naming_the_line(tmp_path, char):
    path = write(tmp_path / "c.txt", f"In O\nNew{char}York B-LOC\n")
    message = error_message(read_conll, path)
    assert message.startswith(f"{path}:2: U+{ord(char):04X} "), message


def test_a_line_of_nothing_but_a_line_separator_is_blank(tmp_path):
    [first, second] = read_conll(write(tmp_path / "c.txt", "Paris B-LOC\n\u2028\nRome B-LOC\n"))
    assert (first.tokens, second.tokens, second.line) == (["Paris"], ["Rome"], 3)


@pytest.mark.parametrize("char", OTHER_BREAKS, ids=[f"U+{ord(c):04X}" for c in OTHER_BREAKS])
def test_gazetteer_lists_end_lines_at_newline_only(tmp_path, char):
    names = Gazetteer.load(write(tmp_path / "g.txt", f"Saint{char}Louis\nParis\n")).names
    assert names == [("paris",), ("saint", "louis")]


def test_a_byte_order_mark_before_a_gazetteer_list_or_a_config_is_dropped(tmp_path):
    assert Gazetteer.load(write(tmp_path / "g.txt", "\ufeffParis\r\nSão Paulo\r\n")).names == [("paris",), ("são", "paulo")]
    assert config.load(write(tmp_path / "c.yaml", "\ufefftrain:\r\n  lr: 0.2\r\n")).train.lr == 0.2


@pytest.mark.parametrize("char", OTHER_BREAKS + ["\ufeff"], ids=[f"U+{ord(c):04X}" for c in OTHER_BREAKS + ["\ufeff"]])
def test_model_directory_text_files_round_trip_words_holding_line_break_characters(tmp_path, char):
    f = config.Config().features
    f = type(f)(**{**f.__dict__, "suffix_dim": 2, "train_gazetteer": True})
    names = Gazetteer([(f"x{char}y", "z")], normalised=True)
    featurizer = Featurizer(Vocab(["<unk>", "<s>", "</s>", f"a{char}b", "c"]), f.half_window,
                            suffixes=Vocab(["<unk>", "<s>", "</s>", f"{char}q"]), gazetteers={"seen": names})
    save_featurizer(featurizer, tmp_path, lambda path, text: path.write_text(text, encoding="utf-8"))
    back = load_featurizer(tmp_path, f)
    assert back.vocab.words == featurizer.vocab.words
    assert back.suffixes.words == featurizer.suffixes.words
    assert back.gazetteers["seen"].names == names.names


@pytest.mark.parametrize("char", OTHER_BREAKS, ids=[f"U+{ord(c):04X}" for c in OTHER_BREAKS])
def test_predict_text_argument_ends_lines_at_newline_only_as_stdin_does(model_dir, char):
    text = f"She flew to Paris{char}and Rome ."
    argument = invoke("predict", text, "--model", model_dir, "--format", "json")
    stdin = invoke("predict", "--model", model_dir, "--format", "json", input=text + "\n")
    assert argument.exit_code == 0 and stdin.exit_code == 0, argument.output + stdin.output
    assert argument.stdout == stdin.stdout
    assert [json.loads(line)["text"] for line in argument.stdout.split("\n") if line] == [text]


def test_predict_text_argument_keeps_newline_and_crlf_as_line_ends(model_dir):
    result = invoke("predict", "Paris is big\r\nRome too\n", "--model", model_dir, "--format", "json")
    assert [json.loads(line)["text"] for line in result.stdout.split("\n") if line] == ["Paris is big", "Rome too"]


@pytest.mark.parametrize("command", ["predict", "explain"])
def test_a_byte_order_mark_on_stdin_is_dropped(model_dir, command):
    plain = invoke(command, "--model", model_dir, "--format", "json", input="Paris is big\nRome too\n")
    marked = invoke(command, "--model", model_dir, "--format", "json", input="\ufeffParis is big\nRome too\n")
    assert marked.exit_code == 0, marked.output
    assert marked.stdout == plain.stdout


# ---------------------------------------------------------------- 5. columns

def test_a_tab_separated_file_is_split_at_tabs_so_a_token_may_hold_spaces(tmp_path):
    path = write(tmp_path / "c.txt", "-DOCSTART- -X- -X- O\n\nIn\tO\nSan Sebastian\tB-LOC\nit\tO\n")
    [sentence] = read_conll(path)
    assert sentence.tokens == ["In", "San Sebastian", "it"]
    assert sentence.tags == ["O", "B-LOC", "O"]


def test_a_tab_separated_file_with_more_columns_keeps_the_token_whole(tmp_path):
    path = write(tmp_path / "c.txt", "San Sebastian\tNNP\tB-NP\tB-LOC\n")
    [sentence] = read_conll(path)
    assert (sentence.tokens, sentence.tags) == (["San Sebastian"], ["B-LOC"])


def test_a_line_without_tabs_in_a_tab_separated_file_is_ambiguous_and_named(tmp_path):
    path = write(tmp_path / "c.txt", "In\tO\nSan Sebastian B-LOC\n")
    message = error_message(read_conll, path)
    assert message.startswith(f"{path}:2: ") and "line 1" in message and "San Sebastian" in message, message


def test_a_line_whose_token_and_tag_columns_both_hold_spaces_is_ambiguous_and_named(tmp_path):
    path = write(tmp_path / "c.txt", "In\tO\nSan Sebastian\tNNP B-LOC\n")
    message = error_message(read_conll, path)
    assert message.startswith(f"{path}:2: "), message


def test_a_no_break_space_is_part_of_a_token_as_in_conlleval(tmp_path):
    [sentence] = read_conll(write(tmp_path / "c.txt", "San\u00a0Sebastian B-LOC\nit O\n"))
    assert sentence.tokens == ["San\u00a0Sebastian", "it"]


def test_write_conll_keeps_a_token_holding_a_space_whole(tmp_path):
    sentences = [Sentence(["In", "San Sebastian", "it"], ["O", "B-LOC", "O"])]
    write_conll(sentences, tmp_path / "out.txt")
    [back] = read_conll(tmp_path / "out.txt")
    assert back.tokens == sentences[0].tokens


def test_write_conll_refuses_a_token_that_could_not_be_read_back(tmp_path):
    message = error_message(write_conll, [Sentence(["a\tb"], ["O"])], tmp_path / "out.txt")
    assert message.startswith(f"{tmp_path / 'out.txt'}: "), message


# ---------------------------------------------------------------- 6. label maps and tag schemes

SCHEMES = {
    "iob1": "Mount I-LOC\nFuji I-LOC\nJapan I-GPE\nand O\nTokyo I-LOC\nOsaka B-LOC\n",
    "iob2": "Mount B-LOC\nFuji I-LOC\nJapan B-GPE\nand O\nTokyo B-LOC\nOsaka B-LOC\n",
    "iobes": "Mount B-LOC\nFuji E-LOC\nJapan S-GPE\nand O\nTokyo S-LOC\nOsaka S-LOC\n",
}


@pytest.mark.parametrize("scheme", SCHEMES)
def test_a_label_map_renames_entities_found_on_the_files_own_tags(tmp_path, scheme):
    path = write(tmp_path / "c.txt", SCHEMES[scheme])
    for declared in ("auto", scheme):
        [sentence] = read_conll(path, declared, {"GPE": "LOC"})
        assert chunks(sentence.tags) == [("LOC", 0, 2), ("LOC", 2, 3), ("LOC", 4, 5), ("LOC", 5, 6)]


@pytest.mark.parametrize("scheme", SCHEMES)
def test_training_names_see_the_renamed_entities_whatever_the_scheme(tmp_path, scheme):
    sentences = read_conll(write(tmp_path / "c.txt", SCHEMES[scheme]), label_map={"GPE": "LOC"})
    names = gazetteer.from_training(sentences, "LOC")["seen"].names
    assert names == [("japan",), ("mount", "fuji"), ("osaka",), ("tokyo",)]


def _in_scheme(tags: list[str], scheme: str) -> list[str]:
    """IOB2 tags rewritten in IOB1 or IOBES, the same entities."""
    if scheme == "iob2":
        return tags
    found = chunks(tags)
    out = ["O"] * len(tags)
    for i, (kind, start, end) in enumerate(found):
        touching = i > 0 and found[i - 1][2] == start and found[i - 1][0] == kind
        for j in range(start, end):
            if scheme == "iob1":
                out[j] = f"{'B' if j == start and touching else 'I'}-{kind}"
            elif end - start == 1:
                out[j] = f"S-{kind}"
            else:
                out[j] = f"{'B' if j == start else 'E' if j == end - 1 else 'I'}-{kind}"
    return out


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["O", "B", "I"]), st.sampled_from(["LOC", "GPE", "PER"])), min_size=1,
                max_size=8),
       st.dictionaries(st.sampled_from(["LOC", "GPE", "PER"]), st.sampled_from(["LOC", "GPE", "PER", "X"])))
def test_entity_count_under_a_label_map_does_not_depend_on_the_scheme(drawn, label_map):
    tags, previous = [], None
    for prefix, kind in drawn:  # valid IOB2: I- only inside an entity of its own type
        prefix = "B" if prefix == "I" and previous is None else prefix
        kind = previous if prefix == "I" else kind
        tags.append("O" if prefix == "O" else f"{prefix}-{kind}")
        previous = None if prefix == "O" else kind
    expected = [(label_map.get(kind, kind), a, b) for kind, a, b in chunks(tags)]
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        for scheme in ("iob2", "iob1", "iobes"):
            written = _in_scheme(tags, scheme)
            path = write(Path(tmp) / f"{scheme}.txt", "".join(f"w{i} {t}\n" for i, t in enumerate(written)))
            [sentence] = read_conll(path, scheme, label_map)
            assert chunks(sentence.tags) == expected, (scheme, written)


def test_eval_counts_the_same_gold_entities_under_a_label_map_in_iob1_and_iob2(model_dir, tmp_path):
    counts = []
    for scheme in ("iob1", "iob2"):
        path = write(tmp_path / f"{scheme}.txt", SCHEMES[scheme])
        result = invoke("eval", model_dir, path, "--format", "json", "--label-map", "GPE=LOC")
        assert result.exit_code == 0, result.output
        counts.append(json.loads(result.stdout)["gold"])
    assert counts == [4, 4]


# ---------------------------------------------------------------- 7. config

def test_a_config_section_written_twice_is_an_error_naming_both_lines(tmp_path):
    path = write(tmp_path / "c.yaml", "train: {lr: 0.2}\nmodel:\n  hidden: 3\n\ntrain: {epochs: 1}\n")
    message = error_message(config.load, path)
    assert message.startswith(f"{path}:5: ") and "'train'" in message and "1 and 5" in message, message


def test_a_key_written_twice_inside_a_section_is_an_error(tmp_path):
    path = write(tmp_path / "c.yaml", "\ufefftrain:\n  lr: 0.2\n  epochs: 1\n  lr: 0.3\n")
    message = error_message(config.load, path)
    assert message.startswith(f"{path}:4: ") and "'lr'" in message and "2 and 4" in message, message


def test_line_numbers_of_yaml_errors_count_newlines_only(tmp_path):
    path = write(tmp_path / "c.yaml", "data:\n  target: \"A\u2028B\"\ntrain:\n  lr: 0.2\n  lr: 0.3\n")
    message = error_message(config.load, path)
    assert message.startswith(f"{path}:5: "), message


def test_a_key_written_twice_in_an_override_value_is_an_error():
    message = error_message(config.load, "configs/default.yaml", ["data.label_map={a: LOC, a: PER}"])
    assert "'a'" in message and "twice" in message, message


def test_a_repeated_key_in_a_model_directorys_config_is_an_error(model_dir, tmp_path):
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(model_dir, copy)
    with open(copy / "config.yaml", "a", encoding="utf-8") as handle:
        handle.write("train:\n  lr: 9.0\n")
    message = error_message(checkpoint.load, copy)
    assert message.startswith(f"{copy / 'config.yaml'}:") and "'train'" in message, message


# ---------------------------------------------------------------- 8. raw text

WHOLE_WORDS = [
    "Zu\u0308rich",              # Zürich, decomposed (macOS, PDFs)
    "Zür\u00adich",              # soft hyphen
    "हिन्दी",                      # Devanagari: vowel signs and virama
    "भाषा",
    "العَرَبِيَّة",                   # Arabic with harakat
    "เชียงใหม่",                   # Thai vowel and tone marks
    "می\u200cخواهم",              # Persian: zero-width non-joiner
    "क्\u200dष",                   # Devanagari with zero-width joiner
    "a\u2060b",                  # word joiner
    "e\u0301te\u0301",           # été, decomposed
    "Nguye\u0302\u0303n",        # Vietnamese: two stacked marks
    "\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd",  # Hebrew with points
]


@pytest.mark.parametrize("word", WHOLE_WORDS)
def test_a_word_is_not_cut_at_a_combining_mark_or_format_character(word):
    assert [t for t, _, _ in tokenize(word)] == [word]
    assert split(word) == [word]
    assert split(f"in {word}, then") == ["in", word, ",", "then"]


def test_marks_follow_any_other_character_into_its_token():
    assert split("1\u20e3 \u2764\ufe0f =\u0338 \u0308x (\u0301a)") == ["1\u20e3", "\u2764\ufe0f", "=\u0338", "\u0308x",
                                                                     "(\u0301", "a", ")"]


def test_clitics_and_abbreviations_work_with_marks():
    assert split("Germa\u0301ny's") == ["Germa\u0301ny", "'s"]
    assert split("do\u0301n't") == ["do\u0301", "n't"]
    assert split("U\u0308.S\u0308.") == ["U\u0308.S\u0308."]
    assert split("’s\u0301") == split(unicodedata.normalize("NFD", "’ś")) == ["’", "s\u0301"]


def test_the_table_of_marks_is_the_unicode_database_of_this_python():
    if unicodedata.unidata_version != marks.UNIDATA_VERSION:
        pytest.skip(f"table from Unicode {marks.UNIDATA_VERSION}, this Python has {unicodedata.unidata_version}")
    assert marks.ranges() == marks.scan()


def _no_cut_before_a_mark(text: str) -> None:
    found = tokenize(text)
    for token, start, end in found:
        assert text[start:end] == token
        if start > 0 and not text[start - 1].isspace():
            assert unicodedata.category(token[0]) not in marks.CATEGORIES, (text, token)
    assert "".join(token for token, _, _ in found) == "".join(text.split())  # nothing but white space is dropped


ALPHABET = list("aZéüiIß東اn'’t.-,:/_s1٣ \t") + ["\u0308", "\u0301", "\u0307", "\u093f", "\u094d", "\u0e34",
                                                "\u064e", "\u200d", "\u200c", "\u00ad", "\u2060", "\ufe0f",
                                                "\u20e3", "\u0130", "\u212b", "\u00c5", "\u1e9e"]
MARKED_TEXT = st.text(st.sampled_from(ALPHABET), max_size=30)


@settings(max_examples=1500, deadline=None)
@given(MARKED_TEXT)
@example("Zu\u0308rich")
def test_no_token_starts_with_a_mark_unless_white_space_is_before_it(text):
    _no_cut_before_a_mark(text)


@settings(max_examples=1500, deadline=None)
@given(MARKED_TEXT)
def test_split_takes_the_same_tokens_as_tokenize_with_marks(text):
    assert split(text) == [token for token, _, _ in tokenize(text)]


@settings(max_examples=1000, deadline=None)
@given(MARKED_TEXT)
@example("Zürich Zu\u0308rich")
@example("\u0130stanbul")
def test_nfc_and_nfd_text_give_the_same_tokens_and_keys(text):
    composed, decomposed = (unicodedata.normalize(form, text) for form in ("NFC", "NFD"))
    a, b = split(composed), split(decomposed)
    assert [unicodedata.normalize("NFC", t) for t in b] == a
    for lowercase in (True, False):
        assert [normalise(t, lowercase) for t in a] == [normalise(t, lowercase) for t in b]


def test_vocabulary_keys_are_nfc_without_invisible_characters():
    assert normalise("Zu\u0308rich") == normalise("Zürich") == normalise("Zür\u00adich") == "zürich"
    assert normalise("\ufeffthe") == "the"


@pytest.mark.parametrize("text", ["Flights to Zürich and São Paulo from हिन्दी .",
                                  "Er wohnt in Zürich , nicht in Genf ."])
def test_predict_tags_nfd_text_as_it_tags_nfc_text_with_offsets_into_the_users_text(model_dir, text):
    results = {}
    for form in ("NFC", "NFD"):
        line = unicodedata.normalize(form, text)
        result = invoke("explain", line, "--model", model_dir, "--all", "--format", "json")
        assert result.exit_code == 0, result.output
        record = json.loads(result.stdout)
        for token in record["tokens"]:
            assert line[token["start"]: token["end"]] == token["text"]
        results[form] = [(unicodedata.normalize("NFC", t["text"]), t["score"], t["location"])
                         for t in record["tokens"]]
        conll = invoke("predict", line, "--model", model_dir, "--format", "conll").stdout
        results[form + " conll"] = [row.split("\t")[1] for row in conll.splitlines() if row]
    assert results["NFC"] == results["NFD"]
    assert results["NFC conll"] == results["NFD conll"]
    assert "Zürich" in [t for t, _, _ in results["NFD"]]


def test_document_consistency_groups_nfc_and_nfd_forms_of_a_string_together():
    from winner import consistency

    tokens = ["Zürich", "Zu\u0308rich", "Zür\u00adich", "Genf", "Zürich"]
    assert consistency.groups(tokens, [0, 0, 0, 0, 1]).tolist() == [0, 0, 0, 1, 2]


def test_an_error_quoting_a_line_separator_is_still_one_line_for_every_tool(in_repo_root, tmp_path):
    vectors = write(tmp_path / "v.txt", f"the {VECTOR}\nNew\u2028York 0.1 0.2 x\u2028y 0.4 0.5\n")
    result = invoke("train", "configs/default.yaml", f"features.vectors={vectors}", "features.word_dim=5",
                    f"output.run_dir={tmp_path / 'run'}")
    assert result.exit_code == 1
    assert len(result.stderr.splitlines()) == 1, result.stderr  # splitlines: as strictly as any tool
    assert result.stderr.startswith(f"error: {vectors}:2: 'x\\u2028y' is not a number"), result.stderr
