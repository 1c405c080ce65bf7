"""Mechanical imperfections of disc cutting and playback: stylus saturation and wow."""

from __future__ import annotations

import numpy as np


def saturate(x: np.ndarray, drive_db: float) -> np.ndarray:
    """Soft saturation ``y = tanh(g x) / g`` with ``g = 10^(drive_db/20)``.

    The small-signal gain is exactly 1, so quiet passages keep the declared
    linear response, and ``|y| < 1/g <= 1`` for any input when ``drive_db >= 0``.

    Parameters
    ----------
    x
        Signal (any shape), linear full scale.
    drive_db
        Drive in dB (>= 0); higher means earlier, stronger compression of peaks.

    Returns
    -------
    numpy.ndarray
        Saturated signal, same shape as ``x``.
    """
    if drive_db < 0.0:
        raise ValueError(f"drive_db must be >= 0, got {drive_db}")
    g = 10.0 ** (drive_db / 20.0)
    return np.tanh(g * np.asarray(x, dtype=np.float64)) / g


def apply_wow(
    x: np.ndarray, sample_rate: int, depth_percent: float, rate_hz: float, phase_rad: float
) -> np.ndarray:
    """Periodic speed drift: read ``x`` at speed ``1 + depth * sin(2 pi rate t + phase)``.

    The read position is the integral of the speed, evaluated in closed form,
    and samples are taken by linear interpolation (adequate for the
    band-limited music of a 78; it slightly dulls content near Nyquist).

    Parameters
    ----------
    x
        Mono signal, shape (samples,).
    sample_rate
        Sample rate in Hz.
    depth_percent
        Peak speed deviation in percent (0 returns ``x`` unchanged).
    rate_hz
        Drift rate in Hz (78/60 Hz for an off-centre 78 rpm disc).
    phase_rad
        Starting phase in radians.

    Returns
    -------
    numpy.ndarray
        Signal with wow, same length as ``x``.
    """
    x = np.asarray(x, dtype=np.float64)
    if depth_percent == 0.0:
        return x.copy()
    n = x.shape[-1]
    t = np.arange(n) / sample_rate
    depth = depth_percent / 100.0
    omega = 2.0 * np.pi * rate_hz
    # integral of depth*sin(omega t + phase) dt, zero at t = 0
    drift_s = depth / omega * (np.cos(phase_rad) - np.cos(omega * t + phase_rad))
    read_pos = (t + drift_s) * sample_rate
    return np.interp(read_pos, np.arange(n), x)
