"""Periodicity test for click detections: a periodic sound's features are told from clicks and crackle."""

import numpy as np

from shellac.engine.dsp.click_repeats import recurs

SR = 22050
PERIOD = SR / 110.0  # 200.45 samples


def _pattern(rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal(12) * np.hanning(14)[1:-1]


def _tone() -> np.ndarray:
    t = np.arange(SR) / SR
    return sum(np.sin(2 * np.pi * 110 * k * t) / k for k in range(1, 6))


def _repeated(pattern: np.ndarray, period: float) -> np.ndarray:
    # The pattern every ``period`` samples, shifted by linear interpolation so each repeat sits a
    # fraction of a sample later than the grid.
    err = np.zeros(SR)
    for k in range(1, int(SR / period) - 1):
        start = k * period
        idx = np.arange(12) + int(start)
        err[idx] += np.interp(idx - start, np.arange(12), pattern, left=0.0, right=0.0)
    return err


def test_a_pattern_repeating_with_the_signal_recurs() -> None:
    err = _repeated(_pattern(np.random.default_rng(0)), PERIOD)
    # The tenth repeat has others either side; the first has none before it.
    starts = np.array([int(10 * PERIOD), int(PERIOD)])
    assert recurs(err, _tone(), starts, starts + 12, SR, min_lag=32).tolist() == [True, False]


def test_a_pattern_repeating_where_the_signal_does_not_is_crackle() -> None:
    # The same error pattern every 200.45 samples over hiss: ticks that happen to line up.
    err = _repeated(_pattern(np.random.default_rng(0)), PERIOD)
    hiss = np.random.default_rng(2).standard_normal(SR)
    starts = np.array([int(10 * PERIOD)])
    assert recurs(err, hiss, starts, starts + 12, SR, min_lag=32).tolist() == [False]


def test_an_isolated_click_and_a_pair_of_alike_clicks_do_not_recur() -> None:
    rng = np.random.default_rng(1)
    err = 0.1 * rng.standard_normal(SR)
    pattern = 10 * _pattern(rng)
    err[5000:5012] += pattern            # alone
    err[12000:12012] += pattern          # a pair, 401 samples (two periods) apart: one side only
    err[12401:12413] += 0.9 * pattern
    starts = np.array([5000, 12000, 12401])
    assert recurs(err, _tone(), starts, starts + 12, SR, min_lag=32).tolist() == [False, False, False]
