"""BABE-2's "CQTdiff+" denoiser: a 2-D U-Net over octave-wise constant-Q coefficients."""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from shellac.engine.errors import ParameterError
from shellac.engine.networks.cqt import OctaveCQT, channels_to_complex, complex_to_channels

_SQRT_HALF = 1.0 / math.sqrt(2.0)
# 8-tap cubic interpolation kernel used for halving / doubling the time axis.
_CUBIC_KERNEL = (
    -0.01171875, -0.03515625, 0.11328125, 0.43359375,
    0.43359375, 0.11328125, -0.03515625, -0.01171875,
)  # fmt: skip


@dataclass(frozen=True)
class CQTUNetConfig:
    """Architecture of a CQT U-Net.

    Attributes
    ----------
    sample_rate : int
        Sampling rate in Hz the network works at.
    segment_length : int
        Samples per segment; the CQT is built for exactly this length.
    num_octaves, bins_per_octave : int
        CQT layout; the U-Net has one level per octave.
    channels : tuple of int
        Feature channels per level, highest octave first.
    dilations : tuple of int
        Dilated convolutions per level; the k-th one has frequency dilation ``2**k``.
    embedding_dim : int
        Width of the noise embedding fed to every FiLM layer.
    rff_features, rff_scale : int, float
        Random Fourier features of ``c_noise`` (count and frequency scale).
    mlp_hidden : tuple of int
        Hidden widths of the embedding MLP.
    kernel_size : tuple of int
        Convolution kernel (frequency bins, time frames).
    norm_groups : int
        Groups of the scale-only group norm.
    use_norm : bool
        Whether blocks normalise before FiLM.
    window_beta : float
        Kaiser shape of the CQT windows.
    """

    sample_rate: int
    segment_length: int
    num_octaves: int
    bins_per_octave: int
    channels: tuple[int, ...]
    dilations: tuple[int, ...]
    embedding_dim: int = 256
    rff_features: int = 32
    rff_scale: float = 16.0
    mlp_hidden: tuple[int, int] = (128, 256)
    kernel_size: tuple[int, int] = (5, 3)
    norm_groups: int = 8
    use_norm: bool = True
    window_beta: float = 1.0

    def __post_init__(self) -> None:
        if self.num_octaves < 2:
            raise ParameterError("a CQT U-Net needs at least 2 octaves")
        if len(self.channels) != self.num_octaves or len(self.dilations) != self.num_octaves:
            raise ParameterError(
                f"channels ({len(self.channels)}) and dilations ({len(self.dilations)}) "
                f"need one entry per octave ({self.num_octaves})"
            )
        if any(c % self.norm_groups for c in self.channels):
            raise ParameterError(f"channels must be multiples of norm_groups={self.norm_groups}")
        if min(self.dilations) < 1 or any(k % 2 == 0 for k in self.kernel_size):
            raise ParameterError("dilations must be >= 1 and kernel sizes odd")


def babe2_piano() -> CQTUNetConfig:
    """Published BABE-2 piano network (MAESTRO, 22.05 kHz, 8.35 s): 44.50 M parameters."""
    return CQTUNetConfig(
        sample_rate=22050,
        segment_length=184184,
        num_octaves=7,
        bins_per_octave=64,
        channels=(64, 96, 96, 128, 128, 256, 256),
        dilations=(2, 3, 4, 5, 6, 7, 7),
    )


def babe2_voice() -> CQTUNetConfig:
    """Published BABE-2 singing-voice network (44.1 kHz, 5.94 s): 41.37 M parameters."""
    return CQTUNetConfig(
        sample_rate=44100,
        segment_length=262144,
        num_octaves=8,
        bins_per_octave=32,
        channels=(32, 32, 64, 64, 128, 128, 256, 256),
        dilations=(1, 3, 4, 5, 5, 6, 6, 7),
    )


def _uniform_(weight: Tensor, fan_in: int, gain: float = 1.0) -> None:
    # Variance 1/(3 fan_in) (EDM's ADM-style init); gates use a tiny gain so every
    # residual branch starts almost closed.
    bound = gain * math.sqrt(1.0 / fan_in)
    with torch.no_grad():
        weight.uniform_(-bound, bound)


def _linear(n_in: int, n_out: int, gain: float = 1.0) -> nn.Linear:
    layer = nn.Linear(n_in, n_out)
    _uniform_(layer.weight, n_in, gain)
    nn.init.zeros_(layer.bias)
    return layer


def _conv(n_in: int, n_out: int, kernel: tuple[int, int] = (1, 1), dilation: int = 1) -> nn.Conv2d:
    layer = nn.Conv2d(n_in, n_out, kernel, padding="same", dilation=(dilation, 1), bias=False)
    _uniform_(layer.weight, n_in * kernel[0] * kernel[1])
    return layer


