"""Known-cutoff low-pass A = F⁻¹·1[f ≤ f_c]·F (bandwidth extension), an orthogonal projection."""

from __future__ import annotations

import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import ProjectionOperator


def band_mask(
    length: int, sample_rate: float, cutoff_hz: float, device: torch.device | None = None
) -> torch.Tensor:
    """rFFT bins (of a ``length``-sample signal) at or below ``cutoff_hz``, as 0/1 float64."""
    freqs = torch.fft.rfftfreq(length, d=1.0 / sample_rate, dtype=torch.float64, device=device)
    return (freqs <= cutoff_hz).to(torch.float64)


class LowpassOperator(ProjectionOperator):
    """Ideal (brick-wall, zero-phase, circular) low-pass at a known cutoff.

    Every rFFT bin above ``cutoff_hz`` is zeroed. A is a real orthogonal
    projection (A = Aᵀ = A²), so A⁺ = A and A A⁺ A = A exactly.

    Parameters
    ----------
    sample_rate:
        Hz.
    cutoff_hz:
        Highest kept frequency, Hz, in (0, Nyquist].
    """

    def __init__(self, sample_rate: float, cutoff_hz: float) -> None:
        if not 0 < cutoff_hz <= sample_rate / 2:
            raise ParameterError(f"cutoff must be in (0, {sample_rate / 2}] Hz, got {cutoff_hz}")
        self.sample_rate = float(sample_rate)
        self.cutoff_hz = float(cutoff_hz)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Zero the spectrum of ``x`` ``[..., T]`` above the cutoff; differentiable."""
        n = x.shape[-1]
        keep = band_mask(n, self.sample_rate, self.cutoff_hz, x.device).to(x.dtype)
        return torch.fft.irfft(torch.fft.rfft(x) * keep, n=n)
