"""BS.1770 loudness and true peak measured chunk by chunk, to the bit what the whole-signal functions give."""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import resample_poly, sosfilt

from shellac.engine.dsp.loudness import (
    BLOCK_S,
    OFFSET_DB,
    STEP_S,
    TRUE_PEAK_OVERSAMPLING,
    gated_loudness,
    k_weighting_sos,
)
from shellac.engine.errors import ParameterError

# Input samples of context either side of oversampled audio: more than the polyphase filter's
# half length (10 taps per phase), so every oversampled sample is computed from real samples.
_TRUE_PEAK_CONTEXT = 64


class LoudnessMeter:
    """``block_loudness`` / ``integrated_loudness`` of (channels, frames) audio given in consecutive chunks.

    The K-weighting filter carries its state from chunk to chunk and the running
    sum of squares continues the one cumulative sum, so every gating block gets
    the same mean square, to the bit, as from the whole signal at once.
    """

    def __init__(self, sample_rate: int, channels: int) -> None:
        self.sos = k_weighting_sos(sample_rate)
        self.block = int(round(BLOCK_S * sample_rate))
        self.step = int(round(STEP_S * sample_rate))
        self._state = np.zeros((self.sos.shape[0], channels, 2))
        self._carry = np.zeros((channels, 1))
        self._seen = 0
        # Running sum of squares at every block start and end met so far: positions, (channels, marks).
        self._positions: list[np.ndarray] = [np.zeros(1, dtype=np.int64)]
        self._sums: list[np.ndarray] = [self._carry.copy()]

    def update(self, chunk: np.ndarray) -> None:
        """Add the next (channels, frames) float64 chunk."""
        y, self._state = sosfilt(self.sos, chunk, axis=-1, zi=self._state)
        running = np.cumsum(np.concatenate([self._carry, y * y], axis=-1), axis=-1)
        positions = np.arange(self._seen + 1, self._seen + chunk.shape[-1] + 1)
        wanted = (positions % self.step == 0) | ((positions >= self.block)
                                                   & ((positions - self.block) % self.step == 0))
        # Fancy indexing copies the few columns kept, so no chunk's running sum outlives its chunk.
        self._positions.append(positions[wanted])
        self._sums.append(running[:, positions[wanted] - self._seen])
        self._carry = running[:, -1:]
        self._seen += chunk.shape[-1]

    def block_loudness(self) -> np.ndarray:
        """Loudness in LUFS of every 400 ms gating block (all channel weights 1)."""
        if self._seen < self.block:
            raise ParameterError(
                f"audio of {self._seen} samples is shorter than one 400 ms loudness block ({self.block})"
            )
        starts = np.arange(0, self._seen - self.block + 1, self.step)
        positions, sums = np.concatenate(self._positions), np.concatenate(self._sums, axis=1)
        begin = sums[:, np.searchsorted(positions, starts)]
        end = sums[:, np.searchsorted(positions, starts + self.block)]
        power = np.ones(begin.shape[0]) @ ((end - begin) / self.block)
        with np.errstate(divide="ignore"):
            return OFFSET_DB + 10.0 * np.log10(power)

    def integrated(self) -> float:
        """Gated integrated loudness in LUFS (``-inf`` when every block is gated out)."""
        return gated_loudness(self.block_loudness())


class PeakMeter:
    """Sample peak and true peak (``true_peak_dbtp``) of audio given in consecutive chunks.

    Oversampling waits for the next chunk's first samples, so each oversampled
    sample is computed from the same neighbours as from the whole signal.
    """

    def __init__(self) -> None:
        self._pending: np.ndarray | None = None  # context already measured, then samples not yet
        self._measured = 0  # leading samples of _pending that are context only
        self.sample_peak = 0.0
        self._oversampled_peak = 0.0

    def update(self, chunk: np.ndarray) -> None:
        """Add the next (channels, frames) float64 chunk."""
        self.sample_peak = max(self.sample_peak, float(np.max(np.abs(chunk), initial=0.0)))
        self._pending = chunk if self._pending is None else np.concatenate([self._pending, chunk], axis=-1)
        self._measure(self._pending.shape[-1] - _TRUE_PEAK_CONTEXT)

    def _measure(self, ready: int) -> None:
        assert self._pending is not None
        if ready <= self._measured:
            return
        stop = min(self._pending.shape[-1], ready + _TRUE_PEAK_CONTEXT)
        up = resample_poly(self._pending[:, :stop], TRUE_PEAK_OVERSAMPLING, 1, axis=-1,
                           window=("kaiser", 8.0))
        part = up[:, TRUE_PEAK_OVERSAMPLING * self._measured:TRUE_PEAK_OVERSAMPLING * ready]
        self._oversampled_peak = max(self._oversampled_peak, float(np.max(np.abs(part), initial=0.0)))
        keep = max(0, ready - _TRUE_PEAK_CONTEXT)
        self._pending = self._pending[:, keep:]
        self._measured = ready - keep

    def true_peak_dbtp(self) -> float:
        """True-peak level in dBTP of everything added (``-inf`` for digital silence)."""
        if self._pending is not None:
            self._measure(self._pending.shape[-1])
        peak = max(self._oversampled_peak, self.sample_peak)
        return 20.0 * math.log10(peak) if peak > 0 else float("-inf")

    def sample_peak_dbfs(self) -> float:
        """Largest absolute sample value in dBFS (``-inf`` for digital silence)."""
        return 20.0 * math.log10(self.sample_peak) if self.sample_peak > 0 else float("-inf")
