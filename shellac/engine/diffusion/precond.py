"""EDM preconditioning (Karras et al. 2022): wrap a raw network into a denoiser D(x; σ)."""

from __future__ import annotations

from collections.abc import Callable

import torch

from shellac.engine.errors import ParameterError

RawNetwork = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def sigma_as_column(sigma: float | torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """Return σ as a ``[B, 1]`` tensor on ``x``'s device and dtype.

    Parameters
    ----------
    sigma:
        Noise level (same units as the waveform amplitude): a float, a 0-d tensor
        or a ``[B]`` tensor.
    x:
        Batch ``[B, T]`` the σ belongs to.
    """
    batch = x.shape[0]
    s = torch.as_tensor(sigma, dtype=x.dtype, device=x.device)
    if s.ndim == 0:
        s = s.expand(batch)
    if s.shape != (batch,):
        raise ParameterError(
            f"sigma must be a float, a 0-d tensor or a [B]={batch} tensor; got shape {tuple(s.shape)}"
        )
    return s.reshape(batch, 1)


def edm_loss_weight(sigma: float | torch.Tensor, sigma_data: float) -> torch.Tensor:
    """EDM training loss weight λ(σ) = (σ² + σ_d²) / (σ·σ_d)².

    With this weight the effective target of the raw network has unit variance
    at every noise level.

    Parameters
    ----------
    sigma:
        Noise level(s), amplitude units.
    sigma_data:
        Standard deviation of the training data, amplitude units.
    """
    s = torch.as_tensor(sigma, dtype=torch.get_default_dtype())
    return (s**2 + sigma_data**2) / (s * sigma_data) ** 2


class EDMPrecond(torch.nn.Module):
    """Denoiser D(x; σ) = c_skip·x + c_out·F(c_in·x, c_noise) around a raw network F.

    Parameters
    ----------
    net:
        Raw network ``net(x_in [B, T], c_noise [B]) -> [B, T]``.
    sigma_data:
        Standard deviation of the training data (0.063 piano raw amplitude,
        1.0 voice after normalisation).
    output_filter:
        Optional map applied to the whole denoiser output. BABE-2's CQT network
        passes its output through the complement of the CQT's DC and Nyquist
        bands; that must act on c_skip·x + c_out·F, since c_skip·x still
        carries those bands. ``None`` for networks without such a constraint.
    """

    def __init__(
        self,
        net: torch.nn.Module | RawNetwork,
        sigma_data: float,
        output_filter: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> None:
        super().__init__()
        if not sigma_data > 0:
            raise ParameterError(f"sigma_data must be positive, got {sigma_data}")
        self.net = net
        self.sigma_data = float(sigma_data)
        self.output_filter = output_filter

    def coefficients(
        self, sigma: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (c_skip, c_out, c_in, c_noise) for noise level(s) ``sigma`` (shape kept)."""
        sd2 = self.sigma_data**2
        c_skip = sd2 / (sigma**2 + sd2)
        c_out = sigma * self.sigma_data / torch.sqrt(sigma**2 + sd2)
        c_in = 1.0 / torch.sqrt(sigma**2 + sd2)
        c_noise = torch.log(sigma) / 4.0
        return c_skip, c_out, c_in, c_noise

    def loss_weight(self, sigma: float | torch.Tensor) -> torch.Tensor:
        """λ(σ) for this model's σ_data (see :func:`edm_loss_weight`)."""
        return edm_loss_weight(sigma, self.sigma_data)

    def forward(self, x: torch.Tensor, sigma: float | torch.Tensor) -> torch.Tensor:
        """Denoise ``x`` ``[B, T]`` observed at noise level ``sigma`` (float, 0-d or ``[B]``)."""
        if x.ndim != 2:
            raise ParameterError(f"EDMPrecond expects x of shape [B, T], got {tuple(x.shape)}")
        s = sigma_as_column(sigma, x)
        if bool((s <= 0).any()):
            raise ParameterError("sigma must be strictly positive (c_noise = ln σ / 4)")
        c_skip, c_out, c_in, c_noise = self.coefficients(s)
        f_x = self.net(c_in * x, c_noise.reshape(-1))
        denoised = c_skip * x + c_out * f_x.to(x.dtype)
        return denoised if self.output_filter is None else self.output_filter(denoised)
