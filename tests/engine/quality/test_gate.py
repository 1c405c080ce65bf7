"""Quality gate checks on synthetic signals: identity passes, hiss and haze fail, bands are classified."""

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from shellac.engine.dsp.ltas import compute_ltas
from shellac.engine.errors import ParameterError
from shellac.engine.quality import evaluate_gate, frame_stats, music_bands, third_octave_bands
from shellac.engine.quality.gate import music_low_cutoff_hz, noise_ratio_db

SR = 22050


def _notes(seconds: float = 4.0, seed: int = 0) -> np.ndarray:
    """Decaying harmonic notes every 0.5 s: music whose band energies come and go."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    x = np.zeros(t.size)
    for start in np.arange(0.0, seconds, 0.5):
        f0 = 220.0 * 2 ** (rng.integers(0, 24) / 12)
        i = int(start * SR)
        env = np.exp(-4.0 * (t[i:] - start))
        for h in range(1, 14):
            x[i:] += env * np.sin(2 * np.pi * f0 * h * t[i:]) / h
    return 0.5 * x / np.abs(x).max()


def _transfer(clean: np.ndarray, seed: int = 1) -> np.ndarray:
    """Band-limited to 250–4000 Hz with hiss 35 dB below the music."""
    band = sosfiltfilt(butter(4, [250, 4000], btype="band", fs=SR, output="sos"), clean)
    return band + 10 ** (-35 / 20) * np.std(band) * np.random.default_rng(seed).standard_normal(clean.size)


def test_third_octave_bands_cover_the_spectrum_once() -> None:
    bands = third_octave_bands(SR, 2048)
    every = np.concatenate(bands.bins)
    assert np.all(np.diff(every) == 1)  # consecutive, no overlap
    assert bands.hi_hz[-1] == SR / 2 and np.all(bands.widths >= 1)
    # The first edge is the lowest third-octave edge at or above 50 Hz.
    assert len(bands.bins) == 23 and bands.lo_hz[0] == pytest.approx(1000 * 2 ** (-12.5 / 3))


def test_noise_ratio_of_stationary_noise_matches_its_bands() -> None:
    bands = third_octave_bands(SR, 2048)
    noise = np.random.default_rng(3).standard_normal(SR * 20)
    stats = frame_stats(noise, bands)
    measured = 10 * np.log10(np.median(stats.energy, 0) / np.percentile(stats.energy, 10, 0))
    # The Gamma model of a band's frame energy predicts white noise's quantile ratio within 1 dB.
    wide = bands.widths >= 4
    assert np.abs(measured[wide] - noise_ratio_db(bands.widths[wide])).max() < 1.0
    assert not music_bands(stats, bands, 3.0).any()
    # One bin: ln 2 / −ln 0.9 (exponential energy).
    assert noise_ratio_db(np.array([1, 100])) == pytest.approx([8.181, 0.701], abs=1e-3)


def test_music_bands_are_the_transfer_pass_band() -> None:
    bands = third_octave_bands(SR, 2048)
    music = music_bands(frame_stats(_transfer(_notes()), bands), bands, 3.0)
    assert music[(bands.lo_hz >= 300) & (bands.hi_hz <= 3500)].all()
    assert not music[bands.lo_hz >= 5600].any()


def test_music_low_cutoff_is_the_gates_low_cut_off_and_none_for_noise() -> None:
    y = _transfer(_notes())
    low = music_low_cutoff_hz(y, SR)
    assert low == evaluate_gate(y, y, y, SR).low_cutoff_hz
    assert low is not None and 150.0 < low < 300.0  # the transfer's 250 Hz high-pass, to a third octave
    assert music_low_cutoff_hz(np.random.default_rng(5).standard_normal(4 * SR), SR) is None


def test_identical_output_passes_with_zero_distances() -> None:
    y = _transfer(_notes())
    result = evaluate_gate(y, y, y, SR)
    assert result.decision == "generative" and result.reason is None
    assert all(c.passed and c.value == pytest.approx(0.0, abs=1e-6) for c in result.checks)
    assert 3500 < (result.high_cutoff_hz or 0) < 5700


def test_hazy_output_falls_back_naming_the_failed_checks() -> None:
    y = _transfer(_notes())
    hazy = y + 0.3 * np.std(y) * np.random.default_rng(9).standard_normal(y.size)
    result = evaluate_gate(y, y, hazy, SR)
    values = {c.name: c for c in result.checks}
    assert result.fallback and result.decision == "ltas_eq"
    assert not values["high_band_excess_db"].passed and values["high_band_excess_db"].value > 10
    assert not values["haze"].passed and values["haze"].value > 0.1
    assert "high_band_excess_db" in (result.reason or "") and "haze" in (result.reason or "")
    assert result.to_json()["fallback"] is True
    # A bright clean reference makes that much energy above the cut-off plausible; the haze is not.
    with_reference = evaluate_gate(y, y, hazy, SR, reference=compute_ltas(_notes(seed=4), SR, 2048))
    values = {c.name: c for c in with_reference.checks}
    assert values["high_band_excess_db"].passed and with_reference.fallback
    assert with_reference.reason is not None and "haze" in with_reference.reason


def test_reference_level_allows_synthesis_above_the_cut_off() -> None:
    clean = _notes()
    y = _transfer(clean)
    # Restoring the clean signal puts energy above the cut-off at the clean reference's level: allowed.
    result = evaluate_gate(y, y, clean, SR, reference=compute_ltas(clean, SR, 2048))
    high = next(c for c in result.checks if c.name == "high_band_excess_db")
    assert high.passed and high.value < 1.0


def test_signals_of_different_lengths_are_refused() -> None:
    y = _transfer(_notes())
    with pytest.raises(ParameterError, match="one length"):
        evaluate_gate(y, y, y[:-10], SR)
