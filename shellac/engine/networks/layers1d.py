"""Building blocks of the 1-D U-Net: noise embedding, FiLM residual block, bottleneck attention."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn

# Residual sums are scaled by 1/sqrt(2) so activations keep unit variance through depth.
_RESIDUAL_SCALE = 1.0 / math.sqrt(2.0)


class ScaleGroupNorm(nn.Module):
    """GroupNorm with a learned per-channel scale but no additive bias.

    The shift is left out because FiLM already supplies a noise-dependent one; a
    constant bias only adds an offset the denoiser has to unlearn at every noise level.
    """

    def __init__(self, groups: int, channels: int, eps: float = 1e-5) -> None:
        super().__init__()
        self.groups = groups
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(channels))

    def forward(self, x: Tensor) -> Tensor:
        return F.group_norm(x, self.groups, self.weight, None, self.eps)


class FourierNoiseEmbedding(nn.Module):
    """Random Fourier features of ``c_noise`` followed by a two-layer MLP.

    Parameters
    ----------
    n_fourier:
        Number of frozen random frequencies; the features are their sines and cosines.
    scale:
        Standard deviation of the random frequencies (cycles per unit of ``c_noise``).
    dim:
        Width of the MLP and of the returned embedding.
    """

    def __init__(self, n_fourier: int, scale: float, dim: int) -> None:
        super().__init__()
        # A persistent buffer, so the frequencies travel with the weights: a model
        # rebuilt from its config with another seed must still see the same features.
        self.register_buffer("frequencies", torch.randn(n_fourier) * scale)
        self.mlp = nn.Sequential(
            nn.Linear(2 * n_fourier, dim),
            nn.SiLU(),
            nn.Linear(dim, dim),
            nn.SiLU(),
        )

    def forward(self, c_noise: Tensor) -> Tensor:
        phase = 2.0 * math.pi * c_noise[:, None] * self.frequencies[None, :]
        return self.mlp(torch.cat([phase.sin(), phase.cos()], dim=1))


class ResBlock1d(nn.Module):
    """Pre-norm residual block with FiLM conditioning on the noise embedding.

    ``out = (skip(x) + conv2(silu(FiLM(norm2(conv1(silu(norm1(x)))))))) / sqrt(2)``
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        emb_dim: int,
        kernel_size: int,
        groups: int,
        bias: bool,
    ) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.norm1 = ScaleGroupNorm(groups, in_channels)
        self.conv1 = nn.Conv1d(in_channels, out_channels, kernel_size, padding=pad, bias=bias)
        self.film = nn.Linear(emb_dim, 2 * out_channels)
        self.norm2 = ScaleGroupNorm(groups, out_channels)
        self.conv2 = nn.Conv1d(out_channels, out_channels, kernel_size, padding=pad, bias=bias)
        self.skip: nn.Module = (
            nn.Identity()
            if in_channels == out_channels
            else nn.Conv1d(in_channels, out_channels, 1, bias=False)
        )

    def forward(self, x: Tensor, emb: Tensor) -> Tensor:
        h = self.conv1(F.silu(self.norm1(x)))
        gamma, beta = self.film(emb)[:, :, None].chunk(2, dim=1)
        h = self.norm2(h) * (1.0 + gamma) + beta
        h = self.conv2(F.silu(h))
        return (self.skip(x) + h) * _RESIDUAL_SCALE


class SelfAttention1d(nn.Module):
    """Multi-head self-attention over time, used only at the coarse bottleneck."""

    def __init__(self, channels: int, heads: int, groups: int) -> None:
        super().__init__()
        self.heads = heads
        self.norm = ScaleGroupNorm(groups, channels)
        self.qkv = nn.Conv1d(channels, 3 * channels, 1, bias=False)
        self.proj = nn.Conv1d(channels, channels, 1, bias=False)

    def forward(self, x: Tensor) -> Tensor:
        b, c, t = x.shape
        q, k, v = self.qkv(self.norm(x)).reshape(b, 3, self.heads, c // self.heads, t).unbind(1)
        # scaled_dot_product_attention wants (batch, heads, time, head_dim).
        h = F.scaled_dot_product_attention(q.transpose(-1, -2), k.transpose(-1, -2), v.transpose(-1, -2))
        h = h.transpose(-1, -2).reshape(b, c, t)
        return (x + self.proj(h)) * _RESIDUAL_SCALE


def resampling_kernel(stride: int) -> tuple[int, int]:
    """Return ``(kernel_size, padding)`` so a strided conv maps length ``L*stride`` to ``L``.

    With ``kernel = stride + 2*padding`` the output length is exactly ``L`` for the
    strided conv and exactly ``L*stride`` for the matching transposed conv; an even
    stride gets kernel ``2*stride`` so every output sample sees two input phases.
    """
    padding = stride // 2
    return stride + 2 * padding, padding


class Downsample1d(nn.Module):
    """Strided convolution dividing the length by ``stride``."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, bias: bool) -> None:
        super().__init__()
        kernel, padding = resampling_kernel(stride)
        self.conv = nn.Conv1d(in_channels, out_channels, kernel, stride=stride, padding=padding, bias=bias)

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)


class Upsample1d(nn.Module):
    """Transposed convolution multiplying the length by ``stride``."""

    def __init__(self, in_channels: int, out_channels: int, stride: int, bias: bool) -> None:
        super().__init__()
        kernel, padding = resampling_kernel(stride)
        self.conv = nn.ConvTranspose1d(
            in_channels, out_channels, kernel, stride=stride, padding=padding, bias=bias
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.conv(x)
