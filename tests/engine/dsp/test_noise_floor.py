"""Minimum statistics: each band's own pauses give the hiss floor where the quietest frames hold music."""

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from shellac.engine.audio_io import write_audio
from shellac.engine.dsp.denoise import noise_sample_from_file
from shellac.engine.dsp.noise_floor import _frame_power, noise_psd, slope_limited, synthesise_noise
from shellac.engine.errors import ParameterError

SR, N_FFT = 22050, 2048


def _db(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return 10 * np.log10(a / b)


def test_the_floor_of_coloured_noise_and_its_synthesis(tmp_path: Path) -> None:
    rng = np.random.default_rng(3)
    hiss = 0.01 * sosfiltfilt(butter(1, 1000, fs=SR, output="sos"), rng.standard_normal(12 * SR))
    write_audio(tmp_path / "h.wav", hiss[None], SR, bit_depth=32)
    true = _frame_power(hiss, N_FFT).mean(axis=-1)[5:-5]
    psd = noise_psd(tmp_path / "h.wav", n_fft=N_FFT)
    # the bias of the low quantile is corrected: measured -0.03 dB mean, 0.38 dB spread per bin
    assert _db(psd[5:-5], true).mean() == pytest.approx(0.0, abs=0.15)
    assert _db(psd[5:-5], true).std() < 0.6
    noise = synthesise_noise(psd, SR, N_FFT, 10.0)
    assert noise.shape == (10 * SR,) and noise.dtype == np.float32
    synthesised = _frame_power(noise.astype(np.float64), N_FFT).mean(axis=-1)[5:-5]
    assert _db(synthesised, true).mean() == pytest.approx(0.0, abs=0.15)
    assert np.array_equal(noise, synthesise_noise(psd, SR, N_FFT, 10.0))  # seeded


def test_a_band_busy_in_every_quiet_frame_does_not_lift_the_floor(tmp_path: Path) -> None:
    rng = np.random.default_rng(5)
    n = 10 * SR
    t = np.arange(n) / SR
    phase = t % 1.0
    # a soft low note over most of each second, a loud high burst over the rest: no frame is hiss alone
    note = 0.05 * np.sin(2 * np.pi * 150 * t) * (phase < 0.6)
    burst = 0.3 * sosfiltfilt(butter(4, [2000, 4000], "bandpass", fs=SR, output="sos"),
                              rng.standard_normal(n)) * (phase >= 0.55)
    hiss = 0.002 * rng.standard_normal(n)
    write_audio(tmp_path / "x.wav", (note + burst + hiss)[None], SR, bit_depth=32)
    f = np.fft.rfftfreq(N_FFT, 1 / SR)
    hiss_power = _frame_power(hiss, N_FFT).mean(axis=-1)
    at_note, in_burst = (f > 120) & (f < 180), (f > 2500) & (f < 3500)
    quietest = noise_sample_from_file(tmp_path / "x.wav", profile="quietest")
    minimum = noise_sample_from_file(tmp_path / "x.wav", profile="minimum", n_fft=N_FFT)
    assert quietest is not None and minimum is not None
    assert minimum.size == SR  # as long as the quietest tenth
    over = {k: _frame_power(v.astype(np.float64), N_FFT).mean(axis=-1) / hiss_power
            for k, v in (("quietest", quietest), ("minimum", minimum))}
    # the quietest frames are the note's: its band reads far above the hiss; each band's own pauses do not.
    # Each band rests about a third of the (smoothed) time, so its tenth is a higher quantile of its
    # pauses and reads a little high: measured +0.96 and +0.89 dB (+2.5 and +2.0 without the 100 Hz
    # averaging across frequency, which narrows the spread of a band's power in its pauses).
    assert 10 * np.log10(over["quietest"][at_note].mean()) > 30.0
    for band in (at_note, in_burst):
        assert 0.0 < 10 * np.log10(over["minimum"][band].mean()) < 1.5


def test_the_slope_limit_is_a_lower_envelope_in_log_frequency() -> None:
    f = np.fft.rfftfreq(N_FFT, 1 / SR)
    # a -3 dB/oct floor with a 30 dB bump over 400-800 Hz (music that never rests)
    floor_db = -80.0 - 3.0 * np.log2(np.maximum(f, 1.0) / 1000.0)
    db = floor_db + 30.0 * ((f >= 400) & (f <= 800))
    out = 10 * np.log10(slope_limited(10 ** (db / 10), SR, N_FFT, 6.0))
    assert np.all(out <= db + 1e-9) and out[0] == db[0]  # never above what was measured; DC as it was
    # the bump's middle lies at most 6 dB/oct over its edges; the upper edge binds, the floor falling
    # 3 dB/oct towards it: 6 - 3 dB/oct over the 0.415 octave from 600 to 800 Hz
    mid = np.argmin(np.abs(f - 600))
    assert out[mid] - floor_db[mid] == pytest.approx(3.0 * np.log2(800 / 600), abs=0.05)
    # slopes gentler than the limit are kept as they are
    kept = (f > 100) & (f < 390) | (f > 1200)
    assert np.allclose(out[kept], db[kept])
    # a 10 dB dip at 3 kHz lowers its surroundings within its 6 dB/oct cone: an octave down by 10 - 6 + 3
    dipped = db - 10.0 * ((f >= 2950) & (f <= 3050))
    out = 10 * np.log10(slope_limited(10 ** (dipped / 10), SR, N_FFT, 6.0))
    at = np.argmin(np.abs(f - 1500))
    assert out[at] - floor_db[at] == pytest.approx(-7.0, abs=0.1)
    with pytest.raises(ParameterError, match="must be positive"):
        slope_limited(10 ** (db / 10), SR, N_FFT, 0.0)


def test_too_short_a_recording_is_refused(tmp_path: Path) -> None:
    write_audio(tmp_path / "s.wav", np.zeros((1, 4 * N_FFT)), SR, bit_depth=32)
    with pytest.raises(ParameterError, match="too short to estimate its noise floor"):
        noise_psd(tmp_path / "s.wav", n_fft=N_FFT)
    with pytest.raises(ParameterError, match="expected 1025 for n_fft 2048"):
        synthesise_noise(np.ones(10), SR, N_FFT, 1.0)
