"""Runs of flagged samples: found in a mask, and grouped or merged by the gaps between them."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def mask_runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of the runs of set samples in ``mask``, ends exclusive."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def run_groups(starts: np.ndarray, ends: np.ndarray, distance: int) -> np.ndarray:
    """Group index per run of sorted runs: a run joins the one before it when at most ``distance``
    samples lie between that run's end and its start."""
    if len(starts) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.cumsum(np.concatenate([[True], np.asarray(starts)[1:] - np.asarray(ends)[:-1] > distance])) - 1


def merge_runs(starts: np.ndarray, ends: np.ndarray, distance: int) -> tuple[np.ndarray, np.ndarray]:
    """Sorted runs whose separation is at most ``distance`` samples merged into one run each."""
    if len(starts) == 0:
        return starts, ends
    group = run_groups(starts, ends, distance)
    first = np.flatnonzero(np.diff(group, prepend=-1))
    return starts[first], np.maximum.reduceat(ends, first)


def clusters(runs: Sequence[tuple[int, int]], order: int) -> list[list[tuple[int, int]]]:
    """Runs (start, length), sorted, grouped when fewer than ``order`` samples lie between them."""
    ordered = sorted(runs)
    starts = np.array([s for s, _ in ordered], dtype=np.int64)
    ends = np.array([s + n for s, n in ordered], dtype=np.int64)
    groups: list[list[tuple[int, int]]] = []
    for run, group in zip(ordered, run_groups(starts, ends, order - 1), strict=True):
        if group == len(groups):
            groups.append([])
        groups[-1].append(run)
    return groups
