"""A hash map from int64 keys to slot numbers, looked up and filled a whole array at a time.

winner.fastscore keeps a row of precomputed numbers for each window key it
has met, in slot 0, 1, 2, ... by the order the keys came; this map says
which slot holds a key. A Python dict would cost a Python call per window
position, and sorting (np.unique, np.searchsorted) a log factor and a copy;
open addressing with linear probing costs a few numpy passes over the keys:
hash every key to a bucket (Fibonacci hashing: Knuth, TAOCP vol. 3, 6.4),
compare, and probe the next bucket only for the few keys that collided.
The table is kept at most a quarter full, so that most keys are found at
their first bucket.
"""

from __future__ import annotations

import numpy as np

EMPTY = -1  # no key in the bucket: keys are >= 0
GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # 2^64 / the golden ratio, odd


class KeySlots:
    """Slots 0 .. capacity-1 for distinct int64 keys >= 0, given in the order the keys are added."""

    def __init__(self, capacity: int):
        bits = max(4, (4 * capacity - 1).bit_length())  # 2^bits >= 4 * capacity buckets
        self.capacity = capacity
        self.shift = np.uint64(64 - bits)
        self.mask = (1 << bits) - 1
        self.keys = np.full(1 << bits, EMPTY, np.int64)  # (buckets,) the key in each bucket
        self.slots = np.zeros(1 << bits, np.int64)  # (buckets,) its slot
        self.size = 0

    def __len__(self) -> int:
        return self.size

    def _buckets(self, keys: np.ndarray) -> np.ndarray:
        """(n,) each key's first bucket: the top bits of key * GOLDEN mod 2^64 (they mix every bit of the key)."""
        return ((keys.view(np.uint64) * GOLDEN) >> self.shift).astype(np.intp)

    def find(self, keys: np.ndarray) -> np.ndarray:
        """(n,) int64: the slot of each of `keys` (n,) int64, -1 for a key not added."""
        bucket = self._buckets(keys)
        held = self.keys[bucket]
        slot = np.where(held == keys, self.slots[bucket], -1)
        probing = np.flatnonzero((held != keys) & (held != EMPTY))  # another key in the bucket: look on
        bucket = bucket[probing]
        while probing.size:
            bucket = (bucket + 1) & self.mask
            held = self.keys[bucket]
            hit = held == keys[probing]
            slot[probing[hit]] = self.slots[bucket[hit]]
            going_on = ~hit & (held != EMPTY)
            probing, bucket = probing[going_on], bucket[going_on]
        return slot

    def add(self, keys: np.ndarray) -> np.ndarray:
        """Give `keys` (m,) int64, distinct and not added yet, the next m slots, in order; returns them (m,).
        Raises ValueError past `capacity` keys."""
        if self.size + len(keys) > self.capacity:
            raise ValueError(f"KeySlots: {self.size} + {len(keys)} keys exceed the capacity of {self.capacity}")
        slots = np.arange(self.size, self.size + len(keys))
        waiting, bucket = np.arange(len(keys)), self._buckets(keys)
        while waiting.size:
            free = self.keys[bucket] == EMPTY
            self.keys[bucket[free]] = keys[waiting[free]]  # keys meeting at one free bucket: one of them stays
            placed = np.zeros(len(waiting), bool)
            placed[free] = self.keys[bucket[free]] == keys[waiting[free]]
            self.slots[bucket[placed]] = slots[waiting[placed]]
            waiting, bucket = waiting[~placed], (bucket[~placed] + 1) & self.mask
        self.size += len(keys)
        return slots
