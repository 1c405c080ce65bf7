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
from shellac.engine.operators.stacked import StackedOperator
from shellac.engine.stream import release_pages

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
    churn_n: int | None = None
    final_euler: bool = True


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
    quiet passages stay quiet relative to loud ones. A memory-mapped ``y`` is
    read a block at a time, never held whole.
    """
    stds = []
    for s in spans:
        stds.append(float(np.std(y[s.start:s.start + s.valid])))
        release_pages(y, s.start + s.valid)
    audible = [s for s in stds if s > 1e-8]
    if not audible:
        raise ParameterError("the recording is silent: no block has any signal to restore")
    return float(target_std / np.median(audible))


def block_generator(seed: int, index: int, device: torch.device) -> torch.Generator:
    """The noise stream of block ``index``: a resumed or batched run draws exactly the same noise."""
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
        then ever held in memory, as the pages of finished samples are released
        block by block). A float64 array is allocated when None.

    Notes
    -----
    Block i > 0 starts with its first ``overlap`` samples known: they are the end
    of block i − 1 as restored. The operator is A(x) = m·x + (1 − m)·H_φ(x) with m = 1
    on that overlap (and on the zero padding past the end of the recording), so the
    guidance keeps the overlap continuous while the filter fit sees only the new
    audio. The restored blocks are joined with Hann crossfades.
    """
    return restore_many(
        denoiser, [RestorationJob(y, x_init, checkpoints, out)], make_filter=make_filter, sampler=sampler,
        blocks=blocks, target_std=target_std, device=device, progress=progress,
    )[0]


@dataclass
class RestorationJob:
    """One recording for :func:`restore_many`: observation, warm start, checkpoints, output array."""

    y: np.ndarray
    x_init: np.ndarray | None = None
    checkpoints: BlockCheckpointStore | None = None
    out: np.ndarray | None = None


@dataclass
class _Track:
    """A recording's progress through its blocks during :func:`restore_many`."""

    y: np.ndarray
    x0: np.ndarray
    spans: list[BlockSpan]
    gain: float
    out: np.ndarray
    blind: BlindOperator
    checkpoints: BlockCheckpointStore | None
    reports: list[dict[str, Any]] = field(default_factory=list)
    prev_block: torch.Tensor | None = None
    resumed: int = 0


def _track(job: RestorationJob, blocks: BlockSettings, target_std: float,
           make_filter: Callable[[], BlindOperator]) -> _Track:
    y = np.asarray(job.y, dtype=np.float32)
    if y.ndim != 1:
        raise ParameterError(f"y must be mono [T], got shape {y.shape}")
    spans = block_spans(y.shape[0], blocks.segment_length, blocks.overlap)
    out = job.out
    if out is None:
        out = np.zeros(y.shape[0], dtype=np.float64)
    elif out.shape != y.shape:
        raise ParameterError(f"out has shape {out.shape}, y has {y.shape}")
    x0 = np.asarray(job.x_init, dtype=np.float32) if job.x_init is not None else y
    return _Track(y, x0, spans, normalising_gain(y, spans, target_std), out, make_filter(), job.checkpoints)


def restore_many(
    denoiser: Denoiser,
    jobs: list[RestorationJob],
    *,
    make_filter: Callable[[], BlindOperator],
    sampler: SamplerSettings,
    blocks: BlockSettings,
    target_std: float,
    device: torch.device | str = "cpu",
    progress: ProgressFn | None = None,
) -> list[BlockRestoration]:
    """Restore several recordings at once: block i of every recording is one batch on the device.

    Each recording keeps its own gain, blind filter (and its Adam state), overlap
    hand-over, checkpoints and per-block noise streams, so each result equals what
    :func:`restore_blocks` gives for that recording alone, up to the float rounding
    of a batched network call. Independent work shares each network evaluation,
    which is what makes a GPU pay off; on one CPU core it changes little.
    """
    device = torch.device(device)
    tracks = [_track(job, blocks, target_std, make_filter) for job in jobs]
    schedule = restoration_schedule(sampler.n_steps, sampler.sigma_start, sampler.sigma_min, sampler.rho)
    n_rounds = max(len(t.spans) for t in tracks)
    for index in range(n_rounds):
        todo = []
        for track in [t for t in tracks if index < len(t.spans)]:
            if index > 0 and not blocks.carry_filter:
                track.blind = make_filter()
            saved = track.checkpoints.load(index) if track.checkpoints is not None else None
            if saved is None:
                todo.append(track)
                continue
            if saved.filter_state is not None:
                track.blind.load_state_dict(saved.filter_state)
            track.reports.append(saved.report)
            track.resumed += 1
            _join(track, index, saved.audio, blocks.overlap)
        if todo:
            outputs, reports = _sample_blocks(denoiser, todo, index, schedule, sampler=sampler, blocks=blocks,
                                              n_blocks=n_rounds, device=device, progress=progress)
            for track, block_out, report in zip(todo, outputs, reports, strict=True):
                track.reports.append(report)
                if track.checkpoints is not None:
                    state = track.blind.state_dict()
                    track.checkpoints.save(BlockCheckpoint(index, block_out, state, report))
                _join(track, index, block_out, blocks.overlap)
    return [BlockRestoration(audio=t.out, reports=t.reports, gain=t.gain, resumed_blocks=t.resumed)
            for t in tracks]


