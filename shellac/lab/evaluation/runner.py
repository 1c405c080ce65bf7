"""Run the benchmark: every variant on every excerpt with the same seeds, then score and cost them."""

from __future__ import annotations

import multiprocessing as mp
import resource
import tempfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from shellac.engine.audio_io import read_audio, write_audio
from shellac.engine.dsp.ltas import Ltas, compute_ltas
from shellac.engine.errors import ParameterError
from shellac.engine.models.bundle import LoadedBundle, load_bundle
from shellac.engine.restoration.declip import DeclipResult, DeclipSettings, declip
from shellac.engine.restoration.inpaint import InpaintResult, InpaintSettings, inpaint
from shellac.engine.restoration.settings import SamplerSettings
from shellac.lab.evaluation.dataset import Excerpt
from shellac.lab.evaluation.embedding import LogMelEmbedding, frechet_distance
from shellac.lab.evaluation.metrics import (
    effective_response_db,
    filter_error_db,
    interp_log_freq,
    log_grid,
    lsd,
    ltas_distance_db,
    si_sdr,
)
from shellac.lab.evaluation.resources import CountingDenoiser, PeakMemory, Stopwatch
from shellac.lab.evaluation.variants import BABE2, RestorationSettings, Variant, run_variant_on_excerpt
from shellac.lab.evaluation.visqol import Visqol

LogFn = Callable[[str], None]
_PER_EXCERPT_KEYS = ("lsd_db", "si_sdr_db", "ltas_dist_db", "response_err_db", "filter_err_db",
                     "visqol_moslqo")
METRIC_KEYS = ("lsd_db", "si_sdr_db", "ltas_dist_db", "ltas_dist_ref_db", "response_err_db", "filter_err_db",
               "fd_logmel", "visqol_moslqo")


@dataclass(frozen=True)
class BenchSettings:
    """How the benchmark restores and scores (the evaluation set is built separately).

    Attributes
    ----------
    sampler
        Sampler numbers shared by every generative row (σ_y is zeroed for the ablation row).
    filter_iters, filter_lr
        Adam iterations per filter fit and its learning rate.
    overlap_fraction
        Block overlap when an excerpt is longer than the model's segment.
    max_boost_db
        LTAS-EQ boost limit, dB.
    seed
        Base seed; excerpt i uses ``seed + i`` for every variant.
    n_mels
        Dimensions of the log-mel embedding of the Fréchet distance.
    visqol
        Score ViSQOL too (needs the optional package).
    """

    sampler: SamplerSettings
    filter_iters: int = BABE2.filter_iters
    filter_lr: float = BABE2.filter_lr
    overlap_fraction: float = BABE2.overlap_fraction
    max_boost_db: float = BABE2.max_boost_db
    seed: int = 0
    n_mels: int = 32
    visqol: bool = False


@dataclass
class VariantResult:
    """Scores (means over excerpts) and costs of one row, plus the per-excerpt values."""

    key: str
    label: str
    metrics: dict[str, float | None]
    cost: dict[str, float | int | None]
    per_excerpt: list[dict[str, float | None]] = field(default_factory=list)
    ltas_db: list[float] = field(default_factory=list)
    responses_db: list[list[float]] = field(default_factory=list)


@dataclass
class BenchResult:
    """Everything the report writer needs."""

    variants: list[VariantResult]
    excerpts: list[dict[str, Any]]
    sample_rate: int
    ltas_freqs_hz: list[float]
    clean_ltas_db: list[float]
    reference_ltas_db: list[float]
    grid_hz: list[float]
    true_responses_db: list[list[float]]
    settings: dict[str, Any]


def _mean(values: list[float | None]) -> float | None:
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def _mean_ltas(signals: list[np.ndarray], sample_rate: int, n_fft: int) -> Ltas:
    """Mean of per-signal LTAS (each normalised to unit std first)."""
    powers = [compute_ltas(s, sample_rate, n_fft).power for s in signals]
    return Ltas(sample_rate=sample_rate, n_fft=n_fft, power=np.mean(powers, axis=0))


