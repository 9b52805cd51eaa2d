"""What the Python API returns: a tagged text (Doc) with its entities (Entity), and a model's scores
on a CoNLL file (Evaluation). Plain data; winner.api builds them."""

from __future__ import annotations

from dataclasses import dataclass, field

from winner.metrics import Scores, report


@dataclass
class Entity:
    """A predicted entity: its text, its character offsets into Doc.text (end exclusive), its type,
    its score (the mean window score of its tokens; above the model's threshold) and its tokens
    (Doc.tokens[token_start:token_end])."""

    text: str
    start: int
    end: int
    label: str
    score: float
    token_start: int
    token_end: int

    def as_dict(self) -> dict:
        """The record `winner predict --format json` prints for an entity."""
        return {"text": self.text, "start": self.start, "end": self.end, "score": round(self.score, 4),
                "label": self.label}


@dataclass
class Doc:
    """One tagged text. For tokens given as a list, text is the tokens joined by single spaces
    (as spaCy's Doc(words=...) does), and offsets point into it."""

    text: str
    tokens: list  # [str], (T,)
    tags: list  # [str], (T,) IOB2 tags: B-LABEL, I-LABEL or O
    scores: list  # [{label: float}], (T,) each token's score for each of the model's entity types
    entities: list  # [Entity]

    def as_dict(self) -> dict:
        """The record `winner predict --format json` prints for a line."""
        return {"text": self.text, "entities": [e.as_dict() for e in self.entities]}


@dataclass
class Evaluation:
    """Entity-level scores of a model on a CoNLL file, by conlleval's rules: precision = correct /
    predicted, recall = correct / gold, f1 their harmonic mean (fractions in [0, 1]); gold, predicted,
    correct are entity counts, of all the model's types together (conlleval's overall line), and
    types holds each type's own; tokens and sentences are counted in the file; token_accuracy is
    the share of tokens whose whole IOB2 tag is right, by conlleval's rule (winner.train.token_accuracy;
    not an F1)."""

    precision: float
    recall: float
    f1: float
    gold: int
    predicted: int
    correct: int
    target: str
    threshold: float
    tokens: int
    token_accuracy: float
    sentences: int
    types: dict = field(default_factory=dict)  # {label: {precision, recall, f1, gold, predicted, correct, threshold}}

    @property
    def scores(self) -> Scores:
        """The P/R/F1 and counts alone, as winner.metrics.Scores."""
        return Scores(self.precision, self.recall, self.f1, self.gold, self.predicted, self.correct)

    def as_dict(self) -> dict:
        """The object `winner eval --format json` prints."""
        return dict(self.__dict__)

    def report(self) -> str:
        """The conlleval-style text `winner eval` prints: every type together, then each type."""
        keys = ("precision", "recall", "f1", "gold", "predicted", "correct")
        per_type = {kind: Scores(**{k: values[k] for k in keys}) for kind, values in self.types.items()}
        return report(self.scores, per_type, self.tokens, self.token_accuracy)
