"""Remix of stems: balance restored, planted lags corrected, peak guard, loudness target, layouts, stem EQ."""

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from shellac.engine.dsp.align import find_lag
from shellac.engine.dsp.levels import rms
from shellac.engine.dsp.loudness import integrated_loudness, true_peak_dbtp
from shellac.engine.dsp.ltas import compute_ltas
from shellac.engine.dsp.mix import equalise_stem, remix, to_layout
from shellac.engine.errors import ParameterError
from tests.fixtures.stems import SR, restore, stems


def test_known_6db_balance_is_restored() -> None:
    vocals, accompaniment = stems(balance_db=6.0)
    out, report = remix(vocals, accompaniment, restore(vocals), accompaniment, SR)
    assert report["balance_original_db"] == pytest.approx(6.0, abs=1e-3)
    assert report["balance_before_db"] < 0
    assert report["balance_after_db"] == pytest.approx(6.0, abs=0.1)
    # Measured independently: what is left after removing the accompaniment is the vocals.
    measured = 20 * np.log10(rms(out - accompaniment) / rms(accompaniment))
    assert measured == pytest.approx(6.0, abs=0.1)
    assert out.shape == vocals.shape and out.dtype == np.float32


def test_planted_37_sample_lag_is_removed_and_a_larger_one_refused() -> None:
    vocals, accompaniment = stems()
    late = restore(vocals, delay=37)
    out, report = remix(vocals, accompaniment, late, accompaniment, SR, max_lag_ms=5.0)
    assert report["lag_samples"] == 37 and report["lag_ms"] == pytest.approx(1.678, abs=1e-3)
    assert find_lag(vocals, out[None, 0] - accompaniment, max_lag=2000, window=10 * SR) == 0
    with pytest.raises(ParameterError, match=r"offset by 37 samples \(1.7 ms\).*max_lag_ms=1.0"):
        remix(vocals, accompaniment, late, accompaniment, SR, max_lag_ms=1.0)


def test_peak_guard_and_loudness_target() -> None:
    vocals, accompaniment = stems(channels=2)
    loud_v, loud_a = 6 * vocals, 6 * accompaniment  # sums well past full scale
    out, report = remix(loud_v, loud_a, loud_v, loud_a, SR, true_peak_ceiling_dbtp=-1.0)
    assert report["peak_gain_db"] < -3 and true_peak_dbtp(out) <= -1.0 + 1e-3
    assert report["true_peak_dbtp"] == pytest.approx(-1.0, abs=0.01)
    out, report = remix(vocals, accompaniment, vocals, accompaniment, SR, loudness_target_lufs=-30.0)
    assert report["peak_gain_db"] == 0.0
    assert integrated_loudness(out, SR) == pytest.approx(-30.0, abs=0.01)
    assert report["loudness_lufs"] == pytest.approx(-30.0, abs=0.01)


def test_unrelated_restoration_is_not_shifted_by_a_spurious_lag() -> None:
    rng = np.random.default_rng(3)
    vocals = rng.standard_normal((1, SR * 3)) * 0.1
    unrelated = rng.standard_normal((1, SR * 3)) * 0.1
    accompaniment = rng.standard_normal((1, SR * 3)) * 0.05
    _, report = remix(vocals, accompaniment, unrelated, accompaniment, SR, max_lag_ms=5.0)
    assert report["lag_samples"] == 0 and report["alignment_measured"] is False
    assert report["alignment_correlation"] < 0.1


def test_to_layout_duplicates_folds_trims_and_pads() -> None:
    mono = np.arange(6, dtype=np.float32)[None]
    assert to_layout(mono, 2, 4).tolist() == [[0, 1, 2, 3], [0, 1, 2, 3]]
    stereo = np.stack([np.ones(3), 3 * np.ones(3)])
    assert to_layout(stereo, 1, 5).tolist() == [[2, 2, 2, 0, 0]]
    with pytest.raises(ParameterError, match="cannot map 3 channels"):
        to_layout(np.zeros((3, 4)), 2, 4)


def test_equalise_stem_cuts_white_noise_towards_a_dark_reference_and_skips_silence() -> None:
    rng = np.random.default_rng(1)
    dark = sosfilt(butter(2, 1000, "low", fs=SR, output="sos"), rng.standard_normal(3 * SR))
    reference = compute_ltas(dark[None], SR, 1024)
    noise = 0.05 * rng.standard_normal((1, 2 * SR))
    equalised, diff_db, observed = equalise_stem(noise, SR, reference, n_fft=1024, max_boost_db=20.0)
    assert equalised.dtype == np.float64 and equalised.shape == noise.shape
    assert observed.n_fft == 1024 and float(np.max(diff_db)) > 10
    assert rms(equalised) == pytest.approx(rms(noise), rel=1e-3)  # the EQ keeps the stem's std
    assert equalise_stem(np.zeros((1, SR)), SR, reference, n_fft=1024, max_boost_db=20.0) is None
