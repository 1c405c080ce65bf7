"""Surface noise of a shellac disc: shaped hiss at a set SNR, clicks with known positions, crackle."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import fft as sp_fft

CLICK_SHAPES = ("pulse", "bipolar", "ringing")


@dataclass(frozen=True)
class Clicks:
    """Rendered clicks and where they are (onset and length in samples)."""

    signal: np.ndarray
    positions_samples: np.ndarray
    widths_samples: np.ndarray
    amplitudes: np.ndarray


def shaped_hiss(
    n_samples: int,
    sample_rate: int,
    signal_power: float,
    snr_db: float,
    tilt_db_per_oct: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Gaussian noise with a spectral tilt, scaled to an exact signal-to-noise ratio.

    Parameters
    ----------
    n_samples
        Length in samples.
    sample_rate
        Sample rate in Hz.
    signal_power
        Mean square of the music the hiss is measured against (linear).
    snr_db
        Required ``10 log10(signal_power / hiss_power)`` in dB.
    tilt_db_per_oct
        Slope of the hiss spectrum in dB/octave around 1 kHz.
    rng
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        Hiss, shape (n_samples,), whose mean square is exactly
        ``signal_power / 10^(snr_db/10)``.
    """
    white = rng.standard_normal(n_samples)
    spec = sp_fft.rfft(white)
    freqs = sp_fft.rfftfreq(n_samples, d=1.0 / sample_rate)
    # The tilt is referenced to 1 kHz; below 20 Hz the shape is held flat so a
    # negative tilt cannot blow up towards DC.
    shape_db = tilt_db_per_oct * np.log2(np.maximum(freqs, 20.0) / 1000.0)
    shape = 10.0 ** (shape_db / 20.0)
    shape[0] = 0.0  # no DC offset in the hiss
    hiss = sp_fft.irfft(spec * shape, n=n_samples)
    target_power = signal_power / 10.0 ** (snr_db / 10.0)
    return hiss * np.sqrt(target_power / np.mean(hiss**2))


def _click_shape(kind: str, width: int, rng: np.random.Generator) -> np.ndarray:
    """One click waveform of ``width`` samples with peak |value| 1."""
    t = (np.arange(width) + 0.5) / width
    if kind == "pulse":
        wave = np.sin(np.pi * t) ** float(rng.uniform(0.5, 2.0))
    elif kind == "bipolar":
        wave = np.sin(2.0 * np.pi * t) * np.sin(np.pi * t) ** 0.5
    else:  # "ringing": a damped oscillation, as when the stylus is knocked
        cycles = float(rng.uniform(1.5, 3.0))
        wave = np.exp(-4.0 * t) * np.cos(2.0 * np.pi * cycles * t)
    peak = np.max(np.abs(wave))
    return wave / peak if peak > 0 else np.ones(width)


def clicks(
    n_samples: int,
    sample_rate: int,
    rate_hz: float,
    width_ms: tuple[float, float],
    amplitude: tuple[float, float],
    rng: np.random.Generator,
) -> Clicks:
    """Clicks of random sign and shape at Poisson-distributed times.

    Parameters
    ----------
    n_samples
        Length in samples.
    sample_rate
        Sample rate in Hz.
    rate_hz
        Mean number of clicks per second.
    width_ms
        (min, max) click duration in ms.
    amplitude
        (min, max) peak amplitude, linear full scale.
    rng
        Source of randomness.

    Returns
    -------
    Clicks
        The click signal (zero outside clicks) and, sorted by time, each click's
        onset (samples), width (samples) and signed peak amplitude. Click spans
        are disjoint.
    """
    signal = np.zeros(n_samples)
    count = int(rng.poisson(rate_hz * n_samples / sample_rate))
    max_width = max(1, int(round(width_ms[1] * 1e-3 * sample_rate)))
    if count == 0 or n_samples <= max_width:
        empty = np.zeros(0, dtype=np.int64)
        return Clicks(signal, empty, empty.copy(), np.zeros(0))
    starts = np.sort(rng.integers(0, n_samples - max_width, size=count))
    positions, widths, amps = [], [], []
    next_free = 0
    for start in starts:
        width = max(1, int(round(rng.uniform(*width_ms) * 1e-3 * sample_rate)))
        kind = CLICK_SHAPES[int(rng.integers(len(CLICK_SHAPES)))]
        amp = float(rng.uniform(*amplitude)) * float(rng.choice((-1.0, 1.0)))
        wave = _click_shape(kind, width, rng)
        if start < next_free:  # keep spans disjoint so each position names one click
            continue
        signal[start : start + width] += amp * wave
        positions.append(int(start))
        widths.append(width)
        amps.append(amp)
        next_free = start + width
    return Clicks(
        signal,
        np.asarray(positions, dtype=np.int64),
        np.asarray(widths, dtype=np.int64),
        np.asarray(amps),
    )


def crackle(
    n_samples: int,
    sample_rate: int,
    rate_hz: float,
    level: float,
    rng: np.random.Generator,
) -> np.ndarray:
    """Dense small ticks (one or two samples each) with log-normal amplitudes.

    Parameters
    ----------
    n_samples
        Length in samples.
    sample_rate
        Sample rate in Hz.
    rate_hz
        Mean number of ticks per second.
    level
        Median tick peak, linear.
    rng
        Source of randomness.

    Returns
    -------
    numpy.ndarray
        Crackle signal, shape (n_samples,).
    """
    out = np.zeros(n_samples)
    count = int(rng.poisson(rate_hz * n_samples / sample_rate))
    if count == 0 or n_samples < 2:
        return out
    pos = rng.integers(0, n_samples - 1, size=count)
    amp = level * rng.lognormal(0.0, 0.6, size=count) * rng.choice((-1.0, 1.0), size=count)
    # A tick is a spike followed by a smaller opposite rebound: a 1-2 sample doublet.
    rebound = rng.uniform(0.0, 0.6, size=count)
    np.add.at(out, pos, amp)
    np.add.at(out, pos + 1, -rebound * amp)
    return out
