"""Convolution with a known room or horn impulse response (dereverberation), circular over the block."""

from __future__ import annotations

import numpy as np
import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import Operator


class ConvolutionOperator(Operator):
    """A x = h ⊛ x, circular convolution over the block, applied by FFT.

    Circular rather than linear so that A is diagonal in the DFT basis and has an
    exact pseudo-inverse; the reverb tail that wraps to the block's start is what
    a block driver's overlap absorbs. A⁺ divides by the response on bins where
    |H| > ``rcond``·max|H| and zeroes the rest (their content is unobservable),
    so A A⁺ A = A.

    Parameters
    ----------
    impulse_response:
        h, samples (1-D); shorter than the signal.
    rcond:
        Relative magnitude below which a frequency bin counts as lost.
    """

    def __init__(self, impulse_response: np.ndarray | torch.Tensor, *, rcond: float = 1e-3) -> None:
        h = torch.as_tensor(np.asarray(impulse_response, dtype=np.float64)).reshape(-1)
        if h.numel() == 0 or not bool(torch.isfinite(h).all()) or float(h.abs().max()) == 0:
            raise ParameterError("impulse response must be a non-empty, finite, non-zero 1-D signal")
        if not 0 < rcond < 1:
            raise ParameterError(f"rcond must be in (0, 1), got {rcond}")
        self.h = h
        self.rcond = float(rcond)

    def _response(self, n: int, x: torch.Tensor) -> torch.Tensor:
        if self.h.numel() > n:
            raise ParameterError(f"impulse response ({self.h.numel()} samples) longer than the signal ({n})")
        return torch.fft.rfft(self.h.to(device=x.device, dtype=x.dtype), n=n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """h ⊛ x over the last axis, differentiable."""
        n = x.shape[-1]
        return torch.fft.irfft(torch.fft.rfft(x) * self._response(n, x), n=n)

    @property
    def has_pseudo_inverse(self) -> bool:
        """Always True."""
        return True

    def pseudo_inverse(self, y: torch.Tensor) -> torch.Tensor:
        """Inverse filter on the observable bins, 0 on the others."""
        n = y.shape[-1]
        resp = self._response(n, y)
        mag = resp.abs()
        ok = mag > self.rcond * mag.max()
        inv = torch.where(ok, 1.0 / torch.where(ok, resp, torch.ones_like(resp)), torch.zeros_like(resp))
        return torch.fft.irfft(torch.fft.rfft(y) * inv, n=n)
