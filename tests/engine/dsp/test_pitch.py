import numpy as np
import pytest
from scipy.signal import butter, sosfilt

from shellac.engine.dsp.pitch import PitchSettings, track_pitch
from shellac.engine.errors import ParameterError
from shellac.lab.synthesis import SungNote, render_melody
from shellac.lab.synthesis.singing import Voice

SR = 22050
LINE = [(0.1, 0.6, 50.0), (0.75, 0.5, 53.0), (1.3, 0.7, 57.0), (2.05, 0.6, 55.0), (2.7, 0.8, 48.0)]


def _truth(times: np.ndarray) -> np.ndarray:
    out = np.full(times.size, np.nan)
    for start, length, midi in LINE:
        out[(times >= start + 0.1) & (times < start + length - 0.05)] = midi
    return out


def _scores(audio: np.ndarray) -> tuple[float, float]:
    """Share of the truly sung frames tracked within half a semitone, and share an octave off."""
    track = track_pitch(audio, SR)
    truth, est = _truth(track.times_s), track.midi()
    sung = np.isfinite(truth)
    err = np.where(np.isfinite(est), est - truth, np.inf)[sung]
    return float(np.mean(np.abs(err) < 0.5)), float(np.mean(np.abs(np.abs(err) - 12.0) < 0.5))


@pytest.fixture(scope="module")
def tenor() -> np.ndarray:
    notes = [SungNote(s, d, m, "a") for s, d, m in LINE]
    return render_melody(notes, Voice(), sample_rate=SR, seed=1, tail_s=0.2)


def test_a_clean_sung_line_is_tracked_to_the_semitone(tenor):
    right, octave = _scores(tenor)
    assert right >= 0.95
    assert octave == 0.0


def test_a_line_whose_fundamental_the_chain_took_is_still_tracked(tenor):
    # A 78-like chain: the fundamentals (131-220 Hz) 20-40 dB down under a steep 400 Hz high-pass,
    # the top cut at 3.5 kHz, hiss 25 dB under the line.
    sos = np.vstack([butter(4, 400.0, "highpass", fs=SR, output="sos"),
                     butter(6, 3500.0, fs=SR, output="sos")])
    recorded = sosfilt(sos, tenor)
    rng = np.random.default_rng(0)
    recorded = recorded + rng.normal(0.0, np.std(recorded) * 10 ** (-25 / 20), recorded.size)
    right, octave = _scores(recorded)
    assert right >= 0.9
    assert octave <= 0.05


def test_a_tone_of_even_harmonics_is_not_read_an_octave_high():
    # Partials 2, 4, 6 of 150 Hz strong, 3 and 5 weak, no fundamental: the period is still 1/150 s.
    t = np.arange(int(SR * 1.0)) / SR
    partials = ((2, 1.0), (3, 0.25), (4, 0.8), (5, 0.2), (6, 0.6))
    tone = sum(a * np.sin(2 * np.pi * 150.0 * k * t) for k, a in partials)
    track = track_pitch(tone, SR)
    f0 = track.f0_hz[np.isfinite(track.f0_hz)]
    assert f0.size >= 0.9 * track.f0_hz.size
    assert np.median(f0) == pytest.approx(150.0, rel=0.01)


def test_noise_and_silence_are_unvoiced():
    rng = np.random.default_rng(1)
    noise = rng.normal(0.0, 0.1, SR)
    track = track_pitch(np.concatenate([noise, np.zeros(SR)]), SR)
    assert track.voiced.mean() < 0.05


def test_bad_input_is_refused():
    with pytest.raises(ParameterError, match="mono"):
        track_pitch(np.zeros((2, SR)), SR)
    with pytest.raises(ParameterError, match="shorter than one pitch frame"):
        track_pitch(np.zeros(100), SR)
    with pytest.raises(ParameterError, match="fmin"):
        PitchSettings(fmin_hz=500.0, fmax_hz=100.0)
