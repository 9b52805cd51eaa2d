"""winner.slots.KeySlots against a dict: the slot of every key added, -1 for every other."""

from __future__ import annotations

import numpy as np
import pytest

from winner.slots import EMPTY, KeySlots


def check_against(table: KeySlots, oracle: dict, probes: np.ndarray) -> None:
    expected = np.array([oracle.get(int(key), -1) for key in probes], np.int64)
    assert np.array_equal(table.find(probes), expected)


def test_slots_follow_the_order_keys_are_added_in():
    table = KeySlots(10)
    assert table.add(np.array([50, 7, 3 << 40], np.int64)).tolist() == [0, 1, 2]
    assert table.add(np.array([0], np.int64)).tolist() == [3]
    assert table.find(np.array([7, 0, 3 << 40, 50, 8, 1], np.int64)).tolist() == [1, 3, 2, 0, -1, -1]
    assert len(table) == 4


def test_many_keys_added_in_batches_against_a_dict():
    rng = np.random.default_rng(0)
    table, oracle = KeySlots(5000), {}
    for _ in range(10):  # large keys, as mixed-radix window keys are
        fresh = np.setdiff1d(rng.integers(0, 1 << 62, 500), np.fromiter(oracle, np.int64, len(oracle)))
        for key, slot in zip(fresh.tolist(), table.add(fresh).tolist()):
            oracle[key] = slot
        check_against(table, oracle, np.concatenate([fresh, rng.integers(0, 1 << 62, 500)]))
    check_against(table, oracle, np.fromiter(oracle, np.int64, len(oracle)))


def test_keys_of_one_bucket_probe_on_past_the_tables_end():
    table = KeySlots(4)  # 16 buckets
    last = len(table.keys) - 1
    candidates = np.arange(1, 20000, dtype=np.int64)
    crowd = candidates[table._buckets(candidates) == last][:4]  # all four hash to the last bucket
    assert len(crowd) == 4
    assert table.add(crowd).tolist() == [0, 1, 2, 3]
    assert np.flatnonzero(table.keys != EMPTY).tolist() == [0, 1, 2, last]  # three went on, round to the start
    assert table.find(crowd[::-1]).tolist() == [3, 2, 1, 0]
    strangers = candidates[table._buckets(candidates) == 0][:3]  # their bucket is taken by the crowd's
    assert table.find(strangers).tolist() == [-1, -1, -1]
    assert table.find(crowd[:0]).tolist() == []


def test_past_the_capacity_is_an_error():
    table = KeySlots(2)
    table.add(np.array([1, 2], np.int64))
    with pytest.raises(ValueError, match="capacity"):
        table.add(np.array([3], np.int64))
