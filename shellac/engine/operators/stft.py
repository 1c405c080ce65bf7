"""The STFT frame setup shared by the blind filters' fit and application (Hamming 4096, hop 2048)."""

from __future__ import annotations

import torch
import torch.nn.functional as F  # noqa: N812

from shellac.engine.errors import ParameterError

N_FFT = 4096
HOP = 2048
N_BINS = N_FFT // 2 + 1


def frame_padding(length: int) -> tuple[int, int]:
    """Zeros to add (left, right) so that every sample lies under two whole frames.

    The left pad of N_FFT − HOP samples means the first sample is not only seen
    through the tail of a single window; the right pad completes the last frame.
    """
    left = N_FFT - HOP
    n = left + length + (N_FFT - HOP)
    extra = (-(n - N_FFT)) % HOP
    return left, N_FFT - HOP + extra


def _window(x: torch.Tensor) -> torch.Tensor:
    return torch.hamming_window(N_FFT, dtype=x.dtype, device=x.device)


def stft(x: torch.Tensor) -> torch.Tensor:
    """Complex STFT ``[B, N_BINS, frames]`` of ``x`` ``[B, T]`` (zero-padded, no centring)."""
    if x.ndim != 2:
        raise ParameterError(f"expected a waveform batch [B, T], got {tuple(x.shape)}")
    left, right = frame_padding(x.shape[-1])
    xp = F.pad(x, (left, right))
    return torch.stft(xp, N_FFT, hop_length=HOP, window=_window(x), center=False, return_complex=True)


def istft(spec: torch.Tensor, length: int) -> torch.Tensor:
    """Inverse of :func:`stft` for a signal of ``length`` samples -> ``[B, length]``."""
    left, right = frame_padding(length)
    window = torch.hamming_window(N_FFT, dtype=spec.real.dtype, device=spec.device)
    xp = torch.istft(
        spec,
        N_FFT,
        hop_length=HOP,
        window=window,
        center=False,
        length=left + length + right,
    )
    return xp[..., left : left + length]


def frame_weights(weight_mask: torch.Tensor, batch: int, length: int) -> torch.Tensor:
    """Per-frame weights ``[B, frames]``: the smallest sample weight under each frame.

    Taking the minimum means a frame that touches an excluded sample (weight 0)
    is excluded entirely, so already-restored audio never leaks into the fit.
    """
    mask = weight_mask
    if mask.ndim == 1:
        mask = mask.unsqueeze(0).expand(batch, -1)
    if mask.shape != (batch, length):
        raise ParameterError(
            f"weight_mask must have shape [T] or [B, T] = [{batch}, {length}], got {tuple(weight_mask.shape)}"
        )
    left, right = frame_padding(length)
    # The padding is silent in both signals; give it the weight of its neighbour.
    padded = F.pad(mask.to(torch.float64).unsqueeze(1), (left, right), mode="replicate")
    frames = padded.squeeze(1).unfold(-1, N_FFT, HOP)
    return frames.amin(dim=-1).clamp(0.0, 1.0)