def _join(track: _Track, index: int, block_out: torch.Tensor, overlap: int) -> None:
    # Joining is linear, so each block is scaled back before it is written.
    span = track.spans[index]
    join_block(track.out, block_out.numpy().astype(np.float64) / track.gain, span, overlap)
    track.prev_block = block_out
    # Samples before the next block's start are final: memory-mapped signals can let their pages go.
    done = track.spans[index + 1].start if index + 1 < len(track.spans) else span.start + span.valid
    for signal in (track.y, track.x0, track.out):
        release_pages(signal, done)


def _block_inputs(track: _Track, span: BlockSpan, blocks: BlockSettings
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Observation, warm start and known-sample mask of one block (scaled domain)."""
    overlap = blocks.overlap
    mask = torch.zeros(blocks.segment_length)
    y_block = torch.from_numpy(extract_block(track.y, span) * np.float32(track.gain))
    x_block = torch.from_numpy(extract_block(track.x0, span) * np.float32(track.gain))
    mask[span.valid:] = 1.0  # padding past the end: "known" silence, kept out of the fit
    if track.prev_block is not None and overlap > 0:
        known = track.prev_block[-overlap:]
        mask[:overlap] = 1.0
        y_block[:overlap] = known
        x_block[:overlap] = known
    return y_block, x_block, mask


def _sample_blocks(
    denoiser: Denoiser,
    tracks: list[_Track],
    index: int,
    schedule: torch.Tensor,
    *,
    sampler: SamplerSettings,
    blocks: BlockSettings,
    n_blocks: int,
    device: torch.device,
    progress: ProgressFn | None,
) -> tuple[list[torch.Tensor], list[dict[str, Any]]]:
    """Sample block ``index`` of every track as one batch; return the blocks (CPU, float32) and reports."""
    started = time.monotonic()
    inputs = [_block_inputs(t, t.spans[index], blocks) for t in tracks]
    operator = StackedOperator([MaskedOperator(t.blind, mask.to(device)) for t, (_, _, mask) in
                                zip(tracks, inputs, strict=True)])
    # One noise stream per recording and block: batching or resuming draws the same noise.
    generators = [block_generator(blocks.seed, index, device) for _ in tracks]

    def randn_like(t: torch.Tensor) -> torch.Tensor:
        return torch.cat([torch.randn((1, *t.shape[1:]), generator=g, dtype=t.dtype, device=t.device)
                          for g in generators], dim=0)

    y_batch = torch.stack([y for y, _, _ in inputs]).to(device)
    x_batch = torch.stack([x for _, x, _ in inputs]).to(device)
    guidance = PosteriorSamplingGuidance(operator, y_batch, xi=sampler.xi, sigma_y=sampler.sigma_y,
                                         randn_like=randn_like)
    losses: list[float] = []

    def on_step(step: SamplerStep) -> None:
        if step.guidance.loss is not None:
            losses.append(step.guidance.loss)
        if progress is not None:
            progress(index, n_blocks, step.index + 1, sampler.n_steps)

    sample = edm_sampler(denoiser, x_batch, schedule, guidance=guidance, randn_like=randn_like,
                         s_churn=sampler.s_churn, churn_t_range=(0.0, sampler.churn_t_max), callback=on_step,
                         churn_n=sampler.churn_n, final_euler=sampler.final_euler)
    outputs, reports = [], []
    for row, track in enumerate(tracks):
        block_out = sample[row].detach().to("cpu", torch.float32)
        if not torch.isfinite(block_out).all():
            raise ParameterError(f"block {index} diverged (non-finite samples); lower xi or check the model")
        span = track.spans[index]
        outputs.append(block_out)
        reports.append({
            "index": index, "start": span.start, "valid": span.valid, "batch": len(tracks),
            "seconds": round(time.monotonic() - started, 3),
            # The guidance loss is summed over the batch; per recording only when alone.
            "final_guidance_loss": (losses[-1] if losses else None) if len(tracks) == 1 else None,
            "filter": track.blind.to_json() if hasattr(track.blind, "to_json") else {},
            "filter_response_db": _response(track.blind),
        })
    return outputs, reports


def _response(blind: BlindOperator) -> list[float] | None:
    response = getattr(blind, "response_db", None)
    if response is None:
        return None
    nyquist = float(getattr(blind, "nyquist", REPORT_FREQS_HZ[-1]))
    freqs = REPORT_FREQS_HZ[REPORT_FREQS_HZ <= nyquist]
    return [round(float(v), 3) for v in response(freqs)]