@dataclass(frozen=True)
class _Context:
    """What every row shares: grid, clean-set embedding, true responses, LTAS of the clean excerpts."""

    grid: np.ndarray
    clean_frames: np.ndarray
    true_db: list[np.ndarray]
    clean_ltas: list[Ltas]
    total_seconds: float


def _context(bundle: LoadedBundle, excerpts: list[Excerpt], settings: BenchSettings) -> _Context:
    sr = bundle.config.sample_rate
    grid = log_grid(sr / 2.0)
    embedding = LogMelEmbedding(sample_rate=sr, n_mels=settings.n_mels)
    return _Context(
        grid=grid,
        clean_frames=embedding.embed_set([e.clean for e in excerpts]),
        true_db=[interp_log_freq(grid, e.response_freqs_hz, e.response_db) for e in excerpts],
        clean_ltas=[compute_ltas(e.clean, sr, bundle.reference_ltas.n_fft) for e in excerpts],
        total_seconds=float(sum(e.seconds for e in excerpts)),
    )


def _warm_up(denoiser: torch.nn.Module, length: int, device: torch.device) -> None:
    # The first forward/backward pays one-off costs (allocator, kernels): keep them out of row timings.
    x = torch.zeros(1, length, device=device, requires_grad=True)
    torch.autograd.grad(denoiser(x, 1.0).sum(), x)


def run_variant(
    bundle: LoadedBundle,
    excerpts: list[Excerpt],
    variant: Variant,
    settings: BenchSettings,
    *,
    device: torch.device | str = "cpu",
    log: LogFn | None = None,
) -> VariantResult:
    """Run one row on every excerpt (excerpt i with seed ``settings.seed + i``) and score it."""
    device = torch.device(device)
    say = log or (lambda _line: None)
    sr = bundle.config.sample_rate
    nyquist = sr / 2.0
    ref_ltas = bundle.reference_ltas
    n_fft = ref_ltas.n_fft
    ctx = _context(bundle, excerpts, settings)
    restoration = RestorationSettings(
        sampler=settings.sampler, filter_iters=settings.filter_iters, filter_lr=settings.filter_lr,
        overlap_fraction=settings.overlap_fraction, max_boost_db=settings.max_boost_db,
    )
    # The reference row filters each denoiser output as the reference does (DC/Nyquist bands removed).
    precond = bundle.denoiser(device, preset="reference" if variant.preset == "reference" else "shellac")
    if variant.generative:
        _warm_up(precond, bundle.config.segment_length, device)
    counting = CountingDenoiser(precond)
    visqol = Visqol() if settings.visqol else None
    outputs = []
    with PeakMemory(device) as memory, Stopwatch(device) as watch:
        for i, excerpt in enumerate(excerpts):
            say(f"{variant.key}: excerpt {i + 1}/{len(excerpts)} ({excerpt.name})")
            outputs.append(run_variant_on_excerpt(
                variant, excerpt.degraded, bundle, ctx.grid,
                denoiser=counting if variant.generative else None,
                settings=restoration, seed=settings.seed + i, device=device,
            ))
    per_excerpt = []
    for excerpt, out, truth, c_ltas in zip(excerpts, outputs, ctx.true_db, ctx.clean_ltas, strict=True):
        per_excerpt.append({
            "lsd_db": lsd(excerpt.clean, out.audio),
            "si_sdr_db": si_sdr(excerpt.clean, out.audio),
            "ltas_dist_db": ltas_distance_db(compute_ltas(out.audio, sr, n_fft), c_ltas),
            "response_err_db": filter_error_db(
                ctx.grid, effective_response_db(excerpt.degraded, out.audio, sr, ctx.grid, n_fft=n_fft),
                truth, nyquist),
            "filter_err_db": float(np.mean([filter_error_db(ctx.grid, est, truth, nyquist)
                                            for est in out.response_db])),
            "visqol_moslqo": visqol.score(excerpt.clean, out.audio, sr) if visqol else None,
        })
    audio = [o.audio for o in outputs]
    variant_ltas = _mean_ltas(audio, sr, n_fft)
    metrics: dict[str, float | None] = {k: _mean([p[k] for p in per_excerpt]) for k in _PER_EXCERPT_KEYS}
    metrics["ltas_dist_ref_db"] = ltas_distance_db(variant_ltas, ref_ltas)
    embedding = LogMelEmbedding(sample_rate=sr, n_mels=settings.n_mels)
    metrics["fd_logmel"] = frechet_distance(ctx.clean_frames, embedding.embed_set(audio))
    n_blocks = sum(len(o.response_db) for o in outputs) if variant.generative else 0
    cost: dict[str, float | int | None] = {
        "seconds": round(watch.seconds, 3),
        "seconds_per_audio_second": watch.seconds / ctx.total_seconds,
        "network_evaluations": counting.calls,
        "blocks": n_blocks,
        "network_evaluations_per_block": counting.calls / n_blocks if n_blocks else 0,
        "peak_rss_mb": memory.rss_peak_bytes / 2**20 if memory.rss_peak_bytes is not None else None,
        "peak_rss_increase_mb": (memory.rss_increase_bytes / 2**20
                                 if memory.rss_increase_bytes is not None else None),
        "cuda_peak_mb": memory.cuda_peak_bytes / 2**20 if memory.cuda_peak_bytes is not None else None,
    }
    return VariantResult(
        key=variant.key, label=variant.label, metrics={k: metrics.get(k) for k in METRIC_KEYS},
        cost=cost, per_excerpt=per_excerpt, ltas_db=variant_ltas.db().tolist(),
        responses_db=[np.mean(o.response_db, axis=0).tolist() for o in outputs],
    )


