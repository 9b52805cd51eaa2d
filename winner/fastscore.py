"""Tagging's fast path: the hidden pre-activation z = W x + b from precomputed contributions.

x is the concatenation, over feature tables f and window positions p, of
E_f[id], so W x is a sum of fixed H-vectors, one per (position, table, id):

    z = b + sum_p sum_f W_{p,f} E_f[id_{p,f}]        W_{p,f}: the (H, d_f) block of W

(the precomputation trick of Devlin et al. 2014 and Chen & Manning 2014).
Every feature of a window position belongs to the token there, so the ids of
all tables at one position make one key (a word fixes its caps class and
ending; the gazetteer classes vary little), and z is a sum of w rows:

    z = sum_p R_p[key_p],   R_p[key] = b [p = 0] + sum_f W_{p,f} E_f[id_f]

A key's w rows are worked out (one matrix product for all of a batch's new
keys) the first time it is met, and kept once it is met again, in a later
batch or in more than w windows of this one: a text's keys follow Zipf's
law, so a few thousand rows serve most of its tokens, while half of its
distinct keys are words met once, whose rows would only take up memory
(slow to touch the first time, on some machines) and serve no other window.
Keys not kept have their rows worked out for their batch only. Past
`cache_bytes` of rows the keys kept stay and no more are kept, so memory
stays bounded and a long stream never thrashes the cache. Which slot holds a
key's rows is found by a hash map (winner.slots), a few numpy passes over
the batch's keys.

Windows are summed `chunk` at a time, so that z stays in the CPU cache
through f and the output layer, which stay the model's own
(model.score_hidden): the path serves any objective whose hidden layer is
f(W x + b), and any hidden size (an ensemble's concatenated members too).
It runs on one thread: two threads sharing out a batch (numpy lets go of the
interpreter lock in its calls) were slower than one, their calls being short
and their gathers sharing the memory bandwidth; a second core serves a
second process instead (winner.workers). Training keeps the plain graph;
model.score is this path's oracle in the tests (equal to float32 rounding:
the same sums in another order).
"""

from __future__ import annotations

import numpy as np

from winner import model
from winner.slots import KeySlots

CACHE_BYTES = 128 << 20  # rows kept at most (16,777 keys of a window of 5 and hidden 400)
BATCH = 8192  # windows whose keys are looked up together
CHUNK = 128  # windows summed and scored at a time: their z stays in the CPU cache


class FastScorer:
    """Scores windows as model.score does, for a model whose parameters no longer change.

    params: the model's dict (E_* tables, W (H, D), b (H,), the output
    layer); activation: f's name; width: window positions w. Holds up to
    about `cache_bytes` of precomputed rows (w * H numbers per key).
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
        self.out_shape = params[model.output_key(params)].shape[:-1]  # () one score, (C,) C logits
        self.limit = max(1, cache_bytes // (width * H * W.itemsize))
        self.known = KeySlots(self.limit)  # key -> slot of the keys kept
        self.met = KeySlots(4 * self.limit)  # keys met in an earlier batch and not kept (their slots unused)
        # (limit + w * BATCH, w, H): slot k holds its key's row at every position, rows[k, p], so one key's
        # w rows are contiguous, and the windows around a token read them in turn. Past the kept keys'
        # slots: the rows of a batch's keys that were not kept. np.empty reserves the memory without
        # touching it: only the rows written ever take up memory.
        self.rows = np.empty((self.limit + width * BATCH, width, H), W.dtype)

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

    def fill(self, keys: np.ndarray, slots: np.ndarray) -> None:
        """Give every key (N, w) of a batch whose slot (N, w) is -1 (not kept) a slot with its rows. A key is
        kept, while there is room, once it has been met in two batches or in more than w windows of one
        (twice as a token): one met once is worked out for its batch only, so that a text's one-off words
        take no memory."""
        flat, slot = keys.ravel(), slots.ravel()
        missing = np.flatnonzero(slot < 0)
        if not missing.size:
            return
        new, inverse, counts = np.unique(flat[missing], return_inverse=True, return_counts=True)
        met_before = self.met.find(new) >= 0
        wanted = np.flatnonzero(met_before | (counts > self.width))
        kept = wanted[np.argsort(-counts[wanted], kind="stable")][: self.limit - len(self.known)]
        passing = np.ones(len(new), bool)
        passing[kept] = False
        passing = np.flatnonzero(passing)  # worked out for this batch only, into the rows past the kept
        where = np.empty(len(new), np.int64)
        where[kept] = self.known.add(new[kept])  # the next free slots, in order
        where[passing] = np.arange(self.limit, self.limit + len(passing))
        if len(kept):
            self.rows[where[kept[0]]: where[kept[0]] + len(kept)] = self.work_out(new[kept])
        self.rows[self.limit: self.limit + len(passing)] = self.work_out(new[passing])
        slot[missing] = where[inverse.ravel()]
        first_met = new[passing[~met_before[passing]]]
        if len(self.met) + len(first_met) > self.met.capacity:  # forget, rather than grow without end
            self.met = KeySlots(self.met.capacity)
        self.met.add(first_met[: self.met.capacity])

    def score(self, windows: dict[str, np.ndarray]) -> np.ndarray:
        """model.score(params, windows, activation) for windows {feature: (N, w) ids}: s (N,), or
        whatever model.score_hidden gives per window, to float32 rounding."""
        n = len(windows[self.names[0]])
        out = np.empty((n, *self.out_shape), self.rows.dtype)
        for first in range(0, n, BATCH):
            keys = self.keys({name: windows[name][first: first + BATCH] for name in self.names})  # (B, w)
            slots = self.known.find(keys.ravel()).reshape(keys.shape)  # (B, w), -1: not kept
            self.fill(keys, slots)
            self._sum_and_score(slots, out[first: first + BATCH])
        return out

    def _sum_and_score(self, slots: np.ndarray, out: np.ndarray) -> None:
        """out (B,) or (B, C) = the output of windows whose keys' rows are in `slots` (B, w): z is the sum of
        their rows, and f and the output layer are the model's own (model.score_hidden)."""
        rows = self.rows.reshape(-1, self.hidden_size)  # key k's row at position p is row k * w + p
        z = np.empty((self.chunk, self.hidden_size), rows.dtype)
        part = np.empty_like(z)
        for first in range(0, len(out), self.chunk):
            last = min(first + self.chunk, len(out))
            ids = (slots[first: last] * self.width + np.arange(self.width)).T.copy()  # (w, C): rows to sum
            zc, pc = z[: last - first], part[: last - first]
            # mode="clip": the rows are the cache's own; "raise" would gather through a buffer
            np.take(rows, ids[0], axis=0, out=zc, mode="clip")
            for p in range(1, self.width):
                zc += np.take(rows, ids[p], axis=0, out=pc, mode="clip")
            out[first: last] = model.score_hidden(self.params, zc, self.activation)
