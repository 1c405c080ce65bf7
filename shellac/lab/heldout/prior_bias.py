"""Measure a prior's spectral bias on held-out validation renders (warm restarts without guidance)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from shellac.engine.dsp.resample import resample
from shellac.engine.errors import ParameterError
from shellac.engine.models.loaded import LoadedBundle
from shellac.engine.models.spectral_bias import SpectralBias
from shellac.lab.evaluation.prior_bands import diagnose_prior
from shellac.lab.heldout.runner import HeldoutExcerpt
from shellac.stages.generative_eq import GenerativeEqParams


def clean_segments(excerpts: Sequence[HeldoutExcerpt], sample_rate: int, length: int, sigma_data: float
                   ) -> torch.Tensor:
    """Every whole, non-overlapping ``length``-sample segment of the excerpts' clean signals at
    ``sample_rate``, each scaled to std σ_data as restoration scales blocks (silent ones left out)."""
    out = []
    for excerpt in excerpts:
        clean = resample(excerpt.clean, excerpt.sample_rate, sample_rate)
        for start in range(0, clean.size - length + 1, length):
            segment = clean[start:start + length]
            std = float(segment.std())
            if std > 1e-6:
                out.append(segment / std * sigma_data)
    if not out:
        raise ParameterError(f"no excerpt holds a {length}-sample segment with sound in it")
    return torch.from_numpy(np.stack(out).astype(np.float32))


def measure_spectral_bias(bundle: LoadedBundle, segments: torch.Tensor, steps: Sequence[int],
                          params: GenerativeEqParams, *, seed: int, measured_on: str, command: str
                          ) -> SpectralBias:
    """The bundle's per-octave warm-restart excess over clean for each N in ``steps``, with the
    σ_start, σ_min and ρ of ``params`` (the profile's generative_eq step); the bands run up to
    Nyquist (the last one partial), so the correction is measured wherever it is applied."""
    cfg = bundle.config
    bands = diagnose_prior(bundle.denoiser("cpu"), segments, cfg.sample_rate, sigmas=(), steps=steps,
                           sigma_start=params.sigma_start, sigma_min=params.sigma_min, rho=params.rho,
                           seed=seed, to_nyquist=True)
    return SpectralBias(
        edges_hz=[float(e) for e in bands.edges],
        excess_db={n: [round(float(v), 2) for v in db] for n, db in bands.warm_restart_db.items()},
        sigma_start=params.sigma_start, sigma_min=params.sigma_min, rho=params.rho,
        segments=int(segments.shape[0]), measured_on=measured_on, command=command,
    )
