"""Why a token is a location: how much each word of its window pushed its score.

The model's own backward pass, run from the score s down to the input x,
splits s into one part per window position plus a bias share:

    contribution_i = (ds/dx_i) . x_i      x_i: the embeddings of position i's features
                                          (word, caps and any optional ones), concatenated

Plain gradient x input adds up to s only for a piecewise-linear f. To make
the parts exact for every activation, the backward pass through f uses the
rescale rule of DeepLIFT with reference input 0: the average slope
(f(z) - f(0)) / z in place of f'(z) (and f'(0) where z = 0). Then, with
slope_j that average slope of hidden unit j,

    s = sum_j u_j f(0) + sum_j u_j slope_j (sum_i W_j,i x_i + b_j)
      = bias share                      + sum_i contribution_i

where the bias share is sum_j u_j f(0) + sum_j u_j slope_j b_j (f(0) is 0.5
for sigmoid, 0 for the others). For relu the average slope is relu' itself,
so the parts equal plain gradient x input (and gradient x b for the bias).
Everything runs in float64, so the parts add up to the score to rounding (~1e-15).

A softmax model has one logit per class, f_c = U_c . h: the same sum with
u = U_c, so the parts of a chosen class's logit add up to it exactly. The
decision itself compares that type's log-odds (winner.objectives.log_odds)
with its threshold, which is not a sum of parts; it is shown beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from winner import colour, decode, gates, model
from winner.checkpoint import LoadedModel
from winner.corpus import tokenize
from winner.errors import WinnerError
from winner.features import LEFT, RIGHT

BAR_WIDTH = 24  # characters of the longest bar in a table


def at_zero(activation: str) -> tuple[float, float]:
    """f(0) and f'(0), from the activation's own gates."""
    f_forward, f_backward = gates.ACTIVATIONS[activation]
    value, cache = f_forward(np.zeros(1))
    return float(value[0]), float(f_backward(np.ones(1), cache)[0])


def average_slope(z: np.ndarray, activation: str) -> np.ndarray:
    """(f(z) - f(0)) / z element-wise, f'(0) where z is 0: the rescale rule's local gradient."""
    f0, slope_at_zero = at_zero(activation)
    is_zero = z == 0
    safe_z = np.where(is_zero, 1.0, z)  # (N, H)
    return np.where(is_zero, slope_at_zero, (gates.ACTIVATIONS[activation][0](z)[0] - f0) / safe_z)  # (N, H)


def attribute(params: dict, windows: dict[str, np.ndarray], activation: str):
    """Exact additive parts of the scores of N windows.

    Returns s (N,), contributions (N, w) of each window position and the bias
    share (N,), with contributions.sum(1) + bias == s.
    """
    params = {key: value.astype(np.float64) for key, value in params.items()}
    s, cache = model.forward(params, windows, activation)  # (N,)
    x, W = cache["affine"]  # (N, D), (H, D)
    z = x @ W.T + params["b"]  # (N, H)
    dh, _ = gates.dot_backward(np.ones(len(s)), cache["dot"])  # (N, H): ds/dh = u
    dz = dh * average_slope(z, activation)  # (N, H): the rescale rule in place of f'(z)
    dx, _, _ = gates.affine_backward(dz, cache["affine"])  # (N, D)
    per_entry = dx * x  # (N, D)
    contributions = np.zeros((len(s), next(iter(windows.values())).shape[1]))  # (N, w)
    offset = 0
    for _, (ids, d) in cache["lookups"]:  # x holds one block (w*d) per feature, position-major inside it
        block = per_entry[:, offset: offset + ids.shape[1] * d]  # (N, w*d)
        contributions += block.reshape(len(s), ids.shape[1], d).sum(axis=2)  # (N, w)
        offset += ids.shape[1] * d
    f0, _ = at_zero(activation)  # 0.5 for sigmoid, 0 for the others
    bias = dz @ params["b"] + f0 * params["u"].sum()  # (N,)
    return s, contributions, bias


@dataclass
class TokenExplanation:
    index: int  # token index in the sentence
    text: str
    score: float  # what the parts add up to: s, or the chosen class's logit
    location: bool  # tagged as the chosen class
    words: list[str]  # the window, boundary symbols included
    contributions: list[float]  # one per window position, left to right
    bias: float
    log_odds: float | None = None  # softmax: the chosen type's log-odds, compared with its threshold

    def as_dict(self, half_window: int) -> dict:
        window = [{"position": i - half_window, "word": word, "contribution": round(part, 6)}
                  for i, (word, part) in enumerate(zip(self.words, self.contributions))]
        extra = {} if self.log_odds is None else {"log_odds": round(self.log_odds, 6)}
        return {"index": self.index, "text": self.text, "score": round(self.score, 6), "location": self.location,
                **extra, "window": window, "bias": round(self.bias, 6)}


@dataclass
class SentenceExplanation:
    text: str
    tokens: list[tuple[str, int, int]]  # token, start, end (character offsets)
    scores: list[float]
    locations: list[bool]
    explained: list[TokenExplanation]
    logit: bool = False  # the scores are a softmax model's logits of the chosen class

    def as_dict(self, half_window: int, target: str, threshold: float | None) -> dict:
        tokens = [{"text": t, "start": a, "end": b, "score": round(s, 6), "location": loc}
                  for (t, a, b), s, loc in zip(self.tokens, self.scores, self.locations)]
        return {"text": self.text, "target": target, "threshold": None if threshold is None else round(threshold, 6),
                "tokens": tokens,
                "explanations": [e.as_dict(half_window) for e in self.explained]}


def window_words(tokens: list[str], centre: int, half_window: int) -> list[str]:
    return [LEFT if i < 0 else RIGHT if i >= len(tokens) else tokens[i]
            for i in range(centre - half_window, centre + half_window + 1)]


def classes(loaded: LoadedModel) -> tuple[str, ...]:
    """What can be explained: the target's score s, or the logit of any class of a softmax model."""
    return loaded.objective.classes


