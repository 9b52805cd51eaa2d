"""winner from Python: load a model and tag text, evaluate a model, train one.

    >>> import winner
    >>> nlp = winner.load("runs/default/model-best")
    >>> doc = nlp("Not all museums in Paris are amazing.")
    >>> [(e.text, e.start, e.end, e.label) for e in doc.entities]
    [('Paris', 19, 24, 'LOC')]

The names follow spaCy's and flair's: `load` a model directory, call it on a
string (raw text, tokenized as `winner predict` does) or on a list of tokens
(taken as they are), `pipe` many, read `doc.entities`. Every problem with the
user's input raises a WinnerError with a one-line message; nothing here exits.
The CLI goes through these functions, so Python and the shell give the same
answers.
"""

from __future__ import annotations

from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, Mapping, Sequence, Union

from winner import checkpoint
from winner.errors import WinnerError
from winner.tagger import Tagger, TaggedBatch
from winner.tokenizer import spans, split

if TYPE_CHECKING:  # imported when first needed: `winner predict` renders batches and builds none of them
    from winner.results import Doc, Evaluation
    from winner.ensemble import Ensemble
    from winner.run import TrainResult  # training code is imported only when train_model() is called

Text = Union[str, Sequence[str]]  # raw text, or one sentence's tokens


class Model:
    """A trained model, ready to tag: winner.load(path) makes one.

    model(text) or model.tag(text) tags one text; model.pipe(texts) many,
    in batches. A text is a str (raw text, cut into tokens as `winner predict`
    cuts it: see the README's tokenizer section) or a list of str (tokens,
    never cut again).
    """

    def __init__(self, loaded: checkpoint.LoadedModel, path: Path):
        self.path = path
        self.loaded = loaded
        self.tagger = Tagger(loaded)

    def __repr__(self) -> str:
        return f"winner.Model({str(self.path)!r}, label={self.label!r}, threshold={self.threshold:+.4f})"

    @property
    def label(self) -> str:
        """The model's target entity type, e.g. 'LOC'."""
        return self.loaded.target

    @property
    def labels(self) -> tuple:
        """Every entity type the model tags (one for a max-margin model)."""
        return tuple(self.loaded.types)

    @property
    def threshold(self) -> float:
        """The target type's threshold: a token is of that type when its score is above it (picked on dev)."""
        return self.loaded.threshold

    def __call__(self, text: Text) -> Doc:
        return self.tag(text)

    def tag(self, text: Text) -> Doc:
        """Tag one text: a str of raw text or a list of tokens. Raises WinnerError for anything else."""
        return next(self.pipe([text]))

    def pipe(self, texts: Iterable[Text], batch_size: int = 4096) -> Iterator[Doc]:
        """Tag many texts, batch_size at a time (the speed of `winner predict`), yielding one Doc per
        text, in order. Texts may mix raw strings and token lists."""
        if isinstance(texts, str):
            raise WinnerError("pipe() takes an iterable of texts; for one string use tag(text)")
        if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
            raise WinnerError(f"batch_size {batch_size!r}: expected a whole number of texts, 1 or more")
        texts, done = iter(texts), 0
        while batch := list(islice(texts, batch_size)):
            yield from self._docs(self.tag_batch(batch, done), batch)
            done += len(batch)

    def tag_batch(self, texts: list, first: int = 0) -> TaggedBatch:
        """The batch-level result that `winner predict` renders: tokens, scores and entity runs of
        all texts laid end to end. Token lists keep their tokens; strings are cut into tokens.
        first: the number of texts before these, for the index an error names."""
        if all(isinstance(text, str) for text in texts):  # raw text, as `winner predict` sends
            return self.tagger.tag_batch(texts)
        lines, token_lists = [], []
        for i, text in enumerate(texts, start=first):
            if isinstance(text, str):
                lines.append(text)
                token_lists.append(split(text))
            elif isinstance(text, Sequence) and all(isinstance(t, str) for t in text):
                if not all(token.strip() for token in text):  # its span in the joined line would be empty
                    empty = next(j for j, token in enumerate(text) if not token.strip())
                    raise WinnerError(f"text {i}: token {empty} is empty or white space only")
                lines.append(" ".join(text))
                token_lists.append(list(text))
            else:
                raise WinnerError(f"text {i}: expected a string or a list of token strings, got "
                                  f"{type(text).__name__}")
        return self.tagger.tag_batch(lines, token_lists)

    def _docs(self, batch: TaggedBatch, texts: list) -> Iterator[Doc]:
        from winner.results import Doc, Entity

        offsets, types = batch.offsets.tolist(), batch.types
        runs: dict[int, list] = {}
        for line, start, end, mean, kind in zip(batch.line_of(batch.starts).tolist(), batch.starts.tolist(),
                                                batch.ends.tolist(), batch.means.tolist(), batch.kinds.tolist()):
            runs.setdefault(line, []).append((start - offsets[line], end - offsets[line], mean, types[kind]))
        for i, (text, line) in enumerate(zip(texts, batch.lines)):
            tokens = batch.tokens[offsets[i]: offsets[i + 1]]
            bounds = spans(line) if isinstance(text, str) else _joined_spans(tokens)
            tags, entities = ["O"] * len(tokens), []
            for first, stop, mean, label in runs.get(i, []):
                tags[first:stop] = [f"B-{label}"] + [f"I-{label}"] * (stop - first - 1)
                start, end = bounds[first][0], bounds[stop - 1][1]
                entities.append(Entity(line[start:end], start, end, label, mean, first, stop))
            scores = [dict(zip(types, row)) for row in batch.scores[offsets[i]: offsets[i + 1]].tolist()]
            yield Doc(line, tokens, tags, scores, entities)

    def evaluate(self, data_file, label_map: Mapping[str, str] | None = None, scheme: str = "auto",
                 allow_no_gold: bool = False) -> Evaluation:
        """Scores on a CoNLL file with gold tags in the last column, as `winner eval` gives them.

        label_map renames the file's entity types to the model's ({'location': 'LOC'}); scheme is
        'auto' (IOB1, IOB2 and IOBES read by conlleval's rules) or one of 'iob1', 'iob2', 'iobes',
        enforced line by line. Raises WinnerError naming the file and line of a problem, and when the
        file holds no entity of the model's target type unless allow_no_gold."""
        from winner import scoring
        from winner.config_values import SCHEMES
        from winner.results import Evaluation

        if scheme not in SCHEMES:
            raise WinnerError(f"scheme '{scheme}': expected {', '.join(SCHEMES[:-1])} or {SCHEMES[-1]}")
        if label_map is not None and not isinstance(label_map, Mapping):
            raise WinnerError(f"label_map {label_map!r}: expected a mapping of the file's types to the model's, "
                              f"such as {{'location': 'LOC'}}")
        result = scoring.evaluate(scoring.score_file(self.loaded, data_file, dict(label_map or {}), scheme,
                                                     allow_no_gold))
        return Evaluation(**{name: result[name] for name in Evaluation.__dataclass_fields__ if name in result})