def _isolated_row(bundle_dir: str, excerpts: list[Excerpt], variant: Variant, settings: BenchSettings,
                  device: str, threads: int) -> VariantResult:
    """Child-process body of an isolated row: load the model, run the row, add the process's peak RSS."""
    torch.set_num_threads(threads)
    bundle = load_bundle(Path(bundle_dir), device=device)
    result = run_variant(bundle, excerpts, variant, settings, device=device)
    # ru_maxrss is in KiB on Linux: the peak of a process that ran only this row.
    result.cost["process_peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def run_benchmark(
    bundle: LoadedBundle,
    excerpts: list[Excerpt],
    variants: tuple[Variant, ...],
    settings: BenchSettings,
    *,
    device: torch.device | str = "cpu",
    isolate: bool = False,
    log: LogFn | None = None,
) -> BenchResult:
    """Restore every excerpt with every variant and score the outputs against the clean excerpts.

    Parameters
    ----------
    bundle
        The model (its sample rate, segment length, σ_data and reference LTAS are used).
    excerpts
        Evaluation set at the model's sample rate (:func:`build_evaluation_set`).
    variants
        Rows to run, in table order.
    settings
        Sampler, filter and scoring settings.
    device
        Torch device for the generative rows.
    isolate
        Run each row in a fresh (spawned) process, so ``process_peak_rss_mb`` is that
        row's own peak; in-process rows share one allocator and later rows reuse
        memory the earlier ones grew, so their RSS increase understates.
    log
        Called with one progress line per excerpt and variant.

    Returns
    -------
    BenchResult
        Means over excerpts per variant (LSD, SI-SDR, LTAS distances, filter error, Fréchet
        distance, optional ViSQOL), costs (seconds per audio second, network evaluations,
        peak memory), per-excerpt values, and the curves for the plots.
    """
    device = torch.device(device)
    sr = bundle.config.sample_rate
    if not excerpts:
        raise ParameterError("the evaluation set is empty")
    if any(e.sample_rate != sr for e in excerpts):
        raise ParameterError(f"excerpts must be at the model's sample rate ({sr} Hz)")
    say = log or (lambda _line: None)
    results = []
    if isolate:
        for variant in variants:
            say(f"{variant.key}: {len(excerpts)} excerpts in a fresh process")
            # One process per row, so each row's peak RSS is its own.
            with ProcessPoolExecutor(max_workers=1, mp_context=mp.get_context("spawn")) as pool:
                results.append(pool.submit(_isolated_row, str(bundle.directory), excerpts, variant, settings,
                                           str(device), torch.get_num_threads()).result())
    else:
        results = [run_variant(bundle, excerpts, v, settings, device=device, log=say) for v in variants]
    ctx = _context(bundle, excerpts, settings)
    ref_ltas = bundle.reference_ltas
    n_fft = ref_ltas.n_fft
    clean_mean = _mean_ltas([e.clean for e in excerpts], sr, n_fft)
    return BenchResult(
        variants=results,
        excerpts=[{"name": e.name, "seconds": e.seconds, "degradation": e.params.model_dump(mode="json")}
                  for e in excerpts],
        sample_rate=sr,
        ltas_freqs_hz=clean_mean.freqs_hz.tolist(),
        clean_ltas_db=clean_mean.db().tolist(),
        reference_ltas_db=Ltas(sr, n_fft, ref_ltas.on_bins(sr, n_fft)).db().tolist(),
        grid_hz=ctx.grid.tolist(),
        true_responses_db=[t.tolist() for t in ctx.true_db],
        settings={
            "sampler": settings.sampler.__dict__, "filter_iters": settings.filter_iters,
            "filter_lr": settings.filter_lr, "overlap_fraction": settings.overlap_fraction,
            "max_boost_db": settings.max_boost_db, "seed": settings.seed, "n_mels": settings.n_mels,
            "fd_frames_per_set": int(ctx.clean_frames.shape[0]), "visqol": settings.visqol,
            "segment_length": bundle.config.segment_length, "sigma_data": bundle.config.sigma_data,
            "ltas_n_fft": n_fft, "total_audio_seconds": ctx.total_seconds, "device": str(device),
            "isolated_rows": isolate,
        },
    )


