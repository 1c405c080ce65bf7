"""The one block driver: cut a recording into blocks, sample each under its operator, join, checkpoint."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from shellac.engine.blocks.checkpoints import BlockCheckpoint, BlockCheckpointStore
from shellac.engine.blocks.overlap_add import BlockSpan
from shellac.engine.diffusion.guidance import Denoiser, PosteriorSamplingGuidance
from shellac.engine.diffusion.methods.choice import MethodSettings, build_guidance
from shellac.engine.diffusion.sampler import CountingDenoiser, SamplerStep, edm_sampler
from shellac.engine.diffusion.schedule import restoration_schedule
from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import Operator
from shellac.engine.restoration.handover import HandOver, ShellacHandOver
from shellac.engine.restoration.operators import OperatorFactory
from shellac.engine.restoration.settings import BlockSettings, SamplerSettings
from shellac.engine.stream import release_pages

ProgressFn = Callable[[int, int, int, int], None]
"""progress(block_index, n_blocks, sampler_step, n_steps)."""


@dataclass
class BlockRestoration:
    """The restored signal (input units; the ``out`` array given) and one report per block."""

    audio: np.ndarray
    reports: list[dict[str, Any]] = field(default_factory=list)
    gain: float = 1.0
    resumed_blocks: int = 0


def block_generator(seed: int, index: int, device: torch.device) -> torch.Generator:
    """The noise stream of block ``index``: a resumed run draws exactly the same noise."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed * 1_000_003 + index)
    return gen


@dataclass(frozen=True)
class _Run:
    """What every block of one run shares."""

    denoiser: CountingDenoiser
    operators: OperatorFactory
    hand_over: HandOver
    method: MethodSettings | None
    sampler: SamplerSettings
    blocks: BlockSettings
    schedule: torch.Tensor
    target_std: float
    n_blocks: int
    device: torch.device
    progress: ProgressFn | None


def restore_blocks(
    denoiser: Denoiser,
    y: np.ndarray,
    *,
    operators: OperatorFactory,
    sampler: SamplerSettings,
    blocks: BlockSettings,
    target_std: float,
    method: MethodSettings | None = None,
    x_init: np.ndarray | None = None,
    checkpoints: BlockCheckpointStore | None = None,
    device: torch.device | str = "cpu",
    progress: ProgressFn | None = None,
    out: np.ndarray | None = None,
    hand_over: HandOver | None = None,
) -> BlockRestoration:
    """Restore mono ``y`` block by block with posterior sampling under each block's operator.

    Parameters
    ----------
    denoiser
        D(x [B, T], σ) on ``device``: ``LoadedBundle.denoiser``.
    y
        Observation, mono, at the model's sample rate (amplitude units).
    operators
        Each block's operator: a blind filter carried across blocks
        (:class:`~shellac.engine.restoration.operators.BlindFilterOperators`) or a
        known operator per block (:class:`~shellac.engine.restoration.operators.KnownOperators`).
    sampler, blocks
        Sampler numbers; block length, overlap and seed.
    target_std
        The model's data std (σ_data): the recording is scaled so its median block
        std equals it, and scaled back at the end.
    method
        Guidance method and its numbers; None: reconstruction guidance with
        ``sampler.xi`` and ``sampler.sigma_y`` (BABE-2).
    x_init
        Warm-start estimate (e.g. the LTAS-equalised recording); ``y`` when None.
    checkpoints
        Store for finished blocks; blocks already in it are loaded, not sampled, so
        a killed run resumes at the next block with the same result (every block
        draws its own seeded noise, :func:`block_generator`).
    out
        Where to write the restored signal (e.g. a ``numpy.memmap``; with ``y`` and
        ``x_init`` memory-mapped too only blocks are ever held in memory, as the
        pages of finished samples are released block by block). A float64 array
        is allocated when None.
    hand_over
        How blocks are cut, scaled, told what they know and joined:
        :class:`~shellac.engine.restoration.handover.ShellacHandOver` (``blocks``,
        ``target_std``) when None, or the reference's
        (:class:`~shellac.engine.restoration.handover.ReferenceHandOver`).

    Notes
    -----
    The hand-over says which samples of each block are already known (the end of
    the previous block as restored; never the padding past the recording's end,
    which the blind-filter factory leaves unobserved and the known operators
    observe as zeros). The operator factory folds that mask into the block's
    operator, so guidance keeps the overlap continuous and a blind filter's fit
    sees only the new audio. A block whose factory returns no operator is copied
    from y.
    """
    device = torch.device(device)
    hand_over = hand_over or ShellacHandOver(blocks, target_std)
    y = np.asarray(y, dtype=hand_over.dtype)
    if y.ndim != 1:
        raise ParameterError(f"y must be mono [T], got shape {y.shape}")
    x0 = np.asarray(x_init, dtype=hand_over.dtype) if x_init is not None else y
    if x0.shape != y.shape:
        raise ParameterError(f"x_init has shape {x0.shape}, y has {y.shape}")
    if out is None:
        out = np.zeros(y.shape[0], dtype=np.float64)
    elif out.shape != y.shape:
        raise ParameterError(f"out has shape {out.shape}, y has {y.shape}")
    spans = hand_over.spans(y.shape[0])
    gain = hand_over.gain(y, spans)
    run = _Run(CountingDenoiser(denoiser), operators, hand_over, method, sampler, blocks,
               restoration_schedule(sampler.n_steps, sampler.sigma_start, sampler.sigma_min, sampler.rho),
               target_std, len(spans), device, progress)
    reports: list[dict[str, Any]] = []
    prev: torch.Tensor | None = None
    resumed = 0
    for index, span in enumerate(spans):
        saved = checkpoints.load(span.index) if checkpoints is not None else None
        if saved is not None:
            operators.resume(span, saved.filter_state)
            block_out, report = saved.audio, saved.report
            resumed += 1
        else:
            block_out, report = _restore_block(run, y, x0, span, gain, prev)
            if checkpoints is not None:
                checkpoints.save(BlockCheckpoint(span.index, block_out, operators.state_dict(), report))
        reports.append(report)
        hand_over.join(out, block_out, span, gain)
        prev = block_out
        # Samples before the next block's start are final: memory-mapped signals can let their pages go.
        done = spans[index + 1].start if index + 1 < len(spans) else span.start + span.valid
        for signal in (y, x0, out):
            release_pages(signal, done)
    return BlockRestoration(audio=out, reports=reports, gain=gain, resumed_blocks=resumed)


