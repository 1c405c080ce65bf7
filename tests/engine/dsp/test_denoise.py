"""Spectral gating improves the SNR of a hissy harmonic signal; noise profiles come from the recording."""

import numpy as np
import pytest

from shellac.engine.dsp.denoise import lead_in, quietest_passages, spectral_gate
from shellac.engine.errors import ParameterError

SR = 22050


def _signal() -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(SR * 5) / SR
    clean = sum(0.3 / k * np.sin(2 * np.pi * 220 * k * t) for k in range(1, 12)) * ((t % 1) < 0.6)
    noise = 0.02 * np.random.default_rng(0).standard_normal(t.size)
    return clean, (clean + noise).astype(np.float32)


def _snr(ref: np.ndarray, x: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref**2) / np.sum((x - ref) ** 2)))


def test_quietest_profile_raises_snr_by_several_db() -> None:
    clean, noisy = _signal()
    out, report = spectral_gate(noisy, SR, profile="quietest", prop_decrease=0.8)
    assert _snr(clean, noisy) == pytest.approx(20.2, abs=0.2)
    assert _snr(clean, out) > _snr(clean, noisy) + 5.0
    assert report["noise_sample_s"] == pytest.approx(0.5)
    assert report["noise_rms_dbfs"] == pytest.approx(-34.0, abs=0.5)


def test_quietest_passages_are_the_gaps() -> None:
    _, noisy = _signal()
    sample = quietest_passages(noisy[None, :], SR, fraction=0.1)
    assert sample.shape == (5 * 2205,)
    assert np.std(sample) == pytest.approx(0.02, rel=0.1)


def test_stereo_is_processed_per_channel() -> None:
    _, noisy = _signal()
    out, _ = spectral_gate(np.stack([noisy, 0.5 * noisy]), SR)
    assert out.shape == (2, noisy.size)
    assert np.std(out[1]) == pytest.approx(0.5 * np.std(out[0]), rel=0.05)


def test_lead_in_bounds() -> None:
    with pytest.raises(ParameterError, match="lead-in"):
        lead_in(np.zeros(SR), SR, seconds=2.0)
    assert lead_in(np.ones(SR * 2), SR, seconds=0.5).shape == (SR // 2,)
