"""Block-autoregressive generative restoration of recordings of any length (BABE-2, with resume)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from shellac.engine.blocks.checkpoints import BlockCheckpoint, BlockCheckpointStore
from shellac.engine.blocks.overlap_add import BlockSpan, block_spans, extract_block, join_block
from shellac.engine.diffusion.guidance import Denoiser, PosteriorSamplingGuidance
from shellac.engine.diffusion.sampler import SamplerStep, edm_sampler
from shellac.engine.diffusion.schedule import restoration_schedule
from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import BlindOperator
from shellac.engine.operators.masked import MaskedOperator

# Frequencies (Hz) at which each block's filter estimate is reported.
REPORT_FREQS_HZ = np.geomspace(20.0, 11025.0, 96)


@dataclass(frozen=True)
class SamplerSettings:
    """The restoration sampler's numbers (BABE-2 Table 3 defaults are set by the stage profiles)."""

    n_steps: int
    sigma_start: float
    sigma_min: float
    rho: float
    xi: float
    sigma_y: float
    s_churn: float = 10.0
    churn_t_max: float = 50.0


@dataclass(frozen=True)
class BlockSettings:
    """How a recording is cut into blocks and how blocks hand over to each other."""

    segment_length: int
    overlap_fraction: float = 0.1
    carry_filter: bool = True
    seed: int = 0

    @property
    def overlap(self) -> int:
        """Overlap between consecutive blocks, in samples."""
        return int(round(self.overlap_fraction * self.segment_length))


@dataclass
class BlockRestoration:
    """The restored signal (input units; the ``out`` array given) and one report per block."""

    audio: np.ndarray
    reports: list[dict[str, Any]] = field(default_factory=list)
    gain: float = 1.0
    resumed_blocks: int = 0


ProgressFn = Callable[[int, int, int, int], None]
"""progress(block_index, n_blocks, sampler_step, n_steps)."""


def normalising_gain(y: np.ndarray, spans: list[BlockSpan], target_std: float) -> float:
    """Gain that brings the median block std of ``y`` to ``target_std``.

    BABE-2's per-segment normalisation: one gain for the whole recording, so
    quiet passages stay quiet relative to loud ones.
    """
    stds = [float(np.std(y[s.start:s.start + s.valid])) for s in spans]
    audible = [s for s in stds if s > 1e-8]
    if not audible:
        raise ParameterError("the recording is silent: no block has any signal to restore")
    return float(target_std / np.median(audible))


def _block_generator(seed: int, index: int, device: torch.device) -> torch.Generator:
    # One stream per block: a resumed run draws exactly the noise an uninterrupted one would.
    gen = torch.Generator(device=device)
    gen.manual_seed(seed * 1_000_003 + index)
    return gen


def restore_blocks(
    denoiser: Denoiser,
    y: np.ndarray,
    *,
    make_filter: Callable[[], BlindOperator],
    sampler: SamplerSettings,
    blocks: BlockSettings,
    target_std: float,
    x_init: np.ndarray | None = None,
    checkpoints: BlockCheckpointStore | None = None,
    device: torch.device | str = "cpu",
    progress: ProgressFn | None = None,
    out: np.ndarray | None = None,
) -> BlockRestoration:
    """Restore mono ``y`` block by block with posterior sampling and a blind filter.

    Parameters
    ----------
    denoiser
        D(x [B, T], σ), e.g. an ``EDMPrecond`` around a trained network, on ``device``.
    y
        Observation, mono, at the model's sample rate (LTAS-equalised when the
        "LTAS-EQ objective" variant is wanted).
    make_filter
        Builds a fresh blind filter (initial values); called for the first block,
        and for every block unless ``blocks.carry_filter``.
    sampler, blocks
        Sampler numbers; block length, overlap, filter hand-over and seed.
    target_std
        The model's data std (σ_data): the recording is scaled so its median block
        std equals it, and scaled back at the end.
    x_init
        Warm-start estimate (e.g. the LTAS-equalised recording); ``y`` when None.
    checkpoints
        Store for finished blocks; blocks already in it are loaded, not recomputed.
    out
        Where to write the restored signal (e.g. a ``numpy.memmap`` for long
        recordings, with ``y`` and ``x_init`` memory-mapped too: only blocks are
        then ever held in memory). A float64 array is allocated when None.

    Notes
    -----
    Block i > 0 starts with its first ``overlap`` samples known: they are the end
    of block i − 1 as restored. The operator is A(x) = m·x + (1 − m)·H_φ(x) with m = 1
    on that overlap (and on the zero padding past the end of the recording), so the
    guidance keeps the overlap continuous while the filter fit sees only the new
    audio. The restored blocks are joined with Hann crossfades.
    """
    device = torch.device(device)
    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1:
        raise ParameterError(f"y must be mono [T], got shape {y.shape}")
    overlap = blocks.overlap
    spans = block_spans(y.shape[0], blocks.segment_length, overlap)
    gain = normalising_gain(y, spans, target_std)
    x0 = np.asarray(x_init, dtype=np.float32) if x_init is not None else y
    schedule = restoration_schedule(sampler.n_steps, sampler.sigma_start, sampler.sigma_min, sampler.rho)
    if out is None:
        out = np.zeros(y.shape[0], dtype=np.float64)
    elif out.shape != y.shape:
        raise ParameterError(f"out has shape {out.shape}, y has {y.shape}")
    reports: list[dict[str, Any]] = []
    prev_block: torch.Tensor | None = None
    blind = make_filter()
    resumed = 0

    for span in spans:
        saved = checkpoints.load(span.index) if checkpoints is not None else None
        if saved is not None:
            block_out = saved.audio
            if saved.filter_state is not None:
                blind.load_state_dict(saved.filter_state)
            reports.append(saved.report)
            resumed += 1
        else:
            if not blocks.carry_filter and span.index > 0:
                blind = make_filter()
            block_out, report = _restore_block(
                denoiser, span, y, x0, gain, prev_block, blind, schedule,
                sampler=sampler, blocks=blocks, n_blocks=len(spans), device=device, progress=progress,
            )
            reports.append(report)
            if checkpoints is not None:
                checkpoints.save(BlockCheckpoint(span.index, block_out, blind.state_dict(), report))
        # Joining is linear, so each block is scaled back before it is written.
        join_block(out, block_out.numpy().astype(np.float64) / gain, span, overlap)
        prev_block = block_out
    return BlockRestoration(audio=out, reports=reports, gain=gain,
                            resumed_blocks=resumed)