def _restore_block(run: _Run, y: np.ndarray, x0: np.ndarray, span: BlockSpan, gain: float,
                   prev: torch.Tensor | None) -> tuple[torch.Tensor, dict[str, Any]]:
    """Sample one block (scaled domain, CPU float32) and its report."""
    started, calls = time.monotonic(), run.denoiser.calls
    y_block, x_block, known = run.hand_over.inputs(y, x0, span, gain, prev)
    operator = run.operators.block(span, gain, known.to(run.device))
    losses: list[float] = []
    block_out = y_block if operator is None else _sample(run, operator, y_block, x_block, span, losses)
    report = {"index": span.index, "start": span.start, "valid": span.valid, "restored": operator is not None,
              "nfe": run.denoiser.calls - calls, "seconds": round(time.monotonic() - started, 3),
              "final_guidance_loss": losses[-1] if losses else None, **run.operators.report()}
    return block_out, report


def _sample(run: _Run, operator: Operator, y_block: torch.Tensor, x_block: torch.Tensor, span: BlockSpan,
            losses: list[float]) -> torch.Tensor:
    gen = block_generator(run.blocks.seed, span.index, run.device)

    def randn_like(t: torch.Tensor) -> torch.Tensor:
        return torch.randn(t.shape, generator=gen, dtype=t.dtype, device=t.device)

    y_dev, s = y_block[None].to(run.device), run.sampler
    if run.method is None:
        guidance = PosteriorSamplingGuidance(operator, y_dev, xi=s.xi, sigma_y=s.sigma_y,
                                             randn_like=randn_like)
        resampling = None
    else:
        guidance = build_guidance(run.method, operator, y_dev, sigma_data=run.target_std,
                                  randn_like=randn_like)
        resampling = run.method.resampling()

    def on_step(step: SamplerStep) -> None:
        if step.guidance.loss is not None:
            losses.append(step.guidance.loss)
        if run.progress is not None:
            run.progress(span.index, run.n_blocks, step.index + 1, s.n_steps)

    sample = edm_sampler(run.denoiser, x_block[None].to(run.device), run.schedule, guidance=guidance,
                         randn_like=randn_like, resampling=resampling, s_churn=s.s_churn,
                         churn_t_range=(0.0, s.churn_t_max), callback=on_step, churn_n=s.churn_n,
                         final_euler=s.final_euler)
    block = sample[0].detach().to("cpu", torch.float32)
    if not torch.isfinite(block).all():
        raise ParameterError(f"block {span.index} diverged (non-finite samples); lower xi or check the model")
    return block
