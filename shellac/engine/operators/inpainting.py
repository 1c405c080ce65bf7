"""Inpainting mask operator A(x) = m·x, and gap masks from click maps and dropout detection."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch

from shellac.engine.dsp.dropouts import flag_runs, flag_silences
from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import ProjectionOperator


class InpaintingOperator(ProjectionOperator):
    """Keep the known samples (m = 1), zero the missing ones (m = 0).

    A is an orthogonal projection, so A⁺ = A and A A⁺ A = A exactly.

    Parameters
    ----------
    mask:
        ``[T]`` or ``[B, T]`` of exact 0s and 1s: 1 where the sample is observed.
    """

    def __init__(self, mask: torch.Tensor) -> None:
        if mask.ndim not in (1, 2):
            raise ParameterError(f"mask must be [T] or [B, T], got {tuple(mask.shape)}")
        if bool(((mask != 0) & (mask != 1)).any()):
            raise ParameterError("an inpainting mask holds exact 0s (missing) and 1s (observed)")
        self.mask = mask.detach()

    def _known(self, x: torch.Tensor) -> torch.Tensor:
        if self.mask.shape[-1] != x.shape[-1]:
            raise ParameterError(f"mask length {self.mask.shape[-1]} != signal length {x.shape[-1]}")
        return self.mask.to(device=x.device) > 0.5

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """m·x (missing samples set to 0), differentiable in ``x``."""
        return torch.where(self._known(x), x, torch.zeros_like(x))

    def project(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Observed samples ← y exactly (``torch.where``, no rounding), the gaps keep ``x``."""
        return torch.where(self._known(x), y.to(x.dtype), x)


def gap_mask(n_samples: int, gaps: Iterable[tuple[int, int]]) -> np.ndarray:
    """Observation mask of ``n_samples``: 0 inside each (start, length) gap (samples), 1 elsewhere."""
    mask = np.ones(n_samples, dtype=np.float32)
    for start, length in gaps:
        if length < 0 or start < 0:
            raise ParameterError(f"invalid gap start={start}, length={length} (samples)")
        mask[start:start + length] = 0.0
    return mask


def find_dropouts(
    audio: np.ndarray,
    sample_rate: int,
    *,
    min_zero_ms: float = 1.0,
    frame_ms: float = 5.0,
    drop_db: float = 40.0,
    context_ms: float = 100.0,
    max_gap_s: float = 2.0,
) -> list[tuple[int, int]]:
    """Find dropouts: runs of exact digital zeros, and sudden silences.

    Parameters
    ----------
    audio:
        ``(channels, frames)`` or ``(frames,)``; a sample counts as dropped when
        every channel is.
    sample_rate:
        Hz.
    min_zero_ms:
        Shortest run of exact zeros reported, ms (shorter runs are ordinary
        zero crossings of quantised audio).
    frame_ms:
        RMS frame length for silence detection, ms.
    drop_db:
        A frame is a sudden silence when its RMS is this many dB below the median
        RMS of the surrounding ``context_ms`` (either side).
    max_gap_s:
        Longer silences are musical rests or the lead-out, not dropouts, seconds.

    Returns
    -------
    list of (start, length) in samples, sorted, non-overlapping.
    """
    x = np.atleast_2d(np.asarray(audio, dtype=np.float64))
    n = x.shape[1]
    zero = (x == 0).all(axis=0)
    min_zero = max(1, int(round(min_zero_ms * sample_rate / 1000)))
    flagged = np.zeros(n, dtype=bool)
    for start, length in flag_runs(zero):
        if length >= min_zero:
            flagged[start:start + length] = True

    frame = max(1, int(round(frame_ms * sample_rate / 1000)))
    n_frames = n // frame
    if n_frames >= 3:
        power = (x[:, : n_frames * frame] ** 2).mean(axis=0).reshape(n_frames, frame).mean(axis=1)
        flag_silences(10 * np.log10(power + 1e-20), np.abs(x).max(axis=0), flagged, frame=frame,
                      drop_db=drop_db, reach=max(1, int(round(context_ms / frame_ms))))
    max_len = int(round(max_gap_s * sample_rate))
    return [(s, ln) for s, ln in flag_runs(flagged) if ln <= max_len]
