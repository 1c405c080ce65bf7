"""ITU-R BS.1770-4 loudness: K-weighting, gated integrated loudness (LUFS) and true peak (dBTP)."""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import resample_poly, sosfilt

from shellac.engine.errors import ParameterError

# Analogue prototypes of the two K-weighting stages, as derived from the 48 kHz coefficients
# of BS.1770 (the parameterisation libebur128 uses), so the filter exists at any rate.
SHELF_HZ = 1681.974450955533
SHELF_GAIN_DB = 3.999843853973347
SHELF_Q = 0.7071752369554196
HIGHPASS_HZ = 38.13547087602444
HIGHPASS_Q = 0.5003270373238773

BLOCK_S = 0.4
STEP_S = 0.1  # 75 % overlap between gating blocks
ABSOLUTE_GATE_LUFS = -70.0
RELATIVE_GATE_LU = -10.0
# The -0.691 dB offset makes a 997 Hz sine read its RMS level in dB.
OFFSET_DB = -0.691
TRUE_PEAK_OVERSAMPLING = 4


def k_weighting_sos(sample_rate: int) -> np.ndarray:
    """Second-order sections of the K-weighting filter (shelf, then RLB high-pass) at ``sample_rate`` Hz.

    Returns
    -------
    np.ndarray
        Shape (2, 6): rows ``[b0, b1, b2, 1, a1, a2]`` as scipy's ``sosfilt`` takes them.
    """
    # Stage 1: high-frequency shelf modelling the acoustic effect of the head.
    k = math.tan(math.pi * SHELF_HZ / sample_rate)
    vh = 10.0 ** (SHELF_GAIN_DB / 20.0)
    vb = vh ** 0.4996667741545416
    a0 = 1.0 + k / SHELF_Q + k * k
    shelf = [(vh + vb * k / SHELF_Q + k * k) / a0, 2.0 * (k * k - vh) / a0,
             (vh - vb * k / SHELF_Q + k * k) / a0, 1.0,
             2.0 * (k * k - 1.0) / a0, (1.0 - k / SHELF_Q + k * k) / a0]
    # Stage 2: the "revised low-frequency B" (RLB) high-pass; its numerator is 1, -2, 1.
    k = math.tan(math.pi * HIGHPASS_HZ / sample_rate)
    a0 = 1.0 + k / HIGHPASS_Q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / HIGHPASS_Q + k * k) / a0]
    return np.array([shelf, highpass], dtype=np.float64)


def _as_channels(audio: np.ndarray) -> np.ndarray:
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    if x.ndim != 2:
        raise ParameterError(f"audio must be (channels, frames) or (frames,), got shape {x.shape}")
    return x


def block_loudness(
    audio: np.ndarray, sample_rate: int, channel_weights: np.ndarray | None = None
) -> np.ndarray:
    """Loudness in LUFS of each 400 ms gating block (100 ms apart) of (channels, frames) audio.

    ``channel_weights`` are BS.1770's G_i (1.0 for left, right and centre,
    1.41 for surrounds); all 1.0 when unset. Raises ``ParameterError`` when the
    audio is shorter than one block.
    """
    x = _as_channels(audio)
    weights = np.ones(x.shape[0]) if channel_weights is None else np.asarray(channel_weights, float)
    if weights.shape != (x.shape[0],):
        raise ParameterError(f"{weights.size} channel weights for {x.shape[0]} channels")
    block = int(round(BLOCK_S * sample_rate))
    step = int(round(STEP_S * sample_rate))
    if x.shape[1] < block:
        raise ParameterError(
            f"audio of {x.shape[1]} samples is shorter than one 400 ms loudness block ({block})"
        )
    y = sosfilt(k_weighting_sos(sample_rate), x, axis=-1)
    # Cumulative sums give every block's mean square in one pass.
    csum = np.concatenate([np.zeros((x.shape[0], 1)), np.cumsum(y * y, axis=-1)], axis=-1)
    starts = np.arange(0, x.shape[1] - block + 1, step)
    mean_square = (csum[:, starts + block] - csum[:, starts]) / block
    power = weights @ mean_square
    with np.errstate(divide="ignore"):
        return OFFSET_DB + 10.0 * np.log10(power)


def integrated_loudness(
    audio: np.ndarray, sample_rate: int, channel_weights: np.ndarray | None = None
) -> float:
    """Gated integrated loudness in LUFS (BS.1770-4), ``-inf`` when every block is gated out.

    Blocks below −70 LUFS are dropped (absolute gate), then blocks more than
    10 LU below the loudness of the remaining ones (relative gate); the result
    is the loudness of the mean power of the blocks left.
    """
    return gated_loudness(block_loudness(audio, sample_rate, channel_weights))


def gated_loudness(loud: np.ndarray) -> float:
    """Integrated loudness in LUFS from the loudness of every gating block (BS.1770-4's two gates)."""
    power = 10.0 ** ((loud - OFFSET_DB) / 10.0)
    kept = loud > ABSOLUTE_GATE_LUFS
    if not kept.any():
        return float("-inf")
    relative_gate = OFFSET_DB + 10.0 * math.log10(power[kept].mean()) + RELATIVE_GATE_LU
    kept &= loud > relative_gate
    return float(OFFSET_DB + 10.0 * math.log10(power[kept].mean()))


def true_peak_dbtp(audio: np.ndarray) -> float:
    """True-peak level in dBTP: the largest magnitude after 4× polyphase oversampling.

    The oversampling filter is a Kaiser-windowed (β = 8, flat to 0.001 dB) polyphase low-pass; the
    estimate is never below the sample peak. Digital silence gives ``-inf``.
    """
    x = _as_channels(audio)
    up = resample_poly(x, TRUE_PEAK_OVERSAMPLING, 1, axis=-1, window=("kaiser", 8.0))
    peak = max(float(np.max(np.abs(up))), float(np.max(np.abs(x))))
    return 20.0 * math.log10(peak) if peak > 0 else float("-inf")


def sample_peak_dbfs(audio: np.ndarray) -> float:
    """Largest absolute sample value in dBFS (``-inf`` for digital silence)."""
    peak = float(np.max(np.abs(_as_channels(audio))))
    return 20.0 * math.log10(peak) if peak > 0 else float("-inf")
