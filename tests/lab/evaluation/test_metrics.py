"""Known values of the benchmark metrics."""

import numpy as np
import pytest
from scipy.signal import butter, sosfilt, sosfreqz

from shellac.engine.dsp.ltas import Ltas, compute_ltas
from shellac.engine.errors import ParameterError
from shellac.lab.evaluation.metrics import (
    effective_response_db,
    filter_error_db,
    least_squares_gain,
    log_grid,
    lsd,
    ltas_distance_db,
    pass_band,
    si_sdr,
)

SR = 8000


def _music(n: int = 8000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / SR
    tone = sum(0.3 / k * np.sin(2 * np.pi * 196.0 * k * t) for k in range(1, 8))
    return tone + 0.01 * rng.standard_normal(n)


def test_lsd_identical_is_zero() -> None:
    x = _music()
    assert lsd(x, x) == 0.0


def test_lsd_of_scaled_copy_is_zero_after_level_alignment() -> None:
    x = _music()
    assert least_squares_gain(x, 2.0 * x) == pytest.approx(0.5)
    assert lsd(x, 2.0 * x) == pytest.approx(0.0, abs=1e-9)
    # Without alignment a 2× copy is 20·log10(2) = 6.02 dB off in every bin (white noise: bins stay
    # far above the 1e-10 power floor).
    w = np.random.default_rng(3).standard_normal(8000)
    assert lsd(w, 2.0 * w, align_level=False) == pytest.approx(20 * np.log10(2.0), abs=1e-4)


def test_lsd_grows_with_a_spectral_change() -> None:
    x = _music()
    noisy = x + 0.1 * np.random.default_rng(1).standard_normal(x.size)
    assert lsd(x, noisy) > 1.0


def test_si_sdr_matches_the_analytic_value_for_orthogonal_noise() -> None:
    x = _music()
    n = np.random.default_rng(2).standard_normal(x.size)
    n -= np.dot(n, x) / np.dot(x, x) * x  # exactly orthogonal: the projection keeps x at unit scale
    n *= np.sqrt(np.sum(x**2) / np.sum(n**2)) * 10 ** (-12.5 / 20)  # 12.5 dB below the signal
    assert si_sdr(x, x + n) == pytest.approx(12.5, abs=1e-9)
    # Scale invariance: a gain on the estimate does not change it.
    assert si_sdr(x, 3.0 * (x + n)) == pytest.approx(12.5, abs=1e-9)
    assert si_sdr(x, -2.0 * x) == float("inf")


def test_ltas_distance_known_values() -> None:
    ref = Ltas(SR, 16, np.linspace(1.0, 2.0, 9))
    assert ltas_distance_db(ref, ref) == float("-inf")  # mean |X − R|/R = 0
    # X = 2R: mean |X − R|/R = 1, i.e. 0 dB; X = 1.1R: 0.1, i.e. −10 dB.
    assert ltas_distance_db(Ltas(SR, 16, 2.0 * ref.power), ref) == pytest.approx(0.0, abs=1e-12)
    assert ltas_distance_db(Ltas(SR, 16, 1.1 * ref.power), ref) == pytest.approx(-10.0, abs=1e-9)
    x = _music()
    assert ltas_distance_db(compute_ltas(x, SR, 512), compute_ltas(4.0 * x, SR, 512)) < -100.0


def test_filter_error_zero_for_the_truth_plus_an_offset() -> None:
    grid = log_grid(4000.0)
    true = -10 * np.log10(1 + (grid / 2500.0) ** 8) - 10 * np.log10(1 + (250.0 / grid) ** 4)
    assert filter_error_db(grid, true + 17.0, true, 4000.0) == pytest.approx(0.0, abs=1e-12)


def test_filter_error_of_a_known_tilt() -> None:
    n = 256
    grid = log_grid(4000.0, n_points=n)
    true = np.zeros(n)  # flat: the whole grid is the pass band
    assert pass_band(grid, true, 4000.0).all()
    slope = 3.0  # dB/octave
    est = true + slope * np.log2(grid)
    width = np.log2(4000.0 / 50.0)  # octaves
    # RMS of a centred ramp sampled at n equally spaced points: slope·width/(n−1)·√((n²−1)/12).
    expected = slope * width / (n - 1) * np.sqrt((n**2 - 1) / 12.0)
    assert filter_error_db(grid, est, true, 4000.0) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx(5.496, abs=0.001)  # 3 dB/oct over log2(80) = 6.32 octaves


def test_pass_band_keeps_the_top_20_db_between_50_hz_and_nyquist() -> None:
    grid = np.array([20.0, 60.0, 500.0, 1000.0, 3000.0, 3900.0, 4500.0])
    true = np.array([0.0, -25.0, 0.0, -5.0, -19.0, -30.0, 0.0])
    assert pass_band(grid, true, 4000.0).tolist() == [False, False, True, True, True, False, False]
    with pytest.raises(ParameterError):
        pass_band(grid, true, 40.0)


def test_effective_response_recovers_a_known_filter_from_audio() -> None:
    sr = 22050
    rng = np.random.default_rng(3)
    clean = rng.standard_normal(sr * 4)
    sos = butter(4, 3000.0, "low", fs=sr, output="sos")
    degraded = sosfilt(sos, clean)
    grid = log_grid(sr / 2.0)
    _, h = sosfreqz(sos, worN=grid, fs=sr)
    true_db = 20.0 * np.log10(np.abs(h) + 1e-12)
    # Restoring the degraded file back to the clean one undid exactly the low-pass.
    estimated = effective_response_db(degraded, clean, sr, grid)
    assert filter_error_db(grid, estimated, true_db, sr / 2.0) < 1.0
    # A restoration that changed nothing estimated a flat response: wrong by the filter's own shape.
    flat = effective_response_db(degraded, degraded, sr, grid)
    assert np.abs(flat).max() < 1e-9
    assert filter_error_db(grid, flat, true_db, sr / 2.0) > 3.0


def test_effective_response_rejects_silence() -> None:
    with pytest.raises(ParameterError):
        effective_response_db(np.zeros(8192), np.ones(8192), 22050, log_grid(11025.0))
