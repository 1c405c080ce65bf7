"""BS.1770-4 loudness and true peak: the standard's coefficients and EBU Tech 3341 cases."""

import numpy as np
import pytest

from shellac.engine.dsp.loudness import (
    block_loudness,
    integrated_loudness,
    k_weighting_sos,
    sample_peak_dbfs,
    true_peak_dbtp,
)
from shellac.engine.errors import ParameterError


def _sine(freq_hz: float, level_dbfs: float, seconds: float, sr: int, channels: int = 1,
          phase: float = 0.0) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    return np.tile(10 ** (level_dbfs / 20) * np.sin(2 * np.pi * freq_hz * t + phase), (channels, 1))


def test_k_weighting_matches_the_standard_table_at_48k() -> None:
    sos = k_weighting_sos(48000)
    # BS.1770-4 Tables 1 and 2 (48 kHz).
    shelf = [1.53512485958697, -2.69169618940638, 1.19839281085285, 1.0,
             -1.69065929318241, 0.73248077421585]
    highpass = [1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621]
    np.testing.assert_allclose(sos[0], shelf, atol=1e-9)
    np.testing.assert_allclose(sos[1], highpass, atol=1e-9)


@pytest.mark.parametrize("sr", [48000, 44100])
def test_full_scale_997hz_sine_reads_its_rms_level(sr: int) -> None:
    # One channel at 0 dBFS: mean square 0.5 -> -3.01 LUFS (the -0.691 offset cancels K at 997 Hz).
    assert integrated_loudness(_sine(997, 0.0, 2.0, sr), sr) == pytest.approx(-3.01, abs=0.01)


@pytest.mark.parametrize("sr", [48000, 44100])
def test_ebu_3341_case_1_stereo_minus_23(sr: int) -> None:
    # Two channels at -23 dBFS: each -26.01, summed power +3.01 -> -23.0 LUFS (tolerance ±0.1).
    assert integrated_loudness(_sine(1000, -23.0, 3.0, sr, channels=2), sr) == pytest.approx(-23.0, abs=0.03)


def test_ebu_3341_case_3_relative_gate() -> None:
    sr = 48000
    x = np.concatenate([_sine(1000, -36, 10, sr, 2), _sine(1000, -23, 60, sr, 2),
                        _sine(1000, -36, 10, sr, 2)], axis=1)
    assert integrated_loudness(x, sr) == pytest.approx(-23.0, abs=0.1)
    # Without gating the quiet parts would pull the mean power down by ~0.9 dB.
    ungated = -0.691 + 10 * np.log10(np.mean(10 ** ((block_loudness(x, sr) + 0.691) / 10)))
    assert ungated < -23.5


def test_absolute_gate_ignores_silence_and_near_silence() -> None:
    sr = 48000
    tone = _sine(1000, -23, 6, sr, 2)
    edge = int(0.4 * sr)  # exactly the blocks that straddle the tone's edges
    short = np.concatenate([np.zeros((2, edge)), tone, _sine(1000, -80, 0.4, sr, 2)], axis=1)
    padded = np.concatenate([np.zeros((2, sr * 3)), tone, _sine(1000, -80, 3, sr, 2)], axis=1)
    # 50 more blocks of silence or -80 dBFS fall under the -70 LUFS gate and change nothing.
    assert integrated_loudness(padded, sr) == pytest.approx(integrated_loudness(short, sr), abs=1e-9)
    assert integrated_loudness(short, sr) == pytest.approx(-23.2, abs=0.05)
    assert integrated_loudness(np.zeros((2, sr)), sr) == float("-inf")


def test_block_count_and_short_input() -> None:
    sr = 48000
    # 2 s: blocks start every 100 ms while a whole 400 ms block fits -> 17 blocks.
    assert block_loudness(_sine(1000, -20, 2.0, sr), sr).shape == (17,)
    with pytest.raises(ParameterError, match="shorter than one 400 ms"):
        integrated_loudness(np.ones(1000), sr)


def test_true_peak_finds_the_inter_sample_peak() -> None:
    # EBU Tech 3341 case 16 style: fs/4 sine at 45° phase, true peak -6 dBFS; the samples
    # only reach -9.01 dBFS. Fades keep the band-limited onset from ringing over the peak.
    sr = 48000
    x = _sine(sr / 4, -6.0, 1.0, sr, phase=np.pi / 4)
    fade = np.sin(np.linspace(0, np.pi / 2, 480)) ** 2
    x[:, :480] *= fade
    x[:, -480:] *= fade[::-1]
    assert sample_peak_dbfs(x) == pytest.approx(-9.01, abs=0.01)
    assert true_peak_dbtp(x) == pytest.approx(-6.0, abs=0.02)
    assert true_peak_dbtp(np.zeros(100)) == float("-inf")
