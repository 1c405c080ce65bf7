"""Estimate a recording chain's response from pooled spectra: grid start, then least-squares refinement."""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import least_squares
from scipy.signal import find_peaks

from shellac.engine.dsp.band_spectrum import BandSpectrum
from shellac.engine.dsp.chain_model import ChainResponse
from shellac.engine.errors import ParameterError

MIN_SNR_DB = 3.0
"""Bands whose observation is less than this above the noise floor carry no weight in the fit."""
RESONANCE_SPACING_OCTAVES = 1.0 / 6.0
"""Two resonances closer than this are one resonance whose ridge prior and gain bounds are split
between copies: the greedy search neither seeds nor keeps them (the default of
``ChainFitSettings.resonance_spacing_octaves``)."""
SHAPE_PRIOR_WEIGHT = 4.0
"""λ of the instrument-shape prior (each shape direction one standard deviation): the value the chain
EQ ships with, chosen on the validation works (docs/heldout_benchmark.md, "Session 15")."""


@dataclass(frozen=True)
class ChainFitSettings:
    """Bounds and search settings of :func:`fit_chain` (Hz, dB/octave, dB).

    ``resonance_penalty`` adds penalty·Σ g_k² (g in dB) to the squared misfit, whose
    band terms are weighted by :func:`band_weights` (each at most 1). ``smooth_octaves``
    (σ of a Gaussian over log frequency, 0 = off) smooths the observed and clean band
    powers before the fit. ``spread_floor_db`` is σ₀ of :func:`spread_weights`, used when the
    fit is given a many-source reference's spread. ``shape_prior_weight`` is λ of the
    instrument-shape prior, λ·Σ a_k², when the fit is given a reference's shape basis.
    ``resonance_spacing_octaves`` keeps every two resonances at least that far apart (0: copies
    of one resonance may stack, as before 2 December 2026; the voice profiles were measured so).
    """

    highpass_range_hz: tuple[float, float] = (40.0, 600.0)
    lowpass_range_hz: tuple[float, float] = (1500.0, 11000.0)
    highpass_slope_range_db: tuple[float, float] = (6.0, 48.0)
    lowpass_slope_range_db: tuple[float, float] = (12.0, 96.0)
    max_resonances: int = 4
    resonance_gain_range_db: tuple[float, float] = (-6.0, 15.0)
    resonance_q_range: tuple[float, float] = (1.5, 12.0)
    grid_points: int = 12
    starts: int = 3
    min_improvement: float = 0.05
    resonance_penalty: float = 0.0
    smooth_octaves: float = 0.0
    min_snr_db: float = MIN_SNR_DB
    spread_floor_db: float = 0.75
    shape_prior_weight: float = SHAPE_PRIOR_WEIGHT
    resonance_spacing_octaves: float = RESONANCE_SPACING_OCTAVES

    def __post_init__(self) -> None:
        if self.resonance_spacing_octaves < 0:
            raise ParameterError(
                f"resonance_spacing_octaves must be 0 or more, got {self.resonance_spacing_octaves}")
        if self.shape_prior_weight <= 0:
            raise ParameterError(f"shape_prior_weight must be positive, got {self.shape_prior_weight}")


REFERENCE_FIT = ChainFitSettings(resonance_penalty=0.5, smooth_octaves=1.0 / 6.0)
"""Settings for fits against a reference LTAS rather than the true clean signal. A piece's own
notes make narrow peaks a reference does not have, and they look like horn resonances: both
spectra are smoothed (σ = 1/6 octave) and resonances pay a ridge prior (0.5 per dB² of gain)."""


@dataclass(frozen=True)
class ChainFit:
    """A fitted chain, the band weights used, the weighted RMS misfit of the fit (dB), and the
    fitted departure of this recording's instrument from the reference per band (dB; zeros
    without a shape basis)."""

    response: ChainResponse
    weights: np.ndarray
    rms_db: float
    starts_tried: int
    shape_db: np.ndarray


def smooth_bands(power: np.ndarray, centres_hz: np.ndarray, sigma_octaves: float) -> np.ndarray:
    """Band powers averaged with a Gaussian over log2 frequency of width ``sigma_octaves``."""
    ell = np.log2(centres_hz)
    kernel = np.exp(-0.5 * ((ell[:, None] - ell[None, :]) / sigma_octaves) ** 2)
    return (kernel @ power) / kernel.sum(axis=1)


