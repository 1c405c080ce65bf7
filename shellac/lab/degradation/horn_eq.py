"""Acoustic-horn band-pass EQ: a magnitude response declared in dB, applied zero-phase by FFT."""

from __future__ import annotations

import numpy as np
from scipy import fft as sp_fft

from shellac.lab.degradation.params import DegradationParams

_DB_PER_OCT_PER_ORDER = 20.0 * np.log10(2.0)  # 6.02 dB/octave per Butterworth order


def horn_response_db(freqs_hz: np.ndarray, params: DegradationParams) -> np.ndarray:
    """Evaluate the declared horn EQ magnitude at ``freqs_hz``.

    The response is the sum, in dB, of a Butterworth-magnitude high-pass and
    low-pass (orders from the slopes, fractional orders allowed) and of
    resonance terms ``gain_db / (1 + q^2 (f/fc - fc/f)^2)``, floored at
    ``params.eq_floor_db``. DC gets the floor.

    Parameters
    ----------
    freqs_hz
        Frequencies in Hz (any shape, >= 0).
    params
        Chain parameters; only the EQ fields are used.

    Returns
    -------
    numpy.ndarray
        Gain in dB, same shape as ``freqs_hz``.
    """
    f = np.asarray(freqs_hz, dtype=np.float64)
    # Avoid log(0)/division at DC; DC is floored below anyway.
    f_safe = np.maximum(f, 1e-3)
    n_hp = params.highpass_slope_db_per_oct / _DB_PER_OCT_PER_ORDER
    n_lp = params.lowpass_slope_db_per_oct / _DB_PER_OCT_PER_ORDER
    gain = -10.0 * np.log10(1.0 + (params.highpass_hz / f_safe) ** (2.0 * n_hp))
    gain -= 10.0 * np.log10(1.0 + (f_safe / params.lowpass_hz) ** (2.0 * n_lp))
    for res in params.resonances:
        detune = f_safe / res.freq_hz - res.freq_hz / f_safe
        gain += res.gain_db / (1.0 + (res.q * detune) ** 2)
    gain = np.maximum(gain, params.eq_floor_db)
    return np.where(f <= 0.0, params.eq_floor_db, gain)


def apply_zero_phase_eq(
    x: np.ndarray, sample_rate: int, params: DegradationParams, *, pad_s: float = 0.25
) -> np.ndarray:
    """Filter ``x`` by the declared horn response with zero phase.

    The whole signal is transformed at once and multiplied by the real,
    non-negative gain ``10^(horn_response_db/20)`` sampled on the FFT bins, so
    the applied magnitude is exactly the declared one and the phase is zero
    (the filter is non-causal). Zero padding of ``pad_s`` seconds on each side
    keeps the impulse response's tails from wrapping around.

    Parameters
    ----------
    x
        Mono signal, shape (samples,).
    sample_rate
        Sample rate in Hz.
    params
        Chain parameters.
    pad_s
        Zero padding per side in seconds.

    Returns
    -------
    numpy.ndarray
        Filtered signal, float64, same length as ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    pad = int(round(pad_s * sample_rate))
    n_fft = sp_fft.next_fast_len(x.shape[-1] + 2 * pad, real=True)
    # Padding only at the end is enough: the circular convolution sends the
    # non-causal pre-ringing of the first samples to the end of the buffer and
    # the decay of the last samples just after the signal, both inside the padding.
    spec = sp_fft.rfft(x, n=n_fft)
    freqs = sp_fft.rfftfreq(n_fft, d=1.0 / sample_rate)
    gain = 10.0 ** (horn_response_db(freqs, params) / 20.0)
    y = sp_fft.irfft(spec * gain, n=n_fft)
    return y[: x.shape[-1]]
