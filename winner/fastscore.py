"""Tagging's fast path: the hidden pre-activation z = W x + b from precomputed contributions.

x is the concatenation, over feature tables f and window positions p, of
E_f[id], so W x is a sum of fixed H-vectors, one per (position, table, id):

    z = b + sum_p sum_f W_{p,f} E_f[id_{p,f}]        W_{p,f}: the (H, d_f) block of W

(the precomputation trick of Devlin et al. 2014 and Chen & Manning 2014).
Every feature of a window position belongs to the token there, so the ids of
all tables at one position make one key (a word fixes its caps class and
ending; the gazetteer classes vary little), and z is a sum of w rows:

    z = sum_p R_p[key_p],   R_p[key] = b [p = 0] + sum_f W_{p,f} E_f[id_f]

A key's w rows are worked out the first time the key is met, for all of a
batch's new keys together: a text's keys follow Zipf's law, so a few
thousand rows serve most of its tokens. Past `cache_bytes` of rows the keys
already kept stay, and newer ones are worked out again in every batch that
meets them (rarer ones, as frequent keys come early), so memory stays bounded
and a long stream never thrashes the cache.

Windows are summed 256 at a time, so that z stays in the CPU cache
through f and the output layer, which stay the model's own
(model.score_hidden): the path serves any objective whose hidden layer is
f(W x + b). Training keeps the plain graph; model.score is this path's
oracle in the tests (equal to float32 rounding: the same sums in another
order).
"""

from __future__ import annotations

import numpy as np

from winner import model

CACHE_BYTES = 128 << 20  # rows kept at most (16,777 keys of a window of 5 and hidden 400)
BATCH = 4096  # windows whose keys are looked up together
CHUNK = 256  # windows summed and scored at a time: their z stays in the CPU cache


class FastScorer:
    """Scores windows as model.score does, for a model whose parameters no longer change.

    params: the model's dict (E_* tables, W (H, D), b (H,), the output
    layer); activation: f's name; width: window positions w. Holds up to
    about `cache_bytes` of precomputed rows (float32, w * H per key).
    Raises ValueError when the tables' ids cannot make one int64 key (more
    than 2^62 combinations; the recipes' tables make about 2^37).
    """

    def __init__(self, params: dict, activation: str, width: int, cache_bytes: int = CACHE_BYTES):
        self.params, self.activation, self.width = params, activation, width
        self.names = model.feature_names(params)
        self.tables = [params[f"E_{name}"] for name in self.names]
        self.radix = [table.shape[0] for table in self.tables]
        if np.prod(self.radix, dtype=object) >= 1 << 62:
            raise ValueError(f"fastscore: {' x '.join(map(str, self.radix))} id combinations do not fit an int64 key")
        W = params["W"]  # (H, D), columns: feature by feature, position by position within
        self.hidden_size = H = W.shape[0]
        blocks, offset = [], 0
        for table in self.tables:
            d = table.shape[1]
            blocks.append(W[:, offset: offset + width * d].reshape(H, width, d))  # (H, w, d_f)
            offset += width * d
        self.blocks = np.ascontiguousarray(np.concatenate(blocks, axis=2).transpose(1, 2, 0))  # (w, d_key, H)
        self.bias = params["b"]
        self.chunk = CHUNK  # windows summed and scored at a time
        self.limit = max(1, cache_bytes // (width * H * 4))
        self.known = np.zeros(0, np.int64)  # (K,) the keys kept, sorted
        self.known_row = np.zeros(0, np.int64)  # (K,) where each one's rows are
        # ((limit + w * BATCH) * w, H): key k's row at position p is rows[k * w + p], so one key's w rows
        # are contiguous, and the windows around a token read them in turn. Past the K kept keys: the
        # rows of this batch's keys that were not kept. np.empty reserves the memory without
        # touching it: only the rows written ever take up memory.
        self.rows = np.empty(((self.limit + width * BATCH) * width, H), np.float32)

    def keys(self, windows: dict[str, np.ndarray]) -> np.ndarray:
        """(N, w) int64: the ids of every table at each position as one mixed-radix number."""
        key = np.zeros(windows[self.names[0]].shape, np.int64)
        for name, base in zip(self.names, self.radix):
            key *= base
            key += windows[name]
        return key

    def work_out(self, keys: np.ndarray) -> np.ndarray:
        """(M, w, H): the rows of M keys at every position, b included at position 0."""
        rows = self.project(self.inputs(keys))  # (w, M, H)
        rows[0] += self.bias
        return rows.transpose(1, 0, 2)

    def inputs(self, keys: np.ndarray) -> np.ndarray:
        """(M, d_key): the embeddings of M keys, table by table."""
        ids, parts = keys, []
        for table, base in zip(reversed(self.tables), reversed(self.radix)):
            parts.append(table[ids % base])  # (M, d_f)
            ids = ids // base
        return np.concatenate(parts[::-1], axis=1)

    def project(self, x: np.ndarray) -> np.ndarray:
        """(w, M, H): W_p x of M key inputs x (M, d_key) at every position p (winner.ensemble_scoring
        skips the zeros of an ensemble's W)."""
        return x[None] @ self.blocks

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """(N, w) index of each key's rows (position 0) in self.rows, working out the keys not kept yet."""
        distinct, inverse = np.unique(keys, return_inverse=True)
        at = np.minimum(np.searchsorted(self.known, distinct), max(len(self.known) - 1, 0))
        kept = self.known[at] == distinct if len(self.known) else np.zeros(len(distinct), bool)
        found = np.where(kept, self.known_row[at] if len(self.known) else 0, -1)
        missing = np.flatnonzero(~kept)
        if missing.size:
            first, end = len(self.known), len(self.known) + missing.size
            found[missing] = np.arange(first, end)
            new_rows = self.work_out(distinct[missing]).reshape(-1, self.hidden_size)  # (M * w, H)
            self.rows[first * self.width: end * self.width] = new_rows
            room = missing[: max(0, self.limit - first)]  # keys beyond the limit serve this batch only
            self.known = np.concatenate([self.known, distinct[room]])
            self.known_row = np.concatenate([self.known_row, found[room]])
            order = np.argsort(self.known, kind="stable")
            self.known, self.known_row = self.known[order], self.known_row[order]
        return found[inverse].reshape(keys.shape) * self.width

    def score(self, windows: dict[str, np.ndarray]) -> np.ndarray:
        """model.score(params, windows, activation) for windows {feature: (N, w) ids}: s (N,), or
        whatever model.score_hidden gives per window, to float32 rounding."""
        n = len(windows[self.names[0]])
        z = np.empty((self.chunk, self.hidden_size), np.float32)
        part = np.empty_like(z)
        out = []
        for first in range(0, n, BATCH):
            rows = self.lookup(self.keys({k: v[first: first + BATCH] for k, v in windows.items()}))  # (B, w)
            rows = (rows + np.arange(self.width)).T.copy()  # (w, B): each window's row at position p
            for start in range(0, rows.shape[1], self.chunk):
                ids = rows[:, start: start + self.chunk]
                zc, pc = z[: ids.shape[1]], part[: ids.shape[1]]
                # mode="clip": the rows are the cache's own; "raise" would gather through a buffer
                np.take(self.rows, ids[0], axis=0, out=zc, mode="clip")
                for p in range(1, self.width):
                    zc += np.take(self.rows, ids[p], axis=0, out=pc, mode="clip")
                out.append(model.score_hidden(self.params, zc, self.activation))
        if not out:  # no windows: what the plain path gives
            return model.score_hidden(self.params, np.zeros((0, self.hidden_size), np.float32), self.activation)
        return np.concatenate(out)
