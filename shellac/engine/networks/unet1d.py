"""Fast waveform-domain 1-D U-Net: the raw denoiser F_theta for models trained by Shellac."""

from __future__ import annotations

import math
from typing import Self

import torch
from pydantic import BaseModel, ConfigDict, Field, model_validator
from torch import Tensor, nn

from shellac.engine.errors import ParameterError
from shellac.engine.networks.layers1d import (
    Downsample1d,
    FourierNoiseEmbedding,
    ResBlock1d,
    ScaleGroupNorm,
    SelfAttention1d,
    Upsample1d,
)


class UNet1DConfig(BaseModel):
    """Architecture of a :class:`UNet1D`.

    Level ``i`` runs at ``1 / prod(strides[:i])`` of the sample rate with ``channels[i]``
    channels; the last level is the bottleneck.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    channels: tuple[int, ...] = Field(
        description="channels per level, full rate first, bottleneck last", min_length=2
    )
    strides: tuple[int, ...] = Field(
        description="down-sampling factor between consecutive levels (len(channels) - 1)",
        min_length=1,
    )
    blocks_per_level: tuple[int, ...] = Field(
        description="residual blocks per level (encoder and decoder each; bottleneck once)"
    )
    kernel_size: int = Field(5, ge=1, description="odd kernel of the residual convolutions")
    attention: bool = Field(True, description="self-attention at the bottleneck")
    attention_heads: int = Field(4, ge=1, description="heads of the bottleneck attention")
    norm_groups: int = Field(8, ge=1, description="GroupNorm groups; divides every channel count")
    n_fourier: int = Field(32, ge=1, description="random Fourier features of c_noise")
    fourier_scale: float = Field(16.0, gt=0, description="std of the random frequencies")
    embedding_dim: int = Field(256, ge=1, description="width of the noise-embedding MLP")
    conv_bias: bool = Field(False, description="additive bias in convolutions")

    @model_validator(mode="after")
    def _check_shapes(self) -> Self:
        if len(self.strides) != len(self.channels) - 1:
            raise ValueError(
                f"strides has {len(self.strides)} entries; it needs len(channels) - 1 = "
                f"{len(self.channels) - 1}"
            )
        if len(self.blocks_per_level) != len(self.channels):
            raise ValueError(
                f"blocks_per_level has {len(self.blocks_per_level)} entries; it needs "
                f"len(channels) = {len(self.channels)}"
            )
        if any(s < 2 for s in self.strides):
            raise ValueError(f"every stride must be >= 2, got {self.strides}")
        if any(b < 1 for b in self.blocks_per_level):
            raise ValueError(f"every level needs >= 1 block, got {self.blocks_per_level}")
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd to keep lengths, got {self.kernel_size}")
        bad = [c for c in self.channels if c < 1 or c % self.norm_groups]
        if bad:
            raise ValueError(f"channels {bad} are not multiples of norm_groups={self.norm_groups}")
        if self.attention and self.channels[-1] % self.attention_heads:
            raise ValueError(
                f"bottleneck channels {self.channels[-1]} are not a multiple of "
                f"attention_heads={self.attention_heads}"
            )
        return self

    @property
    def length_multiple(self) -> int:
        """Input lengths must be a multiple of this many samples (product of strides)."""
        return math.prod(self.strides)

    @classmethod
    def tiny(cls) -> UNet1DConfig:
        """A few tens of thousands of parameters, for tests (length multiple 16)."""
        return cls(
            channels=(8, 16, 32),
            strides=(4, 4),
            blocks_per_level=(1, 1, 1),
            kernel_size=3,
            attention=True,
            attention_heads=2,
            norm_groups=4,
            n_fourier=8,
            embedding_dim=32,
        )

    @classmethod
    def small(cls) -> UNet1DConfig:
        """The model shipped with the repository: 3.65 M parameters (14.6 MB float32)."""
        return cls(
            channels=(16, 32, 64, 128, 256),
            strides=(4, 4, 4, 4),
            blocks_per_level=(1, 1, 2, 2, 2),
            kernel_size=5,
            attention=True,
            attention_heads=4,
            norm_groups=8,
            n_fourier=32,
            embedding_dim=128,
        )

    @classmethod
    def compact(cls) -> UNet1DConfig:
        """A CPU-trainable prior (length multiple 64): the size of the models trained without a GPU."""
        return cls(
            channels=(16, 32, 64, 128),
            strides=(4, 4, 4),
            blocks_per_level=(1, 1, 1, 2),
            kernel_size=5,
            attention=True,
            attention_heads=4,
            norm_groups=8,
            n_fourier=32,
            embedding_dim=128,
        )

    @classmethod
    def medium(cls) -> UNet1DConfig:
        """A larger model for GPU training: 14.8 M parameters (59 MB float32)."""
        return cls(
            channels=(32, 64, 128, 256, 512),
            strides=(4, 4, 4, 4),
            blocks_per_level=(2, 2, 2, 2, 2),
            kernel_size=5,
            attention=True,
            attention_heads=8,
            norm_groups=8,
            n_fourier=32,
            embedding_dim=256,
        )


class UNet1D(nn.Module):
    """Waveform-domain U-Net denoiser conditioned on the EDM noise level.

    This is the raw network F_theta: EDM preconditioning (c_in, c_skip, c_out,
    c_noise) is applied outside, by ``EDMPrecond``.
    """

    def __init__(self, config: UNet1DConfig) -> None:
        super().__init__()
        self.config = config
        cfg = config
        ch = cfg.channels
        n_levels = len(ch)
        block = {
            "emb_dim": cfg.embedding_dim,
            "kernel_size": cfg.kernel_size,
            "groups": cfg.norm_groups,
            "bias": cfg.conv_bias,
        }

        self.embedding = FourierNoiseEmbedding(cfg.n_fourier, cfg.fourier_scale, cfg.embedding_dim)
        self.input_conv = nn.Conv1d(
            1, ch[0], cfg.kernel_size, padding=cfg.kernel_size // 2, bias=cfg.conv_bias
        )

        self.encoder = nn.ModuleList(
            nn.ModuleList(ResBlock1d(ch[i], ch[i], **block) for _ in range(cfg.blocks_per_level[i]))
            for i in range(n_levels - 1)
        )
        self.downsamplers = nn.ModuleList(
            Downsample1d(ch[i], ch[i + 1], cfg.strides[i], cfg.conv_bias) for i in range(n_levels - 1)
        )

        bottleneck: list[nn.Module] = []
        for j in range(cfg.blocks_per_level[-1]):
            bottleneck.append(ResBlock1d(ch[-1], ch[-1], **block))
            # Attention only here: the bottleneck is prod(strides) times shorter than
            # the input, so a global receptive field costs almost nothing.
            if cfg.attention and j == 0:
                bottleneck.append(SelfAttention1d(ch[-1], cfg.attention_heads, cfg.norm_groups))
        self.bottleneck = nn.ModuleList(bottleneck)

        self.upsamplers = nn.ModuleList(
            Upsample1d(ch[i + 1], ch[i], cfg.strides[i], cfg.conv_bias) for i in range(n_levels - 1)
        )
        # The first decoder block of a level takes the up-sampled path and the skip
        # concatenated (2 * channels) and brings them back to the level's width.
        self.decoder = nn.ModuleList(
            nn.ModuleList(
                ResBlock1d(2 * ch[i] if j == 0 else ch[i], ch[i], **block)
                for j in range(cfg.blocks_per_level[i])
            )
            for i in range(n_levels - 1)
        )

        self.output_norm = ScaleGroupNorm(cfg.norm_groups, ch[0])
        self.output_conv = nn.Conv1d(
            ch[0], 1, cfg.kernel_size, padding=cfg.kernel_size // 2, bias=cfg.conv_bias
        )

    @property
    def length_multiple(self) -> int:
        """Input lengths must be a multiple of this many samples."""
        return self.config.length_multiple

    def forward(self, x: Tensor, c_noise: Tensor) -> Tensor:
        """Apply the raw denoiser.

        Parameters
        ----------
        x:
            Preconditioned noisy waveform, shape ``[B, T]``; ``T`` (samples) must be a
            multiple of :attr:`length_multiple`.
        c_noise:
            Noise conditioning (EDM: ``ln(sigma) / 4``), shape ``[B]`` or a scalar
            shared by the batch.

        Returns
        -------
        Tensor
            ``F_theta(x, c_noise)``, shape ``[B, T]``.
        """
        if x.ndim != 2:
            raise ParameterError(f"UNet1D expects a waveform batch [B, T], got shape {tuple(x.shape)}")
        batch, length = x.shape
        multiple = self.length_multiple
        if length == 0 or length % multiple:
            raise ParameterError(
                f"UNet1D input length {length} samples is not a positive multiple of "
                f"{multiple} (the product of its strides); pad or crop the segment to a "
                f"multiple of {multiple}"
            )
        c_noise = torch.as_tensor(c_noise, dtype=x.dtype, device=x.device).reshape(-1)
        if c_noise.numel() == 1:
            c_noise = c_noise.expand(batch)
        if c_noise.shape != (batch,):
            raise ParameterError(
                f"c_noise must have shape [B] = [{batch}] or be a scalar, got {tuple(c_noise.shape)}"
            )

        emb = self.embedding(c_noise)
        h = self.input_conv(x[:, None, :])

        skips: list[Tensor] = []
        for blocks, down in zip(self.encoder, self.downsamplers, strict=True):
            for blk in blocks:
                h = blk(h, emb)
            skips.append(h)
            h = down(h)

        for layer in self.bottleneck:
            h = layer(h, emb) if isinstance(layer, ResBlock1d) else layer(h)

        for level in reversed(range(len(self.decoder))):
            h = torch.cat([self.upsamplers[level](h), skips[level]], dim=1)
            for blk in self.decoder[level]:
                h = blk(h, emb)

        return self.output_conv(nn.functional.silu(self.output_norm(h)))[:, 0, :]


def build_unet1d(config: UNet1DConfig) -> UNet1D:
    """Build a :class:`UNet1D` from its config (the registry's build function)."""
    return UNet1D(config)


def count_parameters(network: nn.Module) -> int:
    """Number of trainable parameters of ``network``."""
    return sum(p.numel() for p in network.parameters() if p.requires_grad)
