"""Alignment: planted lags found either way, their confidence, and silence."""

import numpy as np
import pytest

from shellac.engine.dsp.align import find_lag, find_lag_with_confidence
from tests.fixtures.stems import SR, restore, stems


def test_planted_lags_are_found_either_way() -> None:
    vocals, _ = stems()
    late = restore(vocals, delay=37)
    assert find_lag(vocals, late, max_lag=2000, window=10 * SR) == 37
    early = np.pad(late[:, 40:], ((0, 0), (0, 40)))
    assert find_lag(vocals, early, max_lag=2000, window=10 * SR) == -3
    lag, confidence = find_lag_with_confidence(vocals, late, 2000, 10 * SR)
    assert lag == 37 and confidence > 0.9


def test_search_range_bounds_the_lag_and_silence_gives_zero() -> None:
    vocals, _ = stems()
    late = restore(vocals, delay=37)
    assert abs(find_lag(vocals, late, max_lag=10, window=10 * SR)) <= 10
    assert find_lag_with_confidence(vocals, np.zeros_like(vocals), 2000, 10 * SR) == (0, 0.0)


@pytest.mark.parametrize("delay", [0, 5, 120])
def test_lag_of_a_plain_delay_is_exact(delay: int) -> None:
    vocals, _ = stems()
    delayed = np.pad(vocals, ((0, 0), (delay, 0)))[:, : vocals.shape[1]]
    assert find_lag(vocals, delayed, max_lag=500, window=10 * SR) == delay
