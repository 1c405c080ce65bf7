"""EQ report: curves on the observed bins, reference on the same bins (smoothed or not), boost and cut."""

import numpy as np
import pytest

from shellac.engine.dsp.eq_report import boost_and_cut_db, eq_curves
from shellac.engine.dsp.ltas import Ltas


def test_curves_and_extremes() -> None:
    observed = Ltas(8000, 8, np.array([1.0, 0.1, 0.01, 0.001, 1e-4]))
    diff_db = np.array([0.0, 3.0, -6.0, 12.5, -20.0])
    curves = eq_curves(observed, diff_db)
    assert curves["sample_rate"] == 8000 and curves["n_fft"] == 8
    assert curves["freqs_hz"] == [0.0, 1000.0, 2000.0, 3000.0, 4000.0]
    assert curves["observed_db"] == pytest.approx([0.0, -10.0, -20.0, -30.0, -40.0], abs=1e-3)
    assert curves["applied_gain_db"] == [-0.0, -3.0, 6.0, -12.5, 20.0]
    assert "reference_db" not in curves
    reference = Ltas(16000, 8, np.full(5, 0.01))
    with_reference = eq_curves(observed, diff_db, reference)
    assert with_reference["reference_db"] == pytest.approx([-20.0] * 5, abs=1e-3)
    assert boost_and_cut_db(diff_db) == (20.0, 12.5)
