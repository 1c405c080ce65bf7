"""Start the BABE-2 blind filter from a fitted chain response: least-squares projection onto its family."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from shellac.engine.audio_io import probe
from shellac.engine.dsp.band_spectrum import band_spectrum_of_file, ltas_on_bands, spread_on_bands
from shellac.engine.dsp.chain_fit import REFERENCE_FIT, fit_chain
from shellac.engine.dsp.chain_model import ChainResponse
from shellac.engine.dsp.ltas import Ltas
from shellac.engine.errors import ParameterError
from shellac.engine.operators.blind_filter import BlindFilter, BlindFilterParams

MIN_GAP_OCT = 0.02
"""Smallest distance between adjacent breakpoints in the projection, octaves."""
STOP_WEIGHT = 0.2
"""Weight of bands where the observation sits on its noise floor (the chain model extrapolates there)."""


def _params(theta: np.ndarray) -> BlindFilterParams:
    """BABE-2 values from (log2 f_ref, four log2 gaps, four free slopes)."""
    l_ref, d_p0, d_p1, d_m0, d_m1 = theta[:5]
    f = 2.0 ** np.array([l_ref, l_ref + d_p0, l_ref + d_p0 + d_p1, l_ref - d_m0, l_ref - d_m0 - d_m1])
    return BlindFilterParams(
        f_ref=float(f[0]), fc_p=(float(f[1]), float(f[2])), a_p=(float(theta[5]), float(theta[6]), -80.0),
        fc_m=(float(f[3]), float(f[4])), a_m=(float(theta[7]), float(theta[8]), 80.0),
    )


def project_to_blind_filter(response: ChainResponse, sample_rate: int, freqs_hz: np.ndarray,
                            weights: np.ndarray, *, slope_limit_db: float = 40.0) -> BlindFilterParams:
    """BABE-2 filter values whose response best matches ``response`` (gain removed), least squares in dB.

    Parameters
    ----------
    response
        The fitted chain.
    sample_rate
        Sample rate of the blind filter, Hz.
    freqs_hz, weights
        Analysis band centres (Hz) and their fit weights (0 where the observation is
        noise); noise-dominated bands still count with ``STOP_WEIGHT`` so the
        skirts follow the chain's extrapolated roll-offs.
    slope_limit_db
        Bound of the free slopes, dB/octave (BABE-2: 40).

    Notes
    -----
    Breakpoints are parameterised by their log2 gaps, so the strict order BABE-2
    needs holds by construction; the start puts the breakpoints at the chain's
    corners and the refinement is bounded trust-region least squares over
    breakpoints, free slopes and a nuisance level.
    """
    nyquist = sample_rate / 2.0
    f = np.asarray(freqs_hz, dtype=np.float64)
    keep = (f > 0) & (f < nyquist)
    if np.count_nonzero(keep) < 8:
        raise ParameterError("need at least 8 band frequencies below Nyquist to project a response")
    f = f[keep]
    target = response.response_db(f)
    w = np.sqrt(np.maximum(np.asarray(weights, dtype=np.float64)[keep], STOP_WEIGHT))
    # The outer ∓80 dB/octave skirts cannot follow a chain floor far below the pass band.
    w = np.where(target >= target.max() - 40.0, w, 0.0)
    blind = BlindFilter(sample_rate)

    def residuals(theta: np.ndarray) -> np.ndarray:
        blind.set_values(_params(theta).to_json())
        return w * (blind.response_db(f) + theta[9] - target)

    hp, lp = response.highpass_hz, min(response.lowpass_hz, 0.8 * nyquist)
    l_ref = float(np.log2(np.sqrt(hp * lp)))
    theta0 = np.array([l_ref, np.log2(lp) - l_ref, 0.5, l_ref - np.log2(hp), 0.5,
                       0.0, -min(response.lowpass_slope_db / 2.0, slope_limit_db),
                       0.0, min(response.highpass_slope_db / 2.0, slope_limit_db), float(target.max())])
    lo = np.array([np.log2(20.0), MIN_GAP_OCT, MIN_GAP_OCT, MIN_GAP_OCT, MIN_GAP_OCT,
                   -slope_limit_db, -slope_limit_db, -slope_limit_db, -slope_limit_db, -300.0])
    hi = np.array([np.log2(nyquist / 2.0), 6.0, 6.0, 6.0, 6.0,
                   slope_limit_db, slope_limit_db, slope_limit_db, slope_limit_db, 300.0])
    theta0 = np.clip(theta0, lo + 1e-6, hi - 1e-6)
    result = least_squares(residuals, theta0, bounds=(lo, hi), method="trf", diff_step=1e-4, max_nfev=300)
    blind.set_values(_params(result.x).to_json())
    return blind.filter_params()


@dataclass(frozen=True)
class ChainStart:
    """The blind filter's start from a chain fit (``params`` None, with a reason, when none was fitted)."""

    params: BlindFilterParams | None
    chain: ChainResponse | None
    fit_rms_db: float | None
    reason: str = ""

    def to_json(self) -> dict[str, Any]:
        """JSON-ready record for filters.json."""
        return {
            "params": None if self.params is None else self.params.to_json(),
            "chain": None if self.chain is None else self.chain.to_json(),
            "fit_rms_db": None if self.fit_rms_db is None else round(self.fit_rms_db, 3),
            "fallback_reason": self.reason or None,
        }


def chain_filter_start(observation: Path, reference: Ltas) -> ChainStart:
    """Fit the chain of a whole recording (a mono file at the model's rate) against ``reference``; project it.

    Pooled over every frame of the recording, so each block's filter starts from the
    same, global estimate instead of BABE-2's 2 kHz low-pass. When too few bands stand
    above the noise floor, BABE-2's start is kept and the reason recorded.
    """
    sample_rate = probe(Path(observation)).sample_rate
    observed = band_spectrum_of_file(Path(observation))
    try:
        reference_power = ltas_on_bands(reference, observed.grid, sample_rate)
        fit = fit_chain(observed, reference_power, settings=REFERENCE_FIT,
                        spread_db=spread_on_bands(reference, observed.grid, sample_rate))
    except ParameterError as exc:
        return ChainStart(None, None, None, reason=str(exc))
    params = project_to_blind_filter(fit.response, sample_rate, observed.grid.centres_hz, fit.weights)
    return ChainStart(params, fit.response, fit.rms_db)
