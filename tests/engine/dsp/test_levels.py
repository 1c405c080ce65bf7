"""Levels: RMS, dB ratios with their silent cases, and the peak-ceiling gain."""


import numpy as np
import pytest

from shellac.engine.dsp.levels import peak_ceiling_gain, ratio_db, rms


def test_rms_and_ratios() -> None:
    assert rms(np.array([[3.0, -3.0], [3.0, -3.0]], dtype=np.float32)) == 3.0
    assert ratio_db(10.0) == pytest.approx(20.0)
    assert ratio_db(0.0) is None and ratio_db(float("inf")) is None


def test_peak_ceiling_gain_scales_down_only() -> None:
    assert peak_ceiling_gain(2.0, -1.0) == pytest.approx(10 ** (-1 / 20) / 2)
    assert peak_ceiling_gain(0.5, -1.0) == 1.0
    assert peak_ceiling_gain(0.0, -1.0) == 1.0
