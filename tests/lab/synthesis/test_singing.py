"""Singing synthesiser: pitch within 10 cents, vibrato rate within 0.3 Hz, formant peaks where asked."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.signal import resample_poly

from shellac.engine.errors import ParameterError
from shellac.lab.synthesis import SungNote, Voice, midi_to_hz, render_melody, vowel_formants

SR = 44_100


def autocorr_f0(frame: np.ndarray, sr: int, fmin: float = 80.0, fmax: float = 1200.0) -> float:
    """f0 (Hz) of one frame: highest normalised autocorrelation peak, parabolic interpolation."""
    x = frame - frame.mean()
    spec = np.fft.rfft(x * np.hanning(x.size), 2 * x.size)
    ac = np.fft.irfft(np.abs(spec) ** 2)[: x.size]
    lo, hi = int(sr / fmax), int(sr / fmin)
    lag = lo + int(np.argmax(ac[lo:hi]))
    # The first peak above 90 % of the best avoids octave errors from period doubling.
    peaks = [k for k in range(lo + 1, hi - 1) if ac[k] >= ac[k - 1] and ac[k] >= ac[k + 1]
             and ac[k] > 0.9 * ac[lag]]
    k = peaks[0] if peaks else lag
    a, b, c = ac[k - 1], ac[k], ac[k + 1]
    return sr / (k + 0.5 * (a - c) / (a - 2 * b + c))


def f0_track(audio: np.ndarray, sr: int, expected_hz: float, hop: int = 220, win: int = 2048) -> np.ndarray:
    """f0 per frame, searched within half an octave-and-a-bit of the expected pitch (no octave errors)."""
    lo, hi = expected_hz / 1.5, expected_hz * 1.5
    return np.array([autocorr_f0(audio[i : i + win], sr, lo, hi) for i in range(0, audio.size - win, hop)])


def test_midi_to_hz() -> None:
    assert midi_to_hz([69, 57, 81]).tolist() == pytest.approx([440.0, 220.0, 880.0])


@pytest.mark.parametrize(("midi", "formant_set"), [(57, "male"), (72, "female")])
def test_sung_pitch_within_10_cents(midi: int, formant_set: str) -> None:
    audio = render_melody([SungNote(0.0, 2.5, midi, "a")], Voice(formant_set=formant_set), sample_rate=SR,
                          seed=3)
    # The sustained part, after the vibrato has grown: vibrato is symmetric in cents.
    track = f0_track(audio[int(0.6 * SR) : int(2.3 * SR)], SR, float(midi_to_hz(midi)))
    cents = 1200 * np.log2(track / midi_to_hz(midi))
    assert abs(float(np.mean(cents))) < 10.0
    assert 20.0 < float(np.std(cents)) * np.sqrt(2) < 80.0  # sine of ±50 cents has std 50/√2


def test_vibrato_rate_within_0_3_hz() -> None:
    voice = Voice(vibrato_rate_hz=5.6, vibrato_cents=50.0, drift_cents=0.0, vibrato_onset_s=0.1)
    audio = render_melody([SungNote(0.0, 4.5, 60, "o")], voice, sample_rate=SR, seed=4)
    hop = 220
    track = f0_track(audio[int(0.5 * SR) : int(4.3 * SR)], SR, float(midi_to_hz(60)), hop=hop)
    cents = 1200 * np.log2(track / midi_to_hz(60))
    cents -= cents.mean()
    spectrum = np.abs(np.fft.rfft(cents * np.hanning(cents.size), 16 * cents.size))
    freqs = np.fft.rfftfreq(16 * cents.size, d=hop / SR)
    band = (freqs > 3.0) & (freqs < 9.0)
    assert float(freqs[band][np.argmax(spectrum[band])]) == pytest.approx(5.6, abs=0.3)


def lpc_peaks(audio: np.ndarray, order: int) -> np.ndarray:
    """Pole frequencies (normalised 0–0.5) of an autocorrelation LPC fit, bandwidth < 0.04."""
    x = np.append(audio[0], audio[1:] - 0.7 * audio[:-1]) * np.hamming(audio.size)
    r = np.correlate(x, x, "full")[x.size - 1 : x.size + order]
    a = np.linalg.solve(np.array([[r[abs(i - j)] for j in range(order)] for i in range(order)]), r[1:])
    roots = np.roots(np.concatenate([[1.0], -a]))
    roots = roots[np.imag(roots) > 0]
    bandwidth = -np.log(np.abs(roots)) / np.pi
    return np.sort(np.angle(roots[bandwidth < 0.04]) / (2 * np.pi))


@pytest.mark.parametrize("vowel", ["a", "i", "u"])
def test_formant_peaks_near_requested_f1_f2(vowel: str) -> None:
    # A low note has dense harmonics, so the spectral envelope shows the formants.
    voice = Voice(vibrato_cents=0.0, jitter=0.0, shimmer=0.0, breath=0.0, drift_cents=0.0)
    audio = render_melody([SungNote(0.0, 1.0, 45, vowel)], voice, sample_rate=SR, seed=0)
    rate = 11_025
    segment = resample_poly(audio[int(0.3 * SR) : int(0.8 * SR)], 1, 4)
    peaks_hz = lpc_peaks(segment, 14) * rate
    f1, f2 = vowel_formants("male", vowel).freqs_hz[:2]
    for target in (f1, f2):
        nearest = peaks_hz[np.argmin(np.abs(peaks_hz - target))]
        assert nearest == pytest.approx(target, rel=0.15), (vowel, target, peaks_hz)


def test_legato_glides_and_rejects_bad_vowels() -> None:
    notes = [SungNote(0.0, 0.6, 57, "a"), SungNote(0.6, 0.6, 64, "a")]
    voice = Voice(vibrato_cents=0.0, drift_cents=0.0, glide_s=0.1)
    audio = render_melody(notes, voice, sample_rate=SR, seed=0, tail_s=0.0)
    # Half-way through the glide the pitch lies between the two notes; no silence in between.
    mid = autocorr_f0(audio[int(0.6 * SR) - 512 : int(0.6 * SR) + 512], SR)
    assert midi_to_hz(57) * 1.05 < mid < midi_to_hz(64) / 1.05
    rms = np.sqrt(np.mean(audio[int(0.55 * SR) : int(0.65 * SR)] ** 2))
    assert rms > 0.3 * np.sqrt(np.mean(audio[int(0.3 * SR) : int(0.5 * SR)] ** 2))
    assert audio.size == int(np.ceil(1.2 * SR))
    with pytest.raises(ParameterError):
        render_melody([SungNote(0.0, 1.0, 60, "y")])


def test_same_seed_same_audio() -> None:
    notes = [SungNote(0.0, 0.3, 62, "e")]
    assert np.array_equal(render_melody(notes, seed=1), render_melody(notes, seed=1))
    assert not np.array_equal(render_melody(notes, seed=1), render_melody(notes, seed=2))
