"""Tagging's fast path (winner.fastscore) for an ensemble's merged network (winner.ensemble).

The merged W is block-diagonal: the hidden units of member m read member m's
part of x alone. Working out a key's rows through the whole W multiplies
n² blocks of which n are not zero; here each member's rows come from its own
block, n products of a member's size. The row cache's byte budget is n times
a single model's, so that it keeps as many keys as a member's would: its
rows are n times as wide. Windows are summed and scored n times fewer at a
time, so that their z (chunk, n H) takes the bytes a member's takes and
stays in the CPU cache: at 256 windows of hidden 1,200, scoring CoNLL-2003
dev took several times as long as at 85 (tests/bench_ensemble.py).
"""

from __future__ import annotations

import numpy as np

from winner.fastscore import CACHE_BYTES, FastScorer


class EnsembleScorer(FastScorer):
    """FastScorer for a network whose W (n H, D) is n diagonal blocks (members), each of its
    tables (V_f, n d_f) member by member. A W with any entry off those blocks is scored through the
    whole W, as FastScorer does: never a wrong score, only a slower one."""

    def __init__(self, params: dict, activation: str, width: int, members: int, cache_bytes: int = CACHE_BYTES):
        super().__init__(params, activation, width, cache_bytes * members)
        self.chunk = max(1, self.chunk // members)
        H = self.hidden_size // members
        starts = np.cumsum([0] + [table.shape[1] for table in self.tables])[:-1]
        dims = [table.shape[1] // members for table in self.tables]
        self.members = []  # (columns of x, hidden units, (w, d_key / n, H / n) block) per member
        zeros = np.ones(self.blocks.shape, bool)  # (w, d_key, n H): where W must be 0
        for m in range(members):
            columns = np.concatenate([start + m * d + np.arange(d) for start, d in zip(starts, dims)])
            units = slice(m * H, (m + 1) * H)
            zeros[:, columns, units] = False
            self.members.append((columns, units, np.ascontiguousarray(self.blocks[:, columns, units])))
        if np.any(self.blocks[zeros]):
            self.members = []

    def project(self, x: np.ndarray, out: np.ndarray) -> None:
        """out (M, w, n H) = each member's block applied to its own columns of x (M, d_key)."""
        if not self.members:
            return super().project(x, out)
        for columns, units, block in self.members:
            inputs = x[:, columns]  # (M, d_key / n)
            for p in range(self.width):
                np.matmul(inputs, block[p], out=out[:, p, units])  # (M, H): strided into the slots