def explain_lines(loaded: LoadedModel, lines: list[str], every_token: bool = False,
                  chosen: str | None = None) -> list[SentenceExplanation]:
    """Explain the tokens tagged as the chosen class (every token with every_token) of each raw text line.

    chosen: a class of the model (default its target type); WinnerError if it
    has no such class. The decision is predict's own (the model's float32
    scores); the scores shown are the float64 ones the parts add up to.
    """
    chosen = chosen or loaded.target
    if chosen not in classes(loaded):
        raise WinnerError(f"--class '{chosen}': the model's classes are {', '.join(classes(loaded))}")
    tokenized = [tokenize(line) for line in lines]
    words = [[t for t, _, _ in tokens] for tokens in tokenized]
    windows = loaded.featurizer.windows(words)
    activation = loaded.config.model.activation
    type_scores = loaded.type_scores(windows)  # (N, T)
    labels = decode.decide(type_scores, loaded.thresholds)  # (N,) as predict decides
    decided = labels == (loaded.types.index(chosen) if chosen in loaded.types else decode.OUTSIDE)
    logits = loaded.objective.logits  # the parts add up to the chosen class's logit; its log-odds decide
    log_odds = type_scores[:, loaded.types.index(chosen)] if logits and chosen in loaded.types else None
    scores, contributions, bias = attribute(loaded.objective.one_score_params(loaded.params, chosen), windows,
                                            activation)
    h = loaded.featurizer.half_window
    out, row = [], 0
    for line, tokens, sentence in zip(lines, tokenized, words):
        locations = decided[row: row + len(sentence)].tolist()
        explained = [TokenExplanation(i, sentence[i], float(scores[row + i]), locations[i],
                                      window_words(sentence, i, h), contributions[row + i].tolist(),
                                      float(bias[row + i]), None if log_odds is None else float(log_odds[row + i]))
                     for i in range(len(sentence)) if every_token or locations[i]]
        out.append(SentenceExplanation(line, tokens, scores[row: row + len(sentence)].tolist(), locations, explained,
                                       logits))
        row += len(sentence)
    return out


def bar(value: float, scale: float, terminal: bool, coloured: bool) -> str:
    """A signed bar, '+████' or '-██' on a terminal, '+####' or '-##' elsewhere."""
    length = round(BAR_WIDTH * abs(value) / scale) if scale else 0
    text = ("+" if value >= 0 else "-") + ("█" if terminal else "#") * length
    return colour.paint(text, colour.GREEN if value >= 0 else colour.RED) if coloured else text


def render_text(sentence: SentenceExplanation, half_window: int, target: str, threshold: float,
                terminal: bool = False, coloured: bool = False) -> str:
    """One table per explained token: position, word, contribution, bar; then bias and score."""
    lines = [sentence.text]
    if not sentence.explained:
        lines.append(f"  no {target} token (--all explains every token)" if sentence.tokens else "  no tokens")
    for e in sentence.explained:
        verdict = _verdict(e, sentence.logit, target, threshold)
        total = f"= logit f_{target}" if sentence.logit else "= score"
        width = max(8, len(total), *(len(w) for w in e.words))
        scale = max(abs(v) for v in [*e.contributions, e.bias])
        lines += ["", f"{e.text} (token {e.index + 1} of {len(sentence.tokens)}): {verdict}",
                  f"  {'pos':>4}  {'word':<{width}}  {'contribution':>12}"]
        for i, (word, part) in enumerate(zip(e.words, e.contributions)):
            position = f"{i - half_window:+d}" if i != half_window else "0"
            lines.append(f"  {position:>4}  {word:<{width}}  {part:>+12.3f}  {bar(part, scale, terminal, coloured)}")
        lines.append(f"  {'':>4}  {'bias':<{width}}  {e.bias:>+12.3f}  {bar(e.bias, scale, terminal, coloured)}")
        lines.append(f"  {'':>4}  {total:<{width}}  {e.score:>+12.3f}")
    return "\n".join(lines) + "\n"


def _verdict(e: TokenExplanation, logit: bool, target: str, threshold: float | None) -> str:
    """Why the token has its label: its score (or, for softmax, its log-odds) against the threshold."""
    if logit and e.log_odds is None:  # the O class has no threshold: O is what no type clears
        return "O: no type clears its threshold" if e.location else "not O: a type clears its threshold"
    name, value = ("log-odds", e.log_odds) if logit else ("score", e.score)
    if logit and not e.location and value > threshold:  # a softmax type above its threshold, outdone by another type
        return f"not {target}, {name} {value:+.3f} > threshold {threshold:+.3f}, but another type is likelier"
    return f"{target}, {name} {value:+.3f} > threshold {threshold:+.3f}" if e.location \
        else f"not {target}, {name} {value:+.3f} <= threshold {threshold:+.3f}"
