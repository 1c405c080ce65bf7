"""Periodicity test for click detections: recurring patterns are told from isolated and paired clicks."""

import numpy as np

from shellac.engine.dsp.click_repeats import recurs

SR = 22050


def _pattern(rng: np.random.Generator) -> np.ndarray:
    return rng.standard_normal(12) * np.hanning(14)[1:-1]


def test_a_pattern_repeating_at_a_fractional_period_recurs() -> None:
    # The same 12-sample pattern every 200.4 samples (110 Hz), shifted by linear interpolation so
    # each repeat sits a fraction of a sample later: the 3-tap predictor still matches.
    rng = np.random.default_rng(0)
    pattern = _pattern(rng)
    err = np.zeros(SR)
    period = SR / 110.0
    for k in range(1, int(SR / period) - 1):
        start = k * period
        idx = np.arange(12) + int(start)
        err[idx] += np.interp(idx - start, np.arange(12), pattern, left=0.0, right=0.0)
    # The tenth repeat has others either side; the first has none before it.
    starts = np.array([int(10 * period), int(period)])
    assert recurs(err, starts, starts + 12, SR, min_lag=32).tolist() == [True, False]


def test_an_isolated_click_and_a_pair_of_alike_clicks_do_not_recur() -> None:
    rng = np.random.default_rng(1)
    err = 0.1 * rng.standard_normal(SR)
    pattern = 10 * _pattern(rng)
    err[5000:5012] += pattern            # alone
    err[12000:12012] += pattern          # a pair, 300 samples apart: a repeat on one side only
    err[12300:12312] += 0.9 * pattern
    starts = np.array([5000, 12000, 12300])
    assert recurs(err, starts, starts + 12, SR, min_lag=32).tolist() == [False, False, False]
