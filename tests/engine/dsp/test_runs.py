"""Runs of flagged samples: found, grouped and merged by the one rule."""

import numpy as np

from shellac.engine.dsp.runs import clusters, mask_runs, merge_runs, run_groups


def test_mask_runs_find_every_run_ends_exclusive() -> None:
    mask = np.zeros(20, dtype=bool)
    mask[[0, 1, 5, 9, 10, 11, 19]] = True
    starts, ends = mask_runs(mask)
    assert starts.tolist() == [0, 5, 9, 19] and ends.tolist() == [2, 6, 12, 20]
    empty = mask_runs(np.zeros(5, dtype=bool))
    assert empty[0].size == 0 and empty[1].size == 0


def test_runs_join_when_at_most_distance_samples_lie_between() -> None:
    starts, ends = np.array([0, 5, 9, 19]), np.array([2, 6, 12, 20])  # gaps of 3, 3 and 7 samples
    assert run_groups(starts, ends, 2).tolist() == [0, 1, 2, 3]
    assert run_groups(starts, ends, 3).tolist() == [0, 0, 0, 1]
    merged = merge_runs(starts, ends, 3)
    assert merged[0].tolist() == [0, 19] and merged[1].tolist() == [12, 20]
    assert [a.tolist() for a in merge_runs(starts, ends, 7)] == [[0], [20]]
    # An earlier run reaching past a later one's end: the merged run ends at the furthest end.
    assert [a.tolist() for a in merge_runs(np.array([0, 2]), np.array([10, 4]), 0)] == [[0], [10]]
    assert run_groups(np.zeros(0, dtype=int), np.zeros(0, dtype=int), 1).size == 0


def test_clusters_group_runs_with_fewer_than_order_samples_between() -> None:
    assert clusters([(900, 10), (100, 10), (300, 10)], order=200) == [[(100, 10), (300, 10)], [(900, 10)]]
    assert clusters([(100, 10), (310, 10)], order=200) == [[(100, 10)], [(310, 10)]]  # 200 intact between
    assert clusters([(100, 10), (309, 10)], order=200) == [[(100, 10), (309, 10)]]  # 199 between
    assert clusters([], order=10) == []
