"""Integer-factor downsampling (super-resolution) as a same-length operator: low-pass, keep every f-th."""

from __future__ import annotations

import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import Operator


class DecimationOperator(Operator):
    """A = M·P: ideal low-pass P below the new Nyquist, then the comb M keeping every ``factor``-th sample.

    The output keeps the input's length (zeros between the kept samples), so the
    observation lives on the same grid as x and every guidance method applies;
    :meth:`decimate` and :meth:`embed` convert to and from the low-rate signal.
    P keeps rFFT bins k < T/(2·factor), which makes A Aᵀ = I/factor on the kept
    samples: A⁺ = factor·P·M, and A A⁺ A = A.

    Parameters
    ----------
    factor:
        Integer downsampling factor (≥ 2); the signal length must be a multiple of it.
    """

    def __init__(self, factor: int) -> None:
        if int(factor) != factor or factor < 2:
            raise ParameterError(f"factor must be an integer >= 2, got {factor}")
        self.factor = int(factor)

    def _check(self, x: torch.Tensor) -> int:
        n = x.shape[-1]
        if n % self.factor:
            raise ParameterError(f"signal length {n} is not a multiple of the factor {self.factor}")
        return n

    def _lowpass(self, x: torch.Tensor) -> torch.Tensor:
        n = self._check(x)
        k = torch.arange(n // 2 + 1, device=x.device)
        # Strictly below the new Nyquist bin: that bin would alias onto itself.
        keep = (2 * self.factor * k < n).to(x.dtype)
        return torch.fft.irfft(torch.fft.rfft(x) * keep, n=n)

    def _comb(self, x: torch.Tensor) -> torch.Tensor:
        comb = torch.zeros(x.shape[-1], dtype=torch.bool, device=x.device)
        comb[:: self.factor] = True
        return torch.where(comb, x, torch.zeros_like(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """M·P·x ``[..., T]``: band-limited samples at the kept positions, zeros between."""
        return self._comb(self._lowpass(x))

    def decimate(self, x: torch.Tensor) -> torch.Tensor:
        """The low-rate signal ``[..., T/factor]`` (what a recorder at the lower rate stores)."""
        return self._lowpass(x)[..., :: self.factor]

    def embed(self, y_low: torch.Tensor) -> torch.Tensor:
        """Place a low-rate signal on the full grid (the observation y for this operator)."""
        out = y_low.new_zeros(y_low.shape[:-1] + (y_low.shape[-1] * self.factor,))
        out[..., :: self.factor] = y_low
        return out

    @property
    def has_pseudo_inverse(self) -> bool:
        """Always True."""
        return True

    def pseudo_inverse(self, y: torch.Tensor) -> torch.Tensor:
        """A⁺y = factor·P·M·y (band-limited interpolation of the kept samples)."""
        return self.factor * self._lowpass(self._comb(y))