def declip_excerpt(bundle: LoadedBundle, degraded: np.ndarray, sample_rate: int, settings: DeclipSettings, *,
                   device: torch.device | str = "cpu") -> tuple[np.ndarray, DeclipResult]:
    """The bench's declipping entry: ``degraded`` (channels, frames; float32 file at ``sample_rate`` Hz)
    through :func:`~shellac.engine.restoration.declip.declip`, what the ``declip`` stage runs."""
    with tempfile.TemporaryDirectory(prefix="shellac-bench-") as tmp:
        source, out = Path(tmp) / "degraded.wav", Path(tmp) / "declipped.wav"
        write_audio(source, degraded, sample_rate, bit_depth=32)
        result = declip(source, out, bundle, settings, work=Path(tmp) / "work", device=device)
        return read_audio(out)[0], result


def inpaint_excerpt(bundle: LoadedBundle, degraded: np.ndarray, sample_rate: int,
                    gaps: list[tuple[int, int]], settings: InpaintSettings, *,
                    device: torch.device | str = "cpu") -> tuple[np.ndarray, InpaintResult]:
    """The bench's inpainting entry: ``degraded`` (channels, frames; float32 file at ``sample_rate`` Hz) and
    its known ``gaps`` through :func:`~shellac.engine.restoration.inpaint.inpaint`, what ``inpaint`` runs."""
    with tempfile.TemporaryDirectory(prefix="shellac-bench-") as tmp:
        source, out = Path(tmp) / "degraded.wav", Path(tmp) / "inpainted.wav"
        write_audio(source, degraded, sample_rate, bit_depth=32)
        result = inpaint(source, out, bundle, gaps, settings, work=Path(tmp) / "work", device=device)
        return read_audio(out)[0], result
