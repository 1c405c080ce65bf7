"""Spectral gating improves the SNR of a hissy harmonic signal; noise profiles come from the recording."""

from pathlib import Path

import numpy as np
import pytest

from shellac.engine.audio_io import write_audio
from shellac.engine.dsp.denoise import gate, lead_in, noise_sample_from_file
from shellac.engine.dsp.levels import rms
from shellac.engine.errors import ParameterError

SR = 22050


def _signal() -> tuple[np.ndarray, np.ndarray]:
    t = np.arange(SR * 5) / SR
    clean = sum(0.3 / k * np.sin(2 * np.pi * 220 * k * t) for k in range(1, 12)) * ((t % 1) < 0.6)
    noise = 0.02 * np.random.default_rng(0).standard_normal(t.size)
    return clean, (clean + noise).astype(np.float32)


def _snr(ref: np.ndarray, x: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(ref**2) / np.sum((x - ref) ** 2)))


def _noisy_file(tmp_path: Path) -> tuple[np.ndarray, np.ndarray, Path]:
    clean, noisy = _signal()
    path = tmp_path / "noisy.wav"
    write_audio(path, noisy[None], SR, bit_depth=32)
    return clean, noisy, path


def test_quietest_profile_raises_snr_by_several_db(tmp_path: Path) -> None:
    clean, noisy, path = _noisy_file(tmp_path)
    noise = noise_sample_from_file(path, profile="quietest")
    assert noise is not None
    out = gate(noisy[None], SR, noise, prop_decrease=0.8)[0]
    assert _snr(clean, noisy) == pytest.approx(20.2, abs=0.2)
    assert _snr(clean, out) > _snr(clean, noisy) + 5.0
    assert noise.shape == (5 * 2205,)  # the quietest tenth of the 100 ms frames: the gaps
    assert 20 * np.log10(rms(noise)) == pytest.approx(-34.0, abs=0.5)
    assert np.std(noise) == pytest.approx(0.02, rel=0.1)


def test_lead_in_and_adaptive_profiles(tmp_path: Path) -> None:
    _, noisy, path = _noisy_file(tmp_path)
    head = noise_sample_from_file(path, profile="lead_in", lead_in_s=0.5)
    assert head is not None and np.array_equal(head, noisy[: SR // 2])
    assert noise_sample_from_file(path, profile="adaptive") is None


def test_stereo_is_processed_per_channel(tmp_path: Path) -> None:
    _, noisy, path = _noisy_file(tmp_path)
    noise = noise_sample_from_file(path, profile="quietest")
    out = gate(np.stack([noisy, 0.5 * noisy]), SR, noise)
    assert out.shape == (2, noisy.size)
    # each channel is gated on its own: the half-level copy comes out at about half the level
    assert np.std(out[1]) == pytest.approx(0.5 * np.std(out[0]), rel=0.05)


def test_lead_in_bounds() -> None:
    with pytest.raises(ParameterError, match="lead-in"):
        lead_in(np.zeros(SR), SR, seconds=2.0)
    assert lead_in(np.ones(SR * 2), SR, seconds=0.5).shape == (SR // 2,)