def _joined_spans(tokens: list[str]) -> list[tuple[int, int]]:
    """(start, end) of each token in ' '.join(tokens)."""
    bounds, cursor = [], 0
    for token in tokens:
        bounds.append((cursor, cursor + len(token)))
        cursor += len(token) + 1
    return bounds


def load(path) -> Model:
    """Load a model directory (e.g. 'runs/default/model-best'), as written by `winner train`.

    Raises WinnerError naming the file when the directory is missing, incomplete or corrupted."""
    return Model(checkpoint.load(path), Path(path))


def evaluate(model, data_file, label_map: Mapping[str, str] | None = None, scheme: str = "auto",
             allow_no_gold: bool = False) -> Evaluation:
    """Scores of a model (a directory or a loaded Model) on a CoNLL file: see Model.evaluate."""
    return (model if isinstance(model, Model) else load(model)).evaluate(data_file, label_map, scheme, allow_no_gold)


def train_model(config, overrides: Sequence[str] | Mapping[str, object] = (), resume: bool = False,
                overwrite: bool = False, log: Callable[[str], None] | None = None) -> TrainResult:
    """Train as a config says and return the run: TrainResult(run_dir, best_dir, last_dir, rows, best,
    target), where rows are metrics.jsonl's objects (one per epoch), best is model-best's row and
    .summary the line `winner train` ends with.

    config: a YAML file's path, or a dict of sections as the file would hold them
    ({'train': {'epochs': 5}}); overrides: 'section.key=value' strings (the value parsed as YAML)
    or a {'section.key': value} dict. resume: continue output.run_dir's model-last; overwrite: replace
    the run output.run_dir holds (without either, a directory holding a run is refused). log receives
    one line per epoch and notes (default: print them on stderr). Config and data problems and
    divergence raise WinnerError; Ctrl-C raises KeyboardInterrupt after saving model-last."""
    from winner import run

    _check_overrides(overrides)
    if not isinstance(config, dict):
        config = Path(config)
    return run.run_training(config, overrides, log=log or _stderr, resume=resume, overwrite=overwrite)


def _check_overrides(overrides) -> None:
    """A WinnerError for overrides given as one string: read as a sequence, it would be its characters."""
    if isinstance(overrides, str):
        raise WinnerError(f"overrides {overrides!r}: expected a list of 'section.key=value' strings or a mapping "
                          f"(put the one override in a list)")


def _stderr(line: str) -> None:
    import sys

    print(line, file=sys.stderr)


def train_ensemble(config, seeds: Sequence[int] = (0, 1, 2), overrides: Sequence[str] | Mapping[str, object] = (),
                   resume: bool = False, overwrite: bool = False, log: Callable[[str], None] | None = None) -> Ensemble:
    """Train one model per seed and merge them into one ensemble model (`winner train CONFIG --seeds`).

    Each member is an ordinary run in RUN_DIR/members/seed-K (RUN_DIR: output.run_dir); the
    ensemble, whose scores are the mean of the members' (winner/ensemble.py), is saved as
    RUN_DIR/model-best and loads with load() like any model. config and overrides as for
    train_model (overrides may not set train.seed); resume keeps finished members and continues
    the others; overwrite trains every member afresh. Returns Ensemble(out, members, seeds,
    member_dev, dev, dev_file); .table() is the dev F1 of each member and of the ensemble.
    Raises WinnerError as train_model does, and when the members cannot be merged."""
    from winner import members

    _check_overrides(overrides)
    if not isinstance(config, dict):
        config = Path(config)
    return members.train_members(config, overrides, seeds, resume=resume, overwrite=overwrite, log=log or _stderr)


def build_ensemble(model_dirs: Sequence, out, dev=None, overwrite: bool = False,
                   log: Callable[[str], None] | None = None) -> Ensemble:
    """Merge trained model directories (one config, different train.seed) into one ensemble model
    directory `out` (`winner ensemble`); each type's threshold is picked on `dev` (default the
    members' data.dev) for the averaged scores. An existing `out` is replaced only with overwrite.
    Raises WinnerError naming the directory or file at fault."""
    from winner import ensemble

    return ensemble.build(model_dirs, out, dev, overwrite, log or _stderr)
