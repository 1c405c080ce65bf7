"""The gate's balance restore: a band the gate took under the clean estimate comes back to it, hiss stays."""

from pathlib import Path

import numpy as np
import pytest
from scipy.signal import butter, sosfiltfilt

from shellac.engine.audio_io import read_audio, write_audio
from shellac.engine.dsp.denoise_file import GateSettings, denoise_file
from shellac.engine.dsp.gate_balance import PowerTally, gate_max_boost_db, restore_gain_db, restored_bands
from shellac.engine.errors import ParameterError

SR, N_FFT = 16000, 2048


def _band(x: np.ndarray, low: float, high: float) -> np.ndarray:
    return sosfiltfilt(butter(6, [low, high], "bandpass", fs=SR, output="sos"), x)


def _power(x: np.ndarray, low: float, high: float) -> float:
    f = np.fft.rfftfreq(x.size, 1 / SR)
    return float(np.sum(np.abs(np.fft.rfft(x)[(f >= low) & (f < high)]) ** 2))


def test_a_band_the_gate_cut_is_raised_to_the_input_less_the_noise() -> None:
    rng = np.random.default_rng(4)
    n = 8 * SR
    music = _band(rng.standard_normal(n), 400, 3000)
    breath = 0.05 * _band(rng.standard_normal(n), 100, 200)  # well above the hiss in its band
    hiss = 0.01 * rng.standard_normal(n)
    before = (music + breath + hiss)[None]
    # a "gate" that takes 100-200 Hz down 10 dB (its noise with it) and leaves the rest
    after = before - (1 - 10 ** (-10 / 20)) * _band(before[0], 100, 200)[None]
    tally = PowerTally(SR, N_FFT)
    for start in range(0, n, 2 * SR):  # chunk by chunk, as denoise_file tallies
        tally.add(before[:, start:start + 2 * SR], after[:, start:start + 2 * SR])
    gain = restore_gain_db(tally, 0.01 * rng.standard_normal(2 * SR), max_boost_db=gate_max_boost_db(0.7))
    f = np.fft.rfftfreq(N_FFT, 1 / SR)
    # the cut band gets its 10 dB back (less the hiss share, about 0.1 dB); the smoothing spreads it a little
    assert gain[(f >= 130) & (f <= 170)].mean() == pytest.approx(10.0, abs=0.6)
    assert gain[(f >= 600) & (f <= 2500)].max() < 0.3  # what the gate left alone stays
    assert gain[f >= 5000].max() == 0.0  # hiss alone: never lifted
    summary = restored_bands(gain, SR, N_FFT)
    assert summary["max_db"] == pytest.approx(gain.max(), abs=0.01) and 100 <= summary["at_hz"] <= 200
    assert len(summary["bands_hz"]) == 1 and summary["bands_hz"][0][0] < 150 < summary["bands_hz"][0][1]


def test_the_boost_is_capped_at_what_the_gate_can_remove() -> None:
    assert gate_max_boost_db(0.7) == pytest.approx(10.46, abs=0.01)
    assert gate_max_boost_db(0.0) == 0.0 and gate_max_boost_db(1.0) == 20.0
    rng = np.random.default_rng(1)
    x = rng.standard_normal((1, 2 * SR))
    tally = PowerTally(SR, N_FFT)
    tally.add(x, 0.01 * x)  # 40 dB gone everywhere
    gain = restore_gain_db(tally, 1e-4 * rng.standard_normal(SR), max_boost_db=10.46)
    assert gain.max() == pytest.approx(10.46)


def test_refusals() -> None:
    tally = PowerTally(SR, N_FFT)
    with pytest.raises(ParameterError, match="shorter than one analysis window"):
        restore_gain_db(tally, np.zeros(SR), max_boost_db=10.0)
    tally.add(np.ones((1, SR)), np.ones((1, SR)))
    with pytest.raises(ParameterError, match="noise sample of 100 samples"):
        restore_gain_db(tally, np.zeros(100), max_boost_db=10.0)


def test_denoise_file_restores_after_the_gate_and_needs_a_noise_sample(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    n = 6 * SR
    t = np.arange(n) / SR
    clean = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.0004 * _band(rng.standard_normal(n), 100, 200) / 0.1
    x = clean + 0.003 * rng.standard_normal(n)
    write_audio(tmp_path / "in.wav", x[None], SR, bit_depth=32)
    noise = (0.003 * rng.standard_normal(4 * SR)).astype(np.float32)
    outs = {}
    for restore in (False, True):
        result = denoise_file(tmp_path / "in.wav", tmp_path / f"{restore}.wav", noise, declick_settings=None,
                              gate_settings=GateSettings(prop_decrease=0.7, restore_balance=restore))
        assert (result.balance_gain_db is None) is not restore
        outs[restore] = read_audio(tmp_path / f"{restore}.wav")[0][0]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["False.wav", "True.wav", "in.wav"]  # no temp left
    # the breath-level band under the tone comes back to the clean level (measured -0.67 -> -0.13 dB) ...
    shortfall = {k: 10 * np.log10(_power(v, 100, 200) / _power(clean, 100, 200)) for k, v in outs.items()}
    assert shortfall[False] < -0.5 and abs(shortfall[True]) < 0.25
    # ... and hiss alone at 4-7 kHz: the same after the gate with or without the restore
    assert 10 * np.log10(_power(outs[True], 4000, 7000) / _power(outs[False], 4000, 7000)) == pytest.approx(
        0.0, abs=0.1)
    with pytest.raises(ParameterError, match="needs a noise sample"):
        denoise_file(tmp_path / "in.wav", tmp_path / "x.wav", None, declick_settings=None,
                     gate_settings=GateSettings(restore_balance=True))