class NoiseEmbedding(nn.Module):
    """Frozen random Fourier features of ``c_noise`` followed by a ReLU MLP."""

    def __init__(self, config: CQTUNetConfig) -> None:
        super().__init__()
        features = config.rff_scale * torch.randn(1, config.rff_features)
        self.RFF_freq = nn.Parameter(features, requires_grad=False)
        widths = (2 * config.rff_features, *config.mlp_hidden, config.embedding_dim)
        self.MLP = nn.ModuleList(_linear(a, b) for a, b in pairwise(widths))

    def forward(self, c_noise: Tensor) -> Tensor:
        """``[B, 1]`` -> ``[B, embedding_dim]``."""
        phase = 2 * math.pi * c_noise * self.RFF_freq
        x = torch.cat([torch.sin(phase), torch.cos(phase)], dim=1)
        for layer in self.MLP:
            x = F.relu(layer(x))
        return x


class ScaleOnlyGroupNorm(nn.Module):
    """Group norm without mean removal or bias: divides each group by its std."""

    def __init__(self, channels: int, groups: int, eps: float = 1e-7) -> None:
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(1, channels, 1, 1))
        self.groups = groups
        self.eps = eps

    def forward(self, x: Tensor) -> Tensor:
        grouped = x.reshape(x.shape[0], self.groups, -1)
        grouped = grouped / (grouped.std(dim=-1, keepdim=True) + self.eps)
        return grouped.reshape(x.shape) * self.gamma


class FiLMResBlock(nn.Module):
    """Stack of frequency-dilated convs, each FiLM-conditioned and gated, plus a skip.

    With ``project_after`` the stack runs at ``n_in`` channels and a 1x1 conv maps to
    ``n_out`` at the end (output heads); otherwise a 1x1 conv maps to ``n_out`` first.
    """

    def __init__(
        self,
        n_in: int,
        n_out: int,
        n_convs: int,
        config: CQTUNetConfig,
        kernel: tuple[int, int] | None = None,
        project_after: bool = False,
    ) -> None:
        super().__init__()
        kernel = config.kernel_size if kernel is None else kernel
        width = n_in if project_after else n_out
        self.proj_in = _conv(n_in, width) if n_in != width else nn.Identity()
        self.proj_out = _conv(width, n_out) if width != n_out else nn.Identity()
        self.res_conv = _conv(n_in, n_out) if n_in != n_out else nn.Identity()
        emb = config.embedding_dim
        self.H = nn.ModuleList(_conv(width, width, kernel, 2**k) for k in range(n_convs))
        self.affine = nn.ModuleList(_linear(emb, width) for _ in range(n_convs))
        self.gate = nn.ModuleList(_linear(emb, width, gain=1e-7) for _ in range(n_convs))
        self.norm = nn.ModuleList(
            ScaleOnlyGroupNorm(width, config.norm_groups) for _ in range(n_convs if config.use_norm else 0)
        )

    def forward(self, x_in: Tensor, emb: Tensor) -> Tensor:
        x = self.proj_in(x_in)
        for k, (conv, affine, gate) in enumerate(zip(self.H, self.affine, self.gate, strict=True)):
            h = self.norm[k](x) if len(self.norm) else x
            h = h * (1 + affine(emb)[:, :, None, None])
            x = (x + conv(F.gelu(h)) * gate(emb)[:, :, None, None]) * _SQRT_HALF
        return (self.proj_out(x) + self.res_conv(x_in)) * _SQRT_HALF


