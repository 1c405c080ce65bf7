"""STFT magnitude A(x) = |STFT(x)| (phase retrieval) with a Griffin–Lim consistency projection."""

from __future__ import annotations

import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import Operator


class StftMagnitudeOperator(Operator):
    """Magnitude of a Hann-window STFT, ``[B, T]`` -> ``[B, n_fft/2 + 1, frames]``.

    Non-linear, so it has no pseudo-inverse; :meth:`project` is one Griffin–Lim
    step (impose the observed magnitude on x's phase, back to a waveform), the
    least-squares consistent signal for that phase.

    Parameters
    ----------
    n_fft:
        Window length, samples.
    hop:
        Hop, samples (n_fft/4 by default).
    """

    def __init__(self, n_fft: int = 1024, hop: int | None = None) -> None:
        hop = hop if hop is not None else n_fft // 4
        if n_fft < 16 or not 0 < hop <= n_fft // 2:
            raise ParameterError(f"need n_fft >= 16 and 0 < hop <= n_fft/2, got {n_fft}, {hop}")
        self.n_fft = int(n_fft)
        self.hop = int(hop)

    def _stft(self, x: torch.Tensor) -> torch.Tensor:
        window = torch.hann_window(self.n_fft, dtype=x.dtype, device=x.device)
        return torch.stft(x, self.n_fft, hop_length=self.hop, window=window, center=True,
                          return_complex=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """|STFT(x)|; differentiable in x (a small floor keeps the gradient finite at 0)."""
        spec = self._stft(x)
        return torch.sqrt(spec.real**2 + spec.imag**2 + 1e-12)

    def project(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """istft(y·e^{i∠STFT(x)}): x's phase with the observed magnitude."""
        spec = self._stft(x)
        phase = spec / spec.abs().clamp_min(1e-12)
        window = torch.hann_window(self.n_fft, dtype=x.dtype, device=x.device)
        return torch.istft(y.to(x.dtype) * phase, self.n_fft, hop_length=self.hop, window=window,
                           center=True, length=x.shape[-1])