def _restore_block(
    denoiser: Denoiser,
    span: BlockSpan,
    y: np.ndarray,
    x0: np.ndarray,
    gain: float,
    prev_block: torch.Tensor | None,
    blind: BlindOperator,
    schedule: torch.Tensor,
    *,
    sampler: SamplerSettings,
    blocks: BlockSettings,
    n_blocks: int,
    device: torch.device,
    progress: ProgressFn | None,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Sample one block with posterior-sampling guidance; return it (CPU, float32) and its report."""
    started = time.monotonic()
    length, overlap = blocks.segment_length, blocks.overlap
    mask = torch.zeros(length)
    y_block = torch.from_numpy(extract_block(y, span) * np.float32(gain))
    x_block = torch.from_numpy(extract_block(x0, span) * np.float32(gain))
    mask[span.valid:] = 1.0  # padding past the end: "known" silence, kept out of the fit
    if prev_block is not None and overlap > 0:
        known = prev_block[-overlap:]
        mask[:overlap] = 1.0
        y_block[:overlap] = known
        x_block[:overlap] = known
    operator = MaskedOperator(blind, mask.to(device))
    gen = _block_generator(blocks.seed, span.index, device)

    def randn_like(t: torch.Tensor) -> torch.Tensor:
        return torch.randn(t.shape, generator=gen, dtype=t.dtype, device=t.device)

    guidance = PosteriorSamplingGuidance(
        operator, y_block[None].to(device), xi=sampler.xi, sigma_y=sampler.sigma_y, randn_like=randn_like,
    )
    losses: list[float] = []

    def on_step(step: SamplerStep) -> None:
        if step.guidance.loss is not None:
            losses.append(step.guidance.loss)
        if progress is not None:
            progress(span.index, n_blocks, step.index + 1, sampler.n_steps)

    sample = edm_sampler(
        denoiser, x_block[None].to(device), schedule, guidance=guidance, randn_like=randn_like,
        s_churn=sampler.s_churn, churn_t_range=(0.0, sampler.churn_t_max), callback=on_step,
    )
    block_out = sample[0].detach().to("cpu", torch.float32)
    if not torch.isfinite(block_out).all():
        raise ParameterError(f"block {span.index} diverged (non-finite samples); lower xi or check the model")
    report = {
        "index": span.index, "start": span.start, "valid": span.valid,
        "seconds": round(time.monotonic() - started, 3),
        "final_guidance_loss": losses[-1] if losses else None,
        "filter": blind.to_json() if hasattr(blind, "to_json") else {},
        "filter_response_db": _response(blind),
    }
    return block_out, report


def _response(blind: BlindOperator) -> list[float] | None:
    response = getattr(blind, "response_db", None)
    if response is None:
        return None
    nyquist = float(getattr(blind, "nyquist", REPORT_FREQS_HZ[-1]))
    freqs = REPORT_FREQS_HZ[REPORT_FREQS_HZ <= nyquist]
    return [round(float(v), 3) for v in response(freqs)]
