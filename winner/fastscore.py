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
Two threads sharing out a batch (numpy lets go of the interpreter lock in
its calls) were slower than one, their calls being short and their gathers
sharing the memory bandwidth; a second core serves a second process
instead: score(windows, processes) finds the slots of ROUND windows' keys
and keeps those worth keeping here, then forks processes that work out the
rows of their own windows' other keys, and sum and score them
(winner.forked); `winner predict` shares raw text out by lines instead
(winner.workers). A key's rows are written by one matrix product straight
into their slots. Training keeps the plain graph;
model.score is this path's oracle in the tests (equal to float32 rounding:
the same sums in another order).
"""

from __future__ import annotations

import numpy as np

from winner import forked, model
from winner.slots import KeySlots

CACHE_BYTES = 128 << 20  # rows kept at most (16,777 keys of a window of 5 and hidden 400)
BATCH = 8192  # windows whose keys are looked up together
ROUND = 16 * BATCH  # windows shared out between processes at a time: a fork's few ms are a few % of their time
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
        # (d_key, w H): one matrix product gives a key's w rows side by side, as a slot holds them
        self.flat_blocks = np.ascontiguousarray(self.blocks.transpose(1, 0, 2).reshape(-1, width * H))
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

    def work_out(self, keys: np.ndarray, out: np.ndarray) -> None:
        """Write the rows of M keys at every position, b included at position 0, into out (M, w, H): slots
        of the cache, so that no temporary of M w H numbers is filled and copied (M = 3,000 keys of hidden
        400 make 24 MB, whose first touch is slow on some machines)."""
        self.project(self.inputs(keys), out)
        out[:, 0] += self.bias

    def inputs(self, keys: np.ndarray) -> np.ndarray:
        """(M, d_key): the embeddings of M keys, table by table."""
        ids, parts = keys, []
        for table, base in zip(reversed(self.tables), reversed(self.radix)):
            parts.append(table[ids % base])  # (M, d_f)
            ids = ids // base
        return np.concatenate(parts[::-1], axis=1)

    def project(self, x: np.ndarray, out: np.ndarray) -> None:
        """out (M, w, H) = W_p x of M key inputs x (M, d_key) at every position p (winner.ensemble_scoring
        skips the zeros of an ensemble's W)."""
        slots = out.reshape(len(x), self.flat_blocks.shape[1])  # (M, w H): contiguous slots, a view
        np.matmul(x, self.flat_blocks, out=slots)

    def keep(self, keys: np.ndarray, slots: np.ndarray) -> None:
        """Give the keys (N, w) whose slot (N, w) is -1 a slot with their rows when they are worth keeping
        and there is room: a key is kept once it has been met in two calls or in more than w windows of one
        (twice as a token), so that a text's one-off words take no memory. Those not kept stay -1 (see
        pass_through) and are remembered as met."""
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
        if len(kept):
            where = np.full(len(new), -1, np.int64)
            where[kept] = self.known.add(new[kept])  # the next free slots, in order
            self.work_out(new[kept], self.rows[where[kept[0]]: where[kept[0]] + len(kept)])
            slot[missing] = where[inverse.ravel()]
        first_met = new[passing & ~met_before]
        if len(self.met) + len(first_met) > self.met.capacity:  # forget, rather than grow without end
            self.met = KeySlots(self.met.capacity)
        self.met.add(first_met[: self.met.capacity])

    def pass_through(self, keys: np.ndarray, slots: np.ndarray) -> None:
        """Work out, for these windows only, the rows of the keys (B, w) whose slot (B, w) is still -1, into
        the w BATCH slots past the kept ones (room for every key of BATCH windows: B may be no more).
        Changes nothing the next call sees, so forked processes may each do their own windows'."""
        flat, slot = keys.ravel(), slots.ravel()
        missing = np.flatnonzero(slot < 0)
        if not missing.size:
            return
        new, inverse = np.unique(flat[missing], return_inverse=True)
        self.work_out(new, self.rows[self.limit: self.limit + len(new)])
        slot[missing] = self.limit + inverse.ravel()

    def score(self, windows: dict[str, np.ndarray], processes: int = 1) -> np.ndarray:
        """model.score(params, windows, activation) for windows {feature: (N, w) ids}: s (N,), or
        whatever model.score_hidden gives per window, to float32 rounding.

        processes > 1 shares out ROUND windows at a time between that many processes (winner.forked), once
        this process has found their keys' slots and kept the keys worth keeping; each process works out
        the rows of its own windows' other keys, then sums and scores them. Fewer windows than a ROUND
        are scored in this process alone."""
        n = len(windows[self.names[0]])
        out = np.empty((n, *self.out_shape), self.rows.dtype)
        together = ROUND if processes > 1 and n >= ROUND and forked.available() else BATCH
        for first in range(0, n, together):
            keys = self.keys({name: windows[name][first: first + together] for name in self.names})  # (B, w)
            slots = self.known.find(keys.ravel()).reshape(keys.shape)  # (B, w), -1: not kept
            self.keep(keys, slots)
            part = out[first: first + together]
            if len(keys) > BATCH:
                forked.share(lambda a, b, into: self._score_kept(keys[a: b], slots[a: b], into), part, processes)
            else:
                self._score_kept(keys, slots, part)
        return out

    def _score_kept(self, keys: np.ndarray, slots: np.ndarray, out: np.ndarray) -> None:
        """out = the output of windows whose keys (B, w) have their slots (B, w) once kept (-1: not kept),
        BATCH windows at a time: the rows of the keys not kept, then the sums."""
        for a in range(0, len(keys), BATCH):
            self.pass_through(keys[a: a + BATCH], slots[a: a + BATCH])
            self._sum_and_score(slots[a: a + BATCH], out[a: a + BATCH])

    def _sum_and_score(self, slots: np.ndarray, out: np.ndarray) -> None:
        """out (B,) or (B, C) = the output of windows whose keys' rows are in `slots` (B, w): z is the sum of
        their rows, and f and the output layer are the model's own (model.score_hidden)."""
        rows = self.rows.reshape(-1, self.hidden_size)  # key k's row at position p is row k * w + p
        ids = (slots * self.width + np.arange(self.width)).T.copy()  # (w, B): the rows each window sums
        z = np.empty((self.chunk, self.hidden_size), rows.dtype)
        part = np.empty_like(z)
        for first in range(0, len(out), self.chunk):
            last = min(first + self.chunk, len(out))
            zc, pc = z[: last - first], part[: last - first]
            # mode="clip": the rows are the cache's own; "raise" would gather through a buffer
            np.take(rows, ids[0, first: last], axis=0, out=zc, mode="clip")
            for p in range(1, self.width):
                zc += np.take(rows, ids[p, first: last], axis=0, out=pc, mode="clip")
            out[first: last] = model.score_hidden(self.params, zc, self.activation)
