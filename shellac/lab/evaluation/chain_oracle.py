"""Oracle check of the chain fit: fit against the true clean signal on seeded random 78 rpm chains."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shellac.engine.dsp.band_spectrum import band_grid, band_spectrum, frame_band_powers
from shellac.engine.dsp.chain_fit import ChainFit, fit_chain
from shellac.engine.operators.blind_filter import BlindFilter, BlindFilterParams
from shellac.engine.operators.chain_init import project_to_blind_filter
from shellac.lab.degradation.historical import degrade
from shellac.lab.degradation.params import DegradationParams, random_params
from shellac.lab.evaluation.metrics import filter_error_db, interp_log_freq, log_grid
from shellac.lab.synthesis.notes import random_notes


@dataclass(frozen=True)
class OracleResult:
    """Pass-band RMS errors (dB, gain removed): fitted chain, its BABE-2 projection, BABE-2's own start."""

    seed: int
    chain: DegradationParams
    fit: ChainFit
    blind_params: BlindFilterParams
    chain_error_db: float
    projected_error_db: float
    default_error_db: float


def oracle_fit(seed: int, *, sample_rate: int = 22050, seconds: float = 6.0,
               clean: np.ndarray | None = None) -> OracleResult:
    """Degrade ``clean`` (default :func:`random_notes` of ``seed``) by the random chain of ``seed``; fit it.

    The chain, hiss, clicks and saturation come from
    :func:`~shellac.lab.degradation.params.random_params`; the fit sees the
    degraded audio and the true clean signal (not the reference LTAS), and the
    noise floor it uses is estimated from the degraded audio alone.
    """
    rng = np.random.default_rng(seed)
    if clean is None:
        clean = random_notes(rng, sample_rate, seconds)
    chain = random_params(rng)
    degraded = degrade(clean, sample_rate, chain, rng)
    grid = band_grid(sample_rate)
    fit = fit_chain(band_spectrum(degraded.audio, sample_rate, grid),
                    frame_band_powers(clean, sample_rate, grid).mean(axis=0))
    blind_params = project_to_blind_filter(fit.response, sample_rate, grid.centres_hz, fit.weights)
    nyquist = sample_rate / 2.0
    freqs = log_grid(nyquist)
    true = interp_log_freq(freqs, degraded.response.freqs_hz, degraded.response.gain_db)

    def error(estimate_db: np.ndarray) -> float:
        return filter_error_db(freqs, estimate_db, true, nyquist)

    return OracleResult(
        seed=seed, chain=chain, fit=fit, blind_params=blind_params,
        chain_error_db=error(fit.response.response_db(freqs)),
        projected_error_db=error(BlindFilter(sample_rate, init=blind_params).response_db(freqs)),
        default_error_db=error(BlindFilter(sample_rate).response_db(freqs)),
    )
