import numpy as np
import pytest
import soundfile as sf

from shellac.engine.dsp.band_spectrum import (
    band_grid,
    band_spectrum,
    band_spectrum_of_file,
    ltas_on_bands,
    spread_on_bands,
)
from shellac.engine.dsp.ltas import Ltas

SR = 22050


def test_grid_bands_are_at_least_two_bins_and_log_spaced_above():
    grid = band_grid(SR)
    widths = np.diff(grid.edges_hz)
    assert widths.min() >= 2 * SR / 4096 - 1e-9
    high = grid.edges_hz[:-1] > 1000
    ratios = grid.edges_hz[1:][high] / grid.edges_hz[:-1][high]
    np.testing.assert_allclose(ratios[:-1], 2 ** (1 / 16), rtol=1e-9)
    assert grid.edges_hz[0] == 30.0 and grid.edges_hz[-1] == pytest.approx(0.97 * SR / 2)


def test_noise_floor_of_stationary_noise_reads_at_its_mean():
    # Only noise: the bias-corrected 10th percentile matches the mean power within ~1.5 dB.
    rng = np.random.default_rng(0)
    spectrum = band_spectrum(rng.standard_normal(SR * 6), SR)
    ratio_db = 10 * np.log10(spectrum.mean_power / spectrum.noise_power)
    assert np.median(ratio_db) < 0.6
    assert ratio_db.max() < 2.0


def test_music_bursts_stand_above_the_floor():
    rng = np.random.default_rng(1)
    gate = (np.arange(SR * 4) // (SR // 4)) % 3 != 0
    x = rng.standard_normal(SR * 4) * gate + 0.01 * rng.standard_normal(SR * 4)
    spectrum = band_spectrum(x, SR)
    # Bursts 40 dB over the hiss, present 2/3 of the time (38 dB above it on average); the few frames
    # wholly inside a 0.25 s gap still catch some leakage, so the floor reads a little high.
    assert 32.0 < np.median(spectrum.snr_db()) < 38.5


def test_file_and_memory_agree(tmp_path):
    rng = np.random.default_rng(2)
    x = 0.1 * rng.standard_normal(SR * 3)
    sf.write(tmp_path / "x.wav", x, SR, subtype="DOUBLE")
    grid = band_grid(SR)
    a = band_spectrum(x, SR, grid)
    b = band_spectrum_of_file(tmp_path / "x.wav", grid, chunk_frames=SR // 2)
    assert a.n_frames == b.n_frames
    # Files are read as float32.
    np.testing.assert_allclose(b.mean_power, a.mean_power, rtol=1e-6)
    np.testing.assert_allclose(b.noise_power, a.noise_power, rtol=1e-6)


def test_reference_ltas_on_bands_follows_its_slope():
    # A reference falling 6 dB per octave reads 6 dB lower one octave up.
    freqs = np.fft.rfftfreq(2048, 1 / SR)
    power = 1.0 / np.maximum(freqs, 10.0) ** 2
    bands = ltas_on_bands(Ltas(SR, 2048, power), band_grid(SR), SR)
    centres = band_grid(SR).centres_hz
    at = np.interp([1000, 2000], centres, 10 * np.log10(bands))
    assert at[0] - at[1] == pytest.approx(6.02, abs=0.2)


def test_a_reference_spread_on_bands_is_its_mean_over_each_band():
    freqs = np.fft.rfftfreq(2048, 1 / SR)
    grid = band_grid(SR)
    assert spread_on_bands(Ltas(SR, 2048, np.ones(freqs.size)), grid, SR) is None
    step = np.where(freqs > 3000, 8.0, 1.0)
    bands = spread_on_bands(Ltas(SR, 2048, np.ones(freqs.size), spread_db=step), grid, SR)
    centres = grid.centres_hz
    assert bands is not None and bands.shape == centres.shape
    assert np.allclose(bands[centres < 2500], 1.0) and np.allclose(bands[centres > 4000], 8.0)
