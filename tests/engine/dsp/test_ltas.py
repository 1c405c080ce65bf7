"""LTAS and LTAS-EQ: known filters are undone; smoothing, the boost limit and std restore hold."""

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from shellac.engine.dsp.ltas import (
    Ltas,
    apply_eq_db,
    compute_ltas,
    ltas_equalize,
    third_octave_smooth,
)
from shellac.engine.errors import ParameterError

SR = 22050


def _noise(seconds: float, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(int(seconds * SR)).astype(np.float32)


def test_white_noise_ltas_is_flat_and_normalised() -> None:
    ltas = compute_ltas(_noise(10), SR, 2048)
    band = ltas.db()[50:900]
    assert band.std() < 0.6
    # Unit-std white noise, periodic Hann of 1024 samples, spectrum scaling 1/sum(w):
    # expected power per bin = sum(w^2) / sum(w)^2 = 384 / 512^2.
    assert np.mean(ltas.power[50:900]) == pytest.approx(384.0 / 512**2, rel=0.05)


def test_ltas_eq_undoes_a_known_shelf() -> None:
    # A 12 dB low-shelf-like tilt: attenuate above 2 kHz by a 2nd-order low-pass mixed with dry.
    x = _noise(12, seed=1)
    sos = butter(2, 2000, "low", fs=SR, output="sos")
    y = (0.25 * x + 0.75 * sosfilt(sos, x)).astype(np.float32)
    reference = compute_ltas(_noise(12, seed=2), SR, 2048)
    out, diff_db, observed = ltas_equalize(y, SR, reference, n_fft=2048)
    freqs = observed.freqs_hz
    hi = (freqs > 5000) & (freqs < 9000)
    lo = (freqs > 200) & (freqs < 1000)
    # The observation's high band sits ~12 dB under its low band before, ~0 dB after.
    before = compute_ltas(y, SR, 2048).db()
    after = compute_ltas(out, SR, 2048).db()
    assert before[lo].mean() - before[hi].mean() == pytest.approx(12.0, abs=1.0)
    assert abs(after[lo].mean() - after[hi].mean()) < 1.0
    assert np.std(out) == pytest.approx(np.std(y), rel=1e-4)


def test_boost_is_limited() -> None:
    x = _noise(8, seed=3)
    sos = butter(8, 1500, "low", fs=SR, output="sos")
    y = sosfilt(sos, x).astype(np.float32)
    _, diff_db, _ = ltas_equalize(y, SR, compute_ltas(x, SR, 2048), n_fft=2048, max_boost_db=20.0)
    assert diff_db.min() == pytest.approx(-20.0)
    _, diff15, _ = ltas_equalize(y, SR, compute_ltas(x, SR, 2048), n_fft=2048, max_boost_db=15.0)
    assert diff15.min() == pytest.approx(-15.0)


def test_third_octave_smoothing_width() -> None:
    power = np.zeros(1025)
    power[512] = 1.0  # an impulse at 5512.5 Hz
    smooth = third_octave_smooth(power, SR, 2048)
    freqs = np.fft.rfftfreq(2048, 1 / SR)
    # Bin k gathers from the impulse with σ = F_k/(3π): ~585 Hz here, so ±1 σ is ~54 bins.
    sigma = freqs[512] / (3 * np.pi)
    assert sigma == pytest.approx(585.0, abs=1.0)
    assert smooth[0] == 0.0
    assert smooth[512] > smooth[560] > smooth[620] > 0
    assert np.argmax(smooth) in range(505, 520)


def test_flat_eq_is_identity() -> None:
    x = _noise(3, seed=4)[None, :]
    out = apply_eq_db(x, SR, 2048, np.zeros(1025))
    assert np.max(np.abs(out - x)) < 1e-4


def test_reference_at_another_rate_is_interpolated() -> None:
    ref = Ltas(44100, 4096, np.linspace(1.0, 2.0, 2049))
    on22 = ref.on_bins(22050, 2048)
    assert on22.shape == (1025,)
    assert on22[0] == pytest.approx(1.0)
    assert 10 * np.log10(on22[-1]) == pytest.approx(10 * np.log10(1.5), abs=0.01)


def test_silence_and_short_input_are_errors() -> None:
    with pytest.raises(ParameterError, match="silent"):
        compute_ltas(np.zeros(SR), SR, 2048)
    with pytest.raises(ParameterError, match="fewer than one analysis window"):
        compute_ltas(_noise(0.01), SR, 2048)


def test_json_round_trip() -> None:
    ltas = compute_ltas(_noise(2), SR, 1024)
    back = Ltas.from_json_dict(ltas.to_json_dict())
    assert back.sample_rate == SR and np.allclose(back.power, ltas.power)
    with pytest.raises(ParameterError):
        Ltas.from_json_dict({"sample_rate": 1})


def test_a_many_source_spread_travels_with_the_ltas_and_only_then() -> None:
    ltas = compute_ltas(_noise(2), SR, 1024)
    assert "spread_db" not in ltas.to_json_dict() and ltas.spread_on_bins(SR, 2048) is None
    spread = np.linspace(1.0, 9.0, ltas.power.size)
    back = Ltas.from_json_dict(Ltas(SR, 1024, ltas.power, spread_db=spread).to_json_dict())
    assert back.spread_db is not None and np.allclose(back.spread_db, spread)
    # Interpolated over linear frequency onto another grid: 1 dB at DC, 9 dB at Nyquist, 5 at half of it.
    on = back.spread_on_bins(SR, 4096)
    assert on is not None and on.size == 2049
    assert (on[0], on[1024], on[-1]) == pytest.approx((1.0, 5.0, 9.0), abs=0.01)
    with pytest.raises(ParameterError, match="spread has"):
        Ltas(SR, 1024, ltas.power, spread_db=np.ones(3))


def test_a_shape_basis_travels_with_the_ltas_and_only_then() -> None:
    ltas = compute_ltas(_noise(2), SR, 1024)
    assert "shape_basis_db" not in ltas.to_json_dict() and ltas.shape_basis_on_bins(SR, 2048) is None
    basis = np.stack([np.linspace(-4.0, 4.0, ltas.power.size), np.full(ltas.power.size, 2.0)])
    back = Ltas.from_json_dict(Ltas(SR, 1024, ltas.power, shape_basis_db=basis).to_json_dict())
    assert back.shape_basis_db is not None and np.allclose(back.shape_basis_db, basis)
    on = back.shape_basis_on_bins(SR, 4096)  # each row interpolated over linear frequency
    assert on is not None and on.shape == (2, 2049)
    assert (on[0, 0], on[0, 1024], on[0, -1], on[1, 700]) == pytest.approx((-4.0, 0.0, 4.0, 2.0), abs=0.01)
    with pytest.raises(ParameterError, match="shape basis is"):
        Ltas(SR, 1024, ltas.power, shape_basis_db=np.ones(ltas.power.size))


@pytest.mark.parametrize(("sample_rate", "n_fft"), [(22050, 2048), (44100, 4096)])
def test_third_octave_smoothing_matches_the_reference(sample_rate: int, n_fft: int) -> None:
    """Untruncated Gaussian: equal to the BABE-2 reference's smoothing (fixture) to 1e-6 relative."""
    ref = np.load(Path(__file__).parents[2] / "fixtures" / "babe2_reference" / "smoothing.npz")
    smooth = third_octave_smooth(ref[f"power_{sample_rate}"], sample_rate, n_fft)
    expected = ref[f"smoothed_{sample_rate}"]
    assert np.max(np.abs(smooth - expected) / expected) < 1e-6
