"""The BABE-2 reference preset's block driver: its segments, gain, overlap hand-over and crossfade."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from shellac.engine.diffusion.guidance import Denoiser, PosteriorSamplingGuidance
from shellac.engine.diffusion.sampler import edm_sampler
from shellac.engine.diffusion.schedule import restoration_schedule
from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import BlindOperator
from shellac.engine.operators.masked import MaskedOperator
from shellac.engine.restoration.driver import block_generator
from shellac.engine.restoration.settings import SamplerSettings

SIGMA_NORM = {22050: 0.07, 44100: 1.0}
"""The reference testers' block gain target (blind_bwe.sigma_norm) by model sample rate (Hz)."""

BlockSampler = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int], torch.Tensor]
"""sample(y [T], x_init [T], mask [T], index) -> the restored block [T]; mask 1 marks known samples of y."""


def reference_segment_starts(length: int, segment_length: int, overlap: int) -> list[int]:
    """Block starts: every segment_length − overlap samples while a whole block fits, then one zero-padded."""
    if segment_length <= overlap:
        raise ParameterError(f"overlap {overlap} must be shorter than the segment ({segment_length})")
    starts, ix = [], 0
    while ix + segment_length < length:
        starts.append(ix)
        ix += segment_length - overlap
    starts.append(ix)
    return starts


def _cut(signal: torch.Tensor, start: int, segment_length: int) -> torch.Tensor:
    seg = signal[start:start + segment_length]
    return torch.cat([seg, seg.new_zeros(segment_length - seg.shape[0])])


def reference_block_std(signal: torch.Tensor, starts: list[int], segment_length: int) -> float:
    """torch.median (lower middle value) of the blocks' unbiased stds, the zero-padded last one included."""
    stds = torch.stack([_cut(signal, s, segment_length).std() for s in starts])
    return float(torch.median(stds))


def restore_blocks_reference(
    y: np.ndarray,
    x_init: np.ndarray,
    *,
    segment_length: int,
    overlap_fraction: float,
    sigma_norm: float,
    sample_block: BlockSampler,
) -> np.ndarray:
    """Restore mono ``y`` block by block exactly as the reference evaluator drives its sampler.

    Every block is scaled by sigma_norm / (median block std of ``y``). Block i > 0
    receives y with its first samples (those already written) replaced by the
    previous output and marked known in the mask; its warm start is the block of
    ``x_init`` itself (the LTAS-equalised segment, not the previous output). The
    start of each new block is crossfaded with the written output by the two
    halves of a periodic Hann window as long as the known part. Returns the
    restored signal (float64, input units, ``y``'s length).
    """
    yt = torch.as_tensor(np.asarray(y, dtype=np.float64))
    xt = torch.as_tensor(np.asarray(x_init, dtype=np.float64))
    if yt.ndim != 1 or xt.shape != yt.shape:
        raise ParameterError(f"y {tuple(yt.shape)} and x_init {tuple(xt.shape)} must be mono, of one length")
    overlap = int(overlap_fraction * segment_length)
    starts = reference_segment_starts(yt.shape[0], segment_length, overlap)
    std = reference_block_std(yt, starts, segment_length)
    if not std > 0:
        raise ParameterError("the recording is silent: no block has any signal to restore")
    scale = sigma_norm / std
    result = yt.new_zeros(starts[-1] + segment_length)
    written = torch.zeros_like(result)
    for index, start in enumerate(starts):
        span = slice(start, start + segment_length)
        mask, previous = written[span].clone(), result[span].clone()
        y_block = mask * previous + (1.0 - mask) * _cut(yt, start, segment_length) * scale
        pred = sample_block(y_block, _cut(xt, start, segment_length) * scale, mask, index).to(result.dtype)
        if bool(mask[0] == 1):
            known = int(torch.nonzero(mask == 0)[0])
            hann = torch.hann_window(2 * known, dtype=result.dtype)
            pred[:known] = pred[:known] * hann[:known] + previous[:known] * hann[known:]
        result[span] = pred
        written[span] = 1.0
    return (result[:yt.shape[0]] / scale).numpy()


class ReferenceBlockSampler:
    """One reference block: a fresh filter fitted against all of y, churn S_churn/(N+1), no final Euler.

    Noise comes from one seeded stream per block (the reference draws from
    torch's global stream); each block's filter is kept in ``filters``.
    """

    def __init__(
        self,
        denoiser: Denoiser,
        *,
        make_filter: Callable[[], BlindOperator],
        sampler: SamplerSettings,
        seed: int = 0,
        device: torch.device | str = "cpu",
        dtype: torch.dtype = torch.float32,
    ) -> None:
        self.denoiser = denoiser
        self.make_filter = make_filter
        self.sampler = sampler
        self.seed = int(seed)
        self.device = torch.device(device)
        self.dtype = dtype
        s = sampler
        self.schedule = restoration_schedule(s.n_steps, s.sigma_start, s.sigma_min, s.rho)
        self.filters: list[dict[str, Any]] = []

    def __call__(self, y: torch.Tensor, x_init: torch.Tensor, mask: torch.Tensor, index: int) -> torch.Tensor:
        """Sample block ``index`` (see :data:`BlockSampler`)."""
        gen = block_generator(self.seed, index, self.device)

        def randn_like(t: torch.Tensor) -> torch.Tensor:
            return torch.randn(t.shape, generator=gen, dtype=t.dtype, device=t.device)

        blind = self.make_filter()
        operator = MaskedOperator(blind, mask[None].to(self.device, self.dtype))
        s = self.sampler
        guidance = PosteriorSamplingGuidance(operator, y[None].to(self.device, self.dtype), xi=s.xi,
                                             sigma_y=s.sigma_y, randn_like=randn_like)
        out = edm_sampler(self.denoiser, x_init[None].to(self.device, self.dtype), self.schedule,
                          guidance=guidance, randn_like=randn_like, s_churn=s.s_churn,
                          churn_t_range=(0.0, s.churn_t_max), churn_n=s.n_steps + 1, final_euler=False)
        if not torch.isfinite(out).all():
            raise ParameterError(f"block {index} diverged (non-finite samples); lower xi or check the model")
        self.filters.append(blind.to_json() if hasattr(blind, "to_json") else {})
        return out[0].detach().to("cpu", torch.float64)
