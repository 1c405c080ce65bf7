"""Random decaying harmonic notes: a broadband, piano-like stand-in for music in fast tests and checks."""

from __future__ import annotations

import numpy as np

from shellac.engine.errors import ParameterError


def random_notes(rng: np.random.Generator, sample_rate: int, seconds: float, *,
                 notes_per_second: float = 6.0, midi_range: tuple[int, int] = (28, 100),
                 rms: float = 0.1) -> np.ndarray:
    """Overlapping notes with 1/k^p partials (slightly inharmonic, like piano strings) and exponential decays.

    Parameters
    ----------
    rng
        Source of randomness (pitches, onsets, decays, phases).
    sample_rate
        Sample rate, Hz.
    seconds
        Length, seconds.
    notes_per_second
        Mean note rate.
    midi_range
        Lowest and highest MIDI pitch (inclusive lower, exclusive upper).
    rms
        RMS level of the result, linear full scale.
    """
    n = int(round(sample_rate * seconds))
    if n < sample_rate // 2:
        raise ParameterError(f"need at least half a second, got {seconds} s")
    t = np.arange(n) / sample_rate
    x = np.zeros(n)
    for _ in range(max(1, int(seconds * notes_per_second))):
        start = int(rng.uniform(0.0, seconds - 0.4) * sample_rate)
        f0 = 440.0 * 2.0 ** ((int(rng.integers(*midi_range)) - 69) / 12.0)
        length = int(min(n - start, rng.uniform(0.3, 1.5) * sample_rate))
        tt = t[:length]
        k = np.arange(1, int(min(40, 0.45 * sample_rate / f0)) + 1)[:, None]
        amp = 1.0 / k ** rng.uniform(0.7, 1.3)
        phase = rng.uniform(0.0, 2.0 * np.pi, (k.size, 1))
        partials = amp * np.sin(2.0 * np.pi * f0 * k * np.sqrt(1.0 + 1e-4 * k**2) * tt + phase)
        envelope = np.exp(-tt * rng.uniform(1.0, 4.0)) * rng.uniform(0.3, 1.0)
        x[start:start + length] += envelope * partials.sum(0)
    return rms * x / max(float(np.std(x)), 1e-12)
