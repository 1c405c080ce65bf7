"""Restore a signal of any length with a chosen guidance method and a known operator, block by block."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from shellac.engine.blocks.autoregressive import (
    BlockRestoration,
    BlockSettings,
    ProgressFn,
    SamplerSettings,
    block_generator,
    normalising_gain,
)
from shellac.engine.blocks.checkpoints import BlockCheckpoint, BlockCheckpointStore
from shellac.engine.blocks.overlap_add import BlockSpan, block_spans, extract_block, join_block
from shellac.engine.diffusion.guidance import Denoiser
from shellac.engine.diffusion.methods.choice import MethodSettings, build_guidance
from shellac.engine.diffusion.sampler import CountingDenoiser, SamplerStep, edm_sampler
from shellac.engine.diffusion.schedule import restoration_schedule
from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import Operator
from shellac.engine.operators.consistency import KnownSamplesOperator

OperatorFactory = Callable[[BlockSpan, float], Operator | None]
"""make_operator(span, gain): the degradation of this block in the gain-scaled units, or None
when the block has nothing to restore (it is then copied from y)."""


def restore_signal(
    denoiser: Denoiser,
    y: np.ndarray,
    *,
    make_operator: OperatorFactory,
    method: MethodSettings,
    sampler: SamplerSettings,
    blocks: BlockSettings,
    target_std: float,
    x_init: np.ndarray | None = None,
    device: torch.device | str = "cpu",
    progress: ProgressFn | None = None,
    checkpoints: BlockCheckpointStore | None = None,
) -> BlockRestoration:
    """Restore mono ``y`` with guidance ``method`` and a known (non-blind) operator per block.

    Parameters
    ----------
    denoiser
        D(x [B, T], σ) on ``device``.
    y
        Observation, mono, at the model's sample rate (amplitude units).
    make_operator
        See :data:`OperatorFactory`; the gain it receives scales y into the model's units.
    method
        Guidance and its numbers (``sampler.xi``/``sigma_y`` are not used: ``method`` has them).
    sampler, blocks
        Schedule and churn; block length, overlap and seed (``carry_filter`` unused).
    target_std
        σ_data: y is scaled so that its median block std equals it, and back at the end.
    x_init
        Warm start (y when None).
    checkpoints
        Where each finished block is saved; blocks already there are loaded
        instead of sampled, so a killed run resumes at the next block with the
        same result (every block draws its own seeded noise).

    Notes
    -----
    As in :func:`~shellac.engine.blocks.autoregressive.restore_blocks`, block i > 0
    knows its first ``overlap`` samples (the restored end of block i − 1) and the
    padding past the end; they enter through a :class:`KnownSamplesOperator`, and
    blocks are joined with the shared Hann crossfade.
    """
    device = torch.device(device)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ParameterError(f"y must be mono [T], got shape {y.shape}")
    overlap = blocks.overlap
    spans = block_spans(y.shape[0], blocks.segment_length, overlap)
    gain = normalising_gain(y, spans, target_std)
    y_scaled = y * gain
    x_scaled = (np.asarray(x_init, dtype=np.float32) if x_init is not None else y) * gain
    schedule = restoration_schedule(sampler.n_steps, sampler.sigma_start, sampler.sigma_min, sampler.rho)
    counted = CountingDenoiser(denoiser)
    out = np.zeros(y.shape[0], dtype=np.float64)
    reports: list[dict[str, Any]] = []
    prev: torch.Tensor | None = None
    resumed = 0
    for span in spans:
        saved = checkpoints.load(span.index) if checkpoints is not None else None
        if saved is not None:
            reports.append(saved.report)
            resumed += 1
            join_block(out, saved.audio.numpy().astype(np.float64), span, overlap)
            prev = saved.audio
            continue
        started, calls = time.monotonic(), counted.calls
        y_block = torch.from_numpy(extract_block(y_scaled, span).copy())
        x_block = torch.from_numpy(extract_block(x_scaled, span).copy())
        known = torch.zeros(span.length)
        known[span.valid:] = 1.0
        if prev is not None and overlap > 0:
            known[:overlap] = 1.0
            y_block[:overlap] = prev[-overlap:]
            x_block[:overlap] = prev[-overlap:]
        inner = make_operator(span, gain)
        if inner is None:
            block_out = y_block
        else:
            operator = KnownSamplesOperator(inner, known.to(device)) if bool(known.any()) else inner
            block_out = _sample_block(counted, operator, y_block, x_block, schedule, span,
                                      method=method, sampler=sampler, blocks=blocks, target_std=target_std,
                                      n_blocks=len(spans), device=device, progress=progress)
        report = {"index": span.index, "start": span.start, "valid": span.valid,
                  "restored": inner is not None, "nfe": counted.calls - calls,
                  "seconds": round(time.monotonic() - started, 3)}
        reports.append(report)
        if checkpoints is not None:
            checkpoints.save(BlockCheckpoint(span.index, block_out, None, report))
        join_block(out, block_out.numpy().astype(np.float64), span, overlap)
        prev = block_out
    return BlockRestoration(audio=(out / gain).astype(np.float32), reports=reports, gain=gain,
                            resumed_blocks=resumed)


def _sample_block(
    denoiser: CountingDenoiser,
    operator: Operator,
    y_block: torch.Tensor,
    x_block: torch.Tensor,
    schedule: torch.Tensor,
    span: BlockSpan,
    *,
    method: MethodSettings,
    sampler: SamplerSettings,
    blocks: BlockSettings,
    target_std: float,
    n_blocks: int,
    device: torch.device,
    progress: ProgressFn | None,
) -> torch.Tensor:
    gen = block_generator(blocks.seed, span.index, device)

    def randn_like(t: torch.Tensor) -> torch.Tensor:
        return torch.randn(t.shape, generator=gen, dtype=t.dtype, device=t.device)

    guidance = build_guidance(method, operator, y_block[None].to(device), sigma_data=target_std,
                              randn_like=randn_like)

    def on_step(step: SamplerStep) -> None:
        if progress is not None:
            progress(span.index, n_blocks, step.index + 1, sampler.n_steps)

    sample = edm_sampler(denoiser, x_block[None].to(device), schedule, guidance=guidance,
                         randn_like=randn_like, resampling=method.resampling(), s_churn=sampler.s_churn,
                         churn_t_range=(0.0, sampler.churn_t_max), callback=on_step)
    block = sample[0].to("cpu", torch.float32)
    if not torch.isfinite(block).all():
        raise ParameterError(f"block {span.index} diverged (non-finite samples); lower xi or check the model")
    return block
