"""Where a prior fails, per octave band: its denoising error at each σ and what a warm restart puts back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch

from shellac.engine.diffusion.guidance import Denoiser
from shellac.engine.diffusion.sampler import edm_sampler
from shellac.engine.diffusion.schedule import restoration_schedule

# Lowest band edge, Hz; bands are octaves up to the highest edge below Nyquist.
LOW_EDGE_HZ = 31.25


def octave_edges(sample_rate: int, *, to_nyquist: bool = False) -> np.ndarray:
    """Octave band edges from 31.25 Hz up to the last edge at or below Nyquist, Hz; with ``to_nyquist``
    a last, partial band up to Nyquist is added (when the last octave edge falls short of it)."""
    n = int(np.floor(np.log2((sample_rate / 2) / LOW_EDGE_HZ)))
    edges = LOW_EDGE_HZ * 2.0 ** np.arange(n + 1)
    if to_nyquist and edges[-1] < sample_rate / 2:
        edges = np.append(edges, sample_rate / 2)
    return edges


def band_power(x: np.ndarray, sample_rate: int, edges: np.ndarray) -> np.ndarray:
    """Mean power of ``[B, T]`` signals in each band ``[edges[i], edges[i+1])`` (rfft, summed over bins)."""
    spectrum = np.abs(np.fft.rfft(np.asarray(x, dtype=np.float64), axis=-1)) ** 2
    freqs = np.fft.rfftfreq(x.shape[-1], 1.0 / sample_rate)
    return np.array([spectrum[..., (freqs >= lo) & (freqs < hi)].sum(axis=-1).mean()
                     for lo, hi in zip(edges[:-1], edges[1:], strict=True)])


def _db(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    tiny = np.finfo(np.float64).tiny
    return 10.0 * np.log10(np.maximum(num, tiny) / np.maximum(den, tiny))


@dataclass(frozen=True)
class DenoisingRow:
    """At noise level ``sigma``: per band, the added noise and D's error, both in dB re the clean signal.

    ``skip_db`` is what EDM's skip path alone lets through, c_skip(σ)·noise with
    c_skip = σ_data²/(σ² + σ_data²): in a band far quieter than σ_data the network must
    cancel that leak itself, so an error near ``skip_db`` means it barely does.
    """

    sigma: float
    noise_db: np.ndarray
    error_db: np.ndarray
    skip_db: np.ndarray | None = None


@dataclass(frozen=True)
class PriorBands:
    """A prior's per-band diagnosis on clean material (``edges`` in Hz)."""

    edges: np.ndarray
    denoising: list[DenoisingRow]
    warm_restart_db: dict[int, np.ndarray]  # sampler steps -> output minus clean, dB per band


def diagnose_prior(
    denoiser: Denoiser,
    clean: torch.Tensor,
    sample_rate: int,
    *,
    sigmas: Sequence[float],
    steps: Sequence[int],
    sigma_start: float,
    sigma_min: float,
    rho: float,
    seed: int = 0,
    sigma_data: float | None = None,
    to_nyquist: bool = False,
) -> PriorBands:
    """Per-band denoising errors and warm-restart levels of ``denoiser`` on ``clean`` ``[B, T]`` segments.

    ``denoising``: for each σ, D(x + σn; σ) − x against x, per band. A good prior's error
    stays below the added noise in every band; a band whose error is near the noise is
    not being denoised, and one whose error exceeds the clean level is invented there.
    ``warm_restart_db``: the unconditional sampler started as restoration starts it
    (x + σ_start·ε, the schedule of ``steps`` steps), output power minus clean power per
    band: what the prior alone puts back. The segments should be at the model's scale.
    With ``sigma_data`` (an EDM denoiser's), each row also gives the skip path's leak;
    ``to_nyquist`` adds the partial band from the last octave edge to Nyquist.
    """
    generator = torch.Generator().manual_seed(seed)

    def randn_like(t: torch.Tensor) -> torch.Tensor:
        return torch.randn(t.shape, generator=generator, dtype=t.dtype)

    edges = octave_edges(sample_rate, to_nyquist=to_nyquist)
    x0 = clean.to(torch.float32)
    reference = band_power(x0.numpy(), sample_rate, edges)
    rows = []
    with torch.no_grad():
        for sigma in sigmas:
            noise = randn_like(x0) * sigma
            error = denoiser(x0 + noise, sigma) - x0
            added = _db(band_power(noise.numpy(), sample_rate, edges), reference)
            missed = _db(band_power(error.numpy(), sample_rate, edges), reference)
            skip = None
            if sigma_data is not None:
                skip = added + 20.0 * np.log10(sigma_data**2 / (sigma**2 + sigma_data**2))
            rows.append(DenoisingRow(float(sigma), added, missed, skip))
    restarts = {}
    for n in steps:
        schedule = restoration_schedule(n, sigma_start, sigma_min, rho)
        out = edm_sampler(denoiser, x0.clone(), schedule, guidance=None, randn_like=randn_like)
        restarts[int(n)] = _db(band_power(out.numpy(), sample_rate, edges), reference)
    return PriorBands(edges, rows, restarts)


def markdown_table(name: str, bands: PriorBands, fmt: Callable[[float], str] = "{:+.1f}".format) -> str:
    """The diagnosis of one model as a markdown table (rows: σ and warm restarts; columns: bands)."""
    pairs = zip(bands.edges[:-1], bands.edges[1:], strict=True)
    labels = [f"{lo / 1000:g}–{hi / 1000:g} kHz" for lo, hi in pairs]
    lines = [f"**{name}** (dB re the clean signal's power in each band)", "",
             "| | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
    def row(label: str, values: np.ndarray) -> str:
        return f"| {label} | " + " | ".join(fmt(v) for v in values) + " |"

    for r in bands.denoising:
        lines.append(row(f"noise added, σ = {r.sigma:g}", r.noise_db))
        if r.skip_db is not None:
            lines.append(row(f"skip path alone (c_skip·noise), σ = {r.sigma:g}", r.skip_db))
        lines.append(row(f"D's error, σ = {r.sigma:g}", r.error_db))
    lines += [row(f"warm restart, {n} steps: output − clean", v) for n, v in bands.warm_restart_db.items()]
    return "\n".join(lines)
