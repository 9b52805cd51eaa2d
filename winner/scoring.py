"""What `winner eval` does with a file: a saved model's scores on a CoNLL file and the
conlleval-style entity scores of every entity type of the model at its thresholds."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from winner import casing, checkpoint, decode, recipe
from winner.corpus import read_conll
from winner.train import DevSet, token_accuracy


@dataclass
class ScoredFile:
    """A saved model's scores per (token, entity type) on a CoNLL file, after document consistency."""

    loaded: checkpoint.LoadedModel
    sentences: list
    dev: DevSet
    scores: np.ndarray  # (N, T) one row per token of the file, one column per entity type of the model

    @property
    def labels(self) -> np.ndarray:
        """(N,) each token's type index, or decode.OUTSIDE, by the model's thresholds."""
        return decode.decide(self.scores, self.loaded.thresholds)


def score_file(model_dir, data_file, label_map: dict, scheme: str = "auto", allow_no_gold: bool = False,
               recase: str | None = None, processes: int = 1) -> ScoredFile:
    """Read a model (a directory, or one loaded already) and a CoNLL file and score every token's
    window, as `winner eval` decides.

    Raises WinnerError when the file holds no entity of the model's target
    type, naming the types it has, unless allow_no_gold. recase 'lower' or
    'upper' puts every token of the file in that casing first (winner/casing.py). processes: how many
    share out the scoring of a large file (winner.fastscore).
    """
    loaded = model_dir if isinstance(model_dir, checkpoint.LoadedModel) else checkpoint.load(model_dir)
    sentences = read_conll(data_file, scheme, {**loaded.config.data.label_map, **label_map})
    if not allow_no_gold:
        recipe.require_target(sentences, loaded.target, data_file, "there is nothing to score against",
                              f"map the file's type to the model's with --label-map, e.g. --label-map "
                              f"location={loaded.target}, or add --allow-no-gold to score a file without gold entities")
    if recase is not None:
        sentences = casing.recase(sentences, recase)
    dev = recipe.make_dev(loaded.featurizer, sentences, loaded.target, loaded.config.decode.document_consistency,
                          loaded.objective.label_types)
    scores = loaded.type_scores(dev.windows.ids, processes)  # (N, T)
    return ScoredFile(loaded, sentences, dev, decode.smooth(scores, dev.groups, dev.consistency))


def evaluate(scored: ScoredFile) -> dict:
    """conlleval-style scores of the scored file at the model's thresholds: the entities of all the
    model's types counted together, and under "types" each type's own."""
    labels = scored.labels
    per_type = decode.score_types(labels, scored.dev.scorers)
    result = decode.overall(per_type).as_dict()
    result.update(
        target=scored.loaded.target,
        threshold=scored.loaded.threshold,
        tokens=int(labels.size),
        token_accuracy=token_accuracy(scored.dev, labels),
        sentences=len(scored.sentences),
        types={kind: {**s.as_dict(), "threshold": float(t)}
               for kind, s, t in zip(scored.loaded.types, per_type, scored.loaded.thresholds)},
    )
    return result