class TimeResampler(nn.Module):
    """Halve or double the last (time) axis with a fixed cubic kernel and reflect padding."""

    def __init__(self, up: bool) -> None:
        super().__init__()
        self.up = up
        self.register_buffer("kernel", torch.tensor(_CUBIC_KERNEL, dtype=torch.float32))

    def forward(self, x: Tensor) -> Tensor:
        taps = self.kernel.to(x.dtype).view(1, 1, -1)
        pad = taps.shape[-1] // 2 - 1
        flat = x.reshape(-1, 1, x.shape[-1])
        if self.up:
            # Unit-gain taps on a stride-2 transposed conv: each output sample gets
            # half the kernel mass, as in the published network.
            flat = F.pad(flat, ((pad + 1) // 2,) * 2, mode="reflect")
            flat = F.conv_transpose1d(flat, taps, stride=2, padding=2 * pad + 1)
        else:
            flat = F.conv1d(F.pad(flat, (pad, pad), mode="reflect"), taps, stride=2)
        return flat.reshape(*x.shape[:-1], flat.shape[-1])


class CQTUNet(nn.Module):
    """CQTdiff+ denoiser network ``F_theta`` (no EDM preconditioning inside).

    The encoder starts at the highest octave; each level halves time and appends the
    next lower octave along frequency, plus an auxiliary path of raw CQT coefficients.
    The decoder peels one octave off per level (lowest first) into 2-channel output
    heads, and the inverse CQT gives the waveform. State-dict keys match the published
    BABE-2 checkpoints.
    """

    def __init__(self, config: CQTUNetConfig) -> None:
        super().__init__()
        self.config = config
        self.embedding = NoiseEmbedding(config)
        self.downsamplerT = TimeResampler(up=False)
        self.upsamplerT = TimeResampler(up=True)
        self.cqt = OctaveCQT(
            config.sample_rate,
            config.num_octaves,
            config.bins_per_octave,
            config.segment_length,
            config.window_beta,
        )
        sizes = self.cqt.time_sizes
        if any(high != 2 * low for low, high in pairwise(sizes)):
            # Each level halves time, so octave time axes must double upwards; very
            # short segments clip the lowest windows and break that.
            raise ParameterError(
                f"segment of {config.segment_length} samples is too short for "
                f"{config.num_octaves} octaves (octave time sizes {sizes})"
            )
        ch, dil = config.channels, config.dilations
        self.downs = nn.ModuleList()
        for level in range(config.num_octaves):
            n_in = ch[max(level - 1, 0)]
            self.downs.append(
                nn.ModuleList(
                    [
                        FiLMResBlock(2, n_in, 1, config, kernel=(1, 1)),
                        _conv(2, ch[level], config.kernel_size),
                        FiLMResBlock(n_in, ch[level], dil[level], config),
                    ]
                )
            )
        self.middle = nn.ModuleList(
            [
                nn.ModuleList(
                    [
                        FiLMResBlock(ch[-1], 2, 1, config, kernel=(1, 1), project_after=True),
                        FiLMResBlock(ch[-1], ch[-1], dil[-1], config),
                    ]
                )
            ]
        )
        self.ups = nn.ModuleList()
        for level in reversed(range(config.num_octaves)):
            n_out = ch[max(level - 1, 0)]
            self.ups.append(
                nn.ModuleList(
                    [
                        FiLMResBlock(n_out, 2, 1, config, kernel=(1, 1), project_after=True),
                        FiLMResBlock(2 * ch[level], n_out, dil[level], config),
                    ]
                )
            )

    def forward(self, x: Tensor, c_noise: Tensor) -> Tensor:
        """Raw network output ``F_theta(x, c_noise)``.

        Parameters
        ----------
        x : Tensor
            ``[B, T]`` waveform already scaled by ``c_in``; ``T`` at most
            ``segment_length`` samples (shorter inputs are zero-padded, output cropped).
        c_noise : Tensor
            ``[B]`` (or ``[B, 1]``, or a scalar) noise conditioning. The published
            networks were trained with ``c_noise = ln(sigma) / 4`` (EDM), sigma in the
            units of the waveform.

        Returns
        -------
        Tensor
            ``[B, T]``, synthesised from the constant-Q bands only. BABE-2 also filters
            the whole denoiser output ``c_skip x + c_out F`` with :meth:`band_complement`
            (the ``c_skip x`` term still carries the DC and Nyquist bands).
        """
        n_samples = x.shape[-1]
        x = self._pad(x)
        emb = self.embedding(c_noise.reshape(-1, 1).expand(x.shape[0], 1).to(x.dtype))
        octaves = self.cqt(x)
        n_oct, bins = self.config.num_octaves, self.config.bins_per_octave
        down, up = self.downsamplerT, self.upsamplerT

        skips = []
        for level, (entry, aux_proj, block) in enumerate(self.downs):
            coefs = complex_to_channels(octaves[n_oct - 1 - level])
            fresh = entry(coefs, emb)
            if level == 0:
                h, aux = fresh, down(coefs)
            elif level < n_oct - 1:
                h, aux = torch.cat((fresh, h), dim=2), torch.cat((down(coefs), down(aux)), dim=2)
            else:  # deepest level: all octaves present, no further halving
                h, aux = torch.cat((fresh, h), dim=2), torch.cat((coefs, aux), dim=2)
            h = block(h, emb)
            skips.append(h)
            if level < n_oct - 1:
                h = down(h)
            h = (h + aux_proj(aux)) * _SQRT_HALF

        head, block = self.middle[0]
        h = block(h, emb)
        out = head(h, emb)

        result = []
        for step, (head, block) in enumerate(self.ups):
            h = block(torch.cat((h, skips.pop()), dim=1), emb)
            out = (out + head(h, emb)) * _SQRT_HALF
            # The lowest octave still present is finished at this level.
            result.append(channels_to_complex(out[:, :, :bins]))
            h, out = h[:, :, bins:], out[:, :, bins:]
            if step < n_oct - 1:
                h, out = up(h), up(out)
        return self.cqt.inverse(result)[:, :n_samples]

    def band_complement(self, x: Tensor) -> Tensor:
        """Remove the CQT's DC and Nyquist bands from ``[B, T]`` waveforms.

        BABE-2 applies this to every denoiser output ``D(x)``, so nothing below
        about ``fs / 2**(num_octaves + 1)`` Hz (86 Hz for both presets) survives.
        """
        n_samples = x.shape[-1]
        return self.cqt.band_complement(self._pad(x))[..., :n_samples]

    def _pad(self, x: Tensor) -> Tensor:
        excess = self.config.segment_length - x.shape[-1]
        if excess < 0:
            raise ParameterError(
                f"input of {x.shape[-1]} samples is longer than the network's segment "
                f"({self.config.segment_length} samples)"
            )
        return F.pad(x, (0, excess)) if excess else x