def band_weights(observed: BandSpectrum, *, min_snr_db: float = MIN_SNR_DB) -> np.ndarray:
    """Weight per band: the share of the observed power above the noise floor, 0 below ``min_snr_db``."""
    snr = observed.snr_db()
    share = 1.0 - np.minimum(observed.noise_power / np.maximum(observed.mean_power, 1e-30), 1.0)
    return np.where(snr >= min_snr_db, share, 0.0)


def spread_weights(spread_db: np.ndarray, floor_db: float) -> np.ndarray:
    """Weight per band from a reference's between-source spread s: 1/(σ₀² + s²), the most certain band 1.

    Against a reference made of several instruments, a band's misfit is the chain
    plus how far this recording's instrument departs from the reference there;
    where the sources disagree (a piano's treble: 5–13 dB) that departure is
    large and says little of the chain, so the band counts less. σ₀ =
    ``floor_db`` stands for the misfit that remains where they agree.
    """
    if floor_db <= 0:
        raise ParameterError(f"spread_floor_db must be positive, got {floor_db}")
    inverse = 1.0 / (floor_db**2 + np.asarray(spread_db, dtype=np.float64) ** 2)
    return inverse / inverse.max()


class _Problem:
    """Weighted log-spectral misfit of observed ≈ |H|²·clean·S + noise, over the analysis bands.

    The parameter vector is the shape coefficients a (one per row of the basis B, none
    without one) followed by the chain's vector; S = 10^(aᵀB/10) is the instrument's
    departure from the reference, and a pays a Gaussian prior (each row of B is one
    standard deviation).
    """

    def __init__(self, observed: BandSpectrum, clean_power: np.ndarray, weights: np.ndarray,
                 resonance_penalty: float = 0.0, basis_db: np.ndarray | None = None,
                 shape_prior_weight: float = SHAPE_PRIOR_WEIGHT) -> None:
        self.freqs = observed.grid.centres_hz
        self.obs_db = 10.0 * np.log10(np.maximum(observed.mean_power, 1e-30))
        self.clean = np.maximum(np.asarray(clean_power, dtype=np.float64), 1e-30)
        self.noise = np.asarray(observed.noise_power, dtype=np.float64)
        self.sqrt_w = np.sqrt(weights)
        self.sqrt_penalty = float(np.sqrt(resonance_penalty))
        self.basis = np.zeros((0, self.freqs.size)) if basis_db is None else np.asarray(basis_db, np.float64)
        self.k = self.basis.shape[0]
        self.sqrt_prior = float(np.sqrt(shape_prior_weight))

    def split(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The shape coefficients and the chain's vector."""
        return x[: self.k], x[self.k:]

    def shape_db(self, x: np.ndarray) -> np.ndarray:
        """The instrument's departure from the reference per band (dB)."""
        return self.split(x)[0] @ self.basis

    def _clean(self, coefficients: np.ndarray) -> np.ndarray:
        # Without a basis, the reference as given (the same arithmetic as before the basis existed).
        return self.clean if self.k == 0 else self.clean * 10.0 ** ((coefficients @ self.basis) / 10.0)

    def residuals(self, x: np.ndarray) -> np.ndarray:
        coefficients, theta = self.split(x)
        gain = ChainResponse.from_vector(theta).response_db(self.freqs)
        model = 10.0 ** (gain / 10.0) * self._clean(coefficients) + self.noise
        misfit = self.sqrt_w * (10.0 * np.log10(model) - self.obs_db)
        # Ridge prior on resonance gains (dB): against a reference, the music's own peaks look alike.
        return np.concatenate([misfit, self.sqrt_penalty * theta[6::3], self.sqrt_prior * coefficients])

    def best_level(self, x: np.ndarray) -> np.ndarray:
        """``x`` with its broadband gain set to the weighted mean offset (noise ignored)."""
        out = x.copy()
        out[self.k] = 0.0
        coefficients, theta = self.split(out)
        clean_db = 10.0 * np.log10(self._clean(coefficients))
        shape = ChainResponse.from_vector(theta).response_db(self.freqs) + clean_db
        w = self.sqrt_w**2
        out[self.k] = float(np.sum(w * (self.obs_db - shape)) / np.sum(w))
        return out


SHAPE_BOUND = 4.0
"""Shape coefficients are bounded to ±4 standard deviations."""


def _bounds(settings: ChainFitSettings, n_res: int, k: int = 0) -> tuple[np.ndarray, np.ndarray]:
    s = settings
    lo = [-SHAPE_BOUND] * k + [-200.0, np.log(s.highpass_range_hz[0]), s.highpass_slope_range_db[0],
          np.log(s.lowpass_range_hz[0]), s.lowpass_slope_range_db[0]]
    hi = [SHAPE_BOUND] * k + [200.0, np.log(s.highpass_range_hz[1]), s.highpass_slope_range_db[1],
          np.log(s.lowpass_range_hz[1]), s.lowpass_slope_range_db[1]]
    for _ in range(n_res):
        lo += [np.log(s.highpass_range_hz[0] * 2.0), s.resonance_gain_range_db[0],
               np.log(s.resonance_q_range[0])]
        hi += [np.log(s.lowpass_range_hz[1]), s.resonance_gain_range_db[1], np.log(s.resonance_q_range[1])]
    return np.asarray(lo), np.asarray(hi)


def _grid_starts(problem: _Problem, settings: ChainFitSettings) -> list[np.ndarray]:
    """The best few band-pass-only starts over a grid of corner frequencies (slopes mid-range)."""
    s = settings
    hp_slope = float(np.mean(s.highpass_slope_range_db)) / 2.0
    lp_slope = float(np.mean(s.lowpass_slope_range_db)) / 2.0
    scored = []
    for f_hp in np.geomspace(*s.highpass_range_hz, s.grid_points):
        for f_lp in np.geomspace(*s.lowpass_range_hz, s.grid_points):
            if f_lp <= 2.0 * f_hp:
                continue
            chain = [0.0, np.log(f_hp), hp_slope, np.log(f_lp), lp_slope]
            theta = problem.best_level(np.concatenate([np.zeros(problem.k), chain]))
            scored.append((float(np.sum(problem.residuals(theta) ** 2)), theta))
    scored.sort(key=lambda item: item[0])
    return [theta for _, theta in scored[: s.starts]]


def _refine(problem: _Problem, theta: np.ndarray, settings: ChainFitSettings) -> tuple[float, np.ndarray]:
    """Bounded trust-region least squares from ``theta``; returns the cost and the solution."""
    lo, hi = _bounds(settings, (theta.size - problem.k - 5) // 3, problem.k)
    result = least_squares(problem.residuals, np.clip(theta, lo + 1e-9, hi - 1e-9), bounds=(lo, hi),
                           method="trf", x_scale="jac", max_nfev=300)
    return float(np.sum(result.fun**2)), result.x


def _resonance_seeds(problem: _Problem, theta: np.ndarray, settings: ChainFitSettings,
                     count: int = 3) -> list[np.ndarray]:
    """Resonances seeded at the ``count`` most prominent peaks and dips of the current residual."""
    weighted = problem.sqrt_w > 0
    misfit = problem.residuals(theta)[: problem.freqs.size]
    residual = np.where(weighted, -misfit / np.maximum(problem.sqrt_w, 1e-9), 0.0)
    kernel = np.hanning(5) / np.hanning(5).sum()
    smooth = np.convolve(residual, kernel, mode="same")
    lo, hi = _bounds(settings, 1)
    lo, hi = lo[-3:], hi[-3:]
    found = []
    for sign in (1.0, -1.0):
        peaks, props = find_peaks(sign * smooth, prominence=0.5)
        found += [(float(props["prominences"][i]), int(p), sign) for i, p in enumerate(peaks) if weighted[p]]
    found.sort(reverse=True)
    fitted = _resonance_octaves(problem, theta)
    spacing = settings.resonance_spacing_octaves
    found = [item for item in found if np.all(np.abs(np.log2(problem.freqs[item[1]]) - fitted) >= spacing)]
    return [np.clip(np.array([np.log(problem.freqs[index]), sign * prominence, np.log(4.0)]),
                    lo + 1e-6, hi - 1e-6)
            for prominence, index, sign in found[:count]]


def _resonance_octaves(problem: _Problem, theta: np.ndarray) -> np.ndarray:
    """log2 of the resonance frequencies in ``theta`` (the parameter vector of ``problem``)."""
    return problem.split(theta)[1][5::3] / np.log(2.0)


def _resonances_apart(problem: _Problem, theta: np.ndarray, spacing_octaves: float) -> bool:
    """Whether every two resonances in ``theta`` are at least ``spacing_octaves`` apart."""
    octaves = np.sort(_resonance_octaves(problem, theta))
    return bool(np.all(np.diff(octaves) >= spacing_octaves))


def fit_chain(observed: BandSpectrum, clean_power: np.ndarray, *,
              settings: ChainFitSettings | None = None, spread_db: np.ndarray | None = None,
              shape_basis_db: np.ndarray | None = None) -> ChainFit:
    """Fit the chain so that observed ≈ |H|²·clean + noise floor, pooled over the whole recording.

    Parameters
    ----------
    observed
        Pooled band spectrum of the observation (mean power and noise floor per band).
    clean_power
        Mean power per band of the clean signal: the true clean recording (oracle), or a
        reference LTAS on the same bands (:func:`~shellac.engine.dsp.band_spectrum.ltas_on_bands`).
    settings
        Bounds and search settings.
    spread_db
        With a many-source reference: its between-source spread per band (dB); bands
        where the sources disagree weigh less (:func:`spread_weights`).
    shape_basis_db
        With a reference that has one: the principal directions (rows, dB per band, each one
        standard deviation) in which single recordings of the instrument depart from it. The
        fit then explains the observation by the chain and by this recording's departure
        (its coefficients under a Gaussian prior of weight ``shape_prior_weight``), so a
        piece's own brightness or register is not read as the chain's roll-off.

    Notes
    -----
    Global initialisation first: a grid over the two corner frequencies (slopes at
    mid-range, level in closed form), keeping the ``starts`` best. Each start is
    refined by bounded trust-region least squares on the log-spectral misfit, in
    which the noise floor is part of the model; resonances are then added one at a
    time, each seeded at the largest peak or dip of the residual and kept if the
    whole refit lowers the misfit and leaves every two resonances at least
    ``resonance_spacing_octaves`` apart (copies at one place would split the ridge prior
    and the gain bounds between them). The best start wins. With a shape basis, every start
    has the recording equal to the reference (a = 0) and the refinements fit a with the chain.
    Bands less than ``min_snr_db`` above the floor carry no weight.
    """
    settings = settings or ChainFitSettings()
    weights = band_weights(observed, min_snr_db=settings.min_snr_db)
    if spread_db is not None:
        weights = weights * spread_weights(spread_db, settings.spread_floor_db)
    if np.count_nonzero(weights) < 8:
        raise ParameterError("fewer than 8 analysis bands stand above the noise floor: nothing to fit")
    if settings.smooth_octaves > 0:
        centres = observed.grid.centres_hz
        sigma = settings.smooth_octaves
        observed = replace(observed, mean_power=smooth_bands(observed.mean_power, centres, sigma))
        clean_power = smooth_bands(np.asarray(clean_power, dtype=np.float64), centres, sigma)
        if shape_basis_db is not None:
            shape_basis_db = np.array([smooth_bands(row, centres, sigma) for row in shape_basis_db])
    problem = _Problem(observed, clean_power, weights, settings.resonance_penalty, shape_basis_db,
                       settings.shape_prior_weight)
    best: tuple[float, np.ndarray] | None = None
    starts = _grid_starts(problem, settings)
    for start in starts:
        cost, theta = _refine(problem, start, settings)
        # Greedy resonances: seed one at each of the largest residual peaks and dips, refine
        # everything, keep the best only if the misfit drops by more than min_improvement.
        for _ in range(settings.max_resonances):
            tries = [_refine(problem, np.concatenate([theta, seed]), settings)
                     for seed in _resonance_seeds(problem, theta, settings)]
            tries = [item for item in tries
                     if _resonances_apart(problem, item[1], settings.resonance_spacing_octaves)]
            if not tries:
                break
            new_cost, new_theta = min(tries, key=lambda item: item[0])
            if new_cost > (1.0 - settings.min_improvement) * cost:
                break
            cost, theta = new_cost, new_theta
        if best is None or cost < best[0]:
            best = (cost, theta)
    assert best is not None
    cost, x = best
    response = ChainResponse.from_vector(problem.split(x)[1])
    # Drop resonances the refinement flattened; they change nothing and clutter the record.
    kept = tuple(r for r in response.resonances if abs(r.gain_db) >= 0.25)
    response = ChainResponse(response.highpass_hz, response.highpass_slope_db, response.lowpass_hz,
                             response.lowpass_slope_db, tuple(sorted(kept, key=lambda r: r.freq_hz)),
                             response.gain_db)
    misfit = problem.residuals(x)[: problem.freqs.size]
    rms = float(np.sqrt(np.sum(misfit**2) / max(float(np.sum(weights)), 1e-12)))
    return ChainFit(response, weights, rms, len(starts), problem.shape_db(x))

