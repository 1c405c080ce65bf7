"""An equaliser that only undoes the recording chain: the inverse of its fitted response, SNR-limited."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from shellac.engine.audio_io import probe
from shellac.engine.dsp.band_spectrum import (
    BandGrid,
    BandSpectrum,
    band_grid,
    band_spectrum,
    band_spectrum_of_file,
    ltas_on_bands,
    shape_basis_on_bands,
    spread_on_bands,
)
from shellac.engine.dsp.chain_fit import (
    REFERENCE_FIT,
    RESONANCE_SPACING_OCTAVES,
    SHAPE_PRIOR_WEIGHT,
    ChainFit,
    ChainFitSettings,
    fit_chain,
    smooth_bands,
)
from shellac.engine.dsp.chain_model import ChainResponse
from shellac.engine.dsp.ltas import Ltas, apply_eq_db, equalize_file_db
from shellac.engine.errors import ParameterError

BOUND_TOLERANCE = 1e-3
"""A fitted parameter within this fraction of a bound of its range is on it (:func:`bounds_reached`)."""


@dataclass(frozen=True)
class ChainEqSettings:
    """Limits of the chain EQ (dB, Hz, octaves).

    Parameters
    ----------
    max_boost_db:
        Largest boost anywhere.
    edge_boost_db:
        Largest boost below ``edge_low_hz`` and in the top octave (above Nyquist/2).
    edge_low_hz:
        Upper end of the bottom band whose boost ``edge_boost_db`` limits, Hz.
    snr_margin_db:
        Boosted hiss stays this far below the clean level the reference expects there, and
        hiss in noise-only bands is cut to this far below it (10 dB; 3 until 1 December 2026).
    min_snr_db:
        No boost where the observation is less than this above its noise floor (6 dB: three
        quarters of the band's power is music). Chosen on the validation works in three
        soundfonts (docs/heldout_benchmark.md, "Previous (session 8)"): 3 dB let the EQ lift the
        hiss-dominated band just above a recording's cut-off.
    boost_per_snr_db:
        If given, boost allowed per dB of the observation's excess over ``min_snr_db`` (2: a
        band 11 dB over its floor gets at most 10 dB), so the boost grows with the evidence
        and the steep skirt of a recording's cut-off, where the fitted slope is least certain,
        is lifted least. This and ``snr_margin_db`` were chosen together on the validation works in
        three soundfonts (docs/heldout_benchmark.md, "Previous (session 9)").
    hiss_cut:
        In bands where the input is only noise, cut hiss that stands above the clean level the
        reference expects there (less ``snr_margin_db``), by at most ``max_cut_db``.
    max_cut_db:
        Largest hiss cut.
    smooth_octaves:
        Width (σ) of the Gaussian smoothing of the final curve over log frequency.
    spread_floor_db:
        σ₀ of the fit's weights from a many-source reference's spread
        (:func:`~shellac.engine.dsp.chain_fit.spread_weights`): bands where the reference's
        instruments disagree weigh less. None: every band above the noise weighs as its SNR
        says. 0.75 dB was chosen on the validation works in three soundfonts
        (docs/heldout_benchmark.md, "Current (session 10)").
    shape_components:
        Up to how many of a reference's shape directions (the first ones; a basis with fewer rows
        gives all it has) the fit may use to explain this recording's own departure from the
        reference (:func:`~shellac.engine.dsp.chain_fit.fit_chain`'s ``shape_basis_db``); the boost
        limits and the hiss cut then expect the clean level of the reference so departed. None (or a
        reference without a basis): the reference as it is.
    shape_prior_weight:
        λ of the Gaussian prior on the shape coefficients (each direction one standard deviation).
        8 directions at λ = 4 were chosen on the validation works in three soundfonts under a rule
        fixed before the runs, and held on 48 fresh excerpts (docs/heldout_benchmark.md, "Session 15").
    resonance_spacing_octaves:
        The fit keeps every two horn resonances at least this far apart (1/6 octave; 0 lets copies of
        one resonance stack, splitting its ridge prior and gain bounds between them, as every fit did
        until 2 December 2026). Adopted for piano under a rule fixed before the runs; the voice
        profile keeps 0, which its figures were measured with (docs/heldout_benchmark.md, "Session 16").
    strength:
        Share of the designed curve applied, its dB scaled (1: all of it; 0: the audio passes
        unchanged, the fit and the curve it would apply are still reported).
    """

    max_boost_db: float = 20.0
    edge_boost_db: float = 6.0
    edge_low_hz: float = 80.0
    snr_margin_db: float = 10.0
    min_snr_db: float = 6.0
    boost_per_snr_db: float | None = 2.0
    hiss_cut: bool = True
    max_cut_db: float = 20.0
    smooth_octaves: float = 1.0 / 6.0
    spread_floor_db: float | None = REFERENCE_FIT.spread_floor_db
    shape_components: int | None = 8
    shape_prior_weight: float = SHAPE_PRIOR_WEIGHT
    resonance_spacing_octaves: float = RESONANCE_SPACING_OCTAVES
    strength: float = 1.0

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength <= 1.0:
            raise ParameterError(f"chain EQ strength must lie in 0..1, got {self.strength}")


@dataclass(frozen=True)
class ChainEq:
    """A designed chain EQ: the fit it inverts and its gain per analysis band (dB, + = boost).

    ``fit`` is None (and the gain flat, with ``reason`` saying why) when no chain could be
    fitted, e.g. a recording too steady or too noisy to tell music from noise floor.
    ``bounds`` names the fitted roll-off parameters left on a bound of their range
    (:func:`bounds_reached`).
    """

    fit: ChainFit | None
    grid: BandGrid
    gain_db: np.ndarray
    inverse_db: np.ndarray
    boost_cap_db: np.ndarray
    reason: str = ""
    bounds: tuple[str, ...] = ()

    def gain_on_bins(self, sample_rate: int, n_fft: int) -> np.ndarray:
        """The gain (dB, + = boost) on the ``n_fft`` rFFT bins, interpolated over log frequency."""
        freqs = np.fft.rfftfreq(n_fft, d=1.0 / sample_rate)
        ell = np.log2(np.maximum(freqs, 1e-3))
        return np.interp(ell, np.log2(self.grid.centres_hz), self.gain_db)

    def to_json(self) -> dict[str, Any]:
        """The fitted chain, the fit's misfit and the per-band curves, JSON-ready."""
        return {
            "chain": None if self.fit is None else self.fit.response.to_json(),
            "bounds_reached": list(self.bounds),
            "shape_db": None if self.fit is None or not self.fit.shape_db.any()
            else self.fit.shape_db.round(3).tolist(),
            "fit_rms_db": None if self.fit is None else round(self.fit.rms_db, 3),
            "not_fitted_reason": self.reason or None,
            "band_centres_hz": self.grid.centres_hz.round(2).tolist(),
            "band_weights": None if self.fit is None else self.fit.weights.round(3).tolist(),
            "inverse_db": self.inverse_db.round(3).tolist(),
            "boost_cap_db": self.boost_cap_db.round(3).tolist(),
            "gain_db": self.gain_db.round(3).tolist(),
        }


def design_chain_eq(observed: BandSpectrum, reference_power: np.ndarray, sample_rate: int, *,
                    settings: ChainEqSettings | None = None,
                    fit_settings: ChainFitSettings | None = None,
                    reference_spread_db: np.ndarray | None = None,
                    reference_shape_basis_db: np.ndarray | None = None) -> ChainEq:
    """Fit the chain against the reference and design the EQ that undoes it where the noise allows.

    The wanted gain is the inverse of the fitted chain's shape (its level removed):
    resonances are cut, roll-offs boosted. A boost is then limited so the hiss it lifts
    stays ``snr_margin_db`` below the clean level the reference expects there
    (reference + fitted level − noise floor), to nothing where the observation is
    within ``min_snr_db`` of its floor, to ``edge_boost_db`` at the spectrum's edges
    and to ``max_boost_db`` anywhere. Cuts of the chain's peaks are never limited; in
    noise-only bands, hiss above the expected clean level is cut down to it (``hiss_cut``).
    The curve is smoothed over log frequency, so the EQ stays in the smooth, low-order
    family of the chain, and ``settings.strength`` scales it.
    When no chain can be fitted the EQ is flat (it does nothing) and says why. With
    ``reference_spread_db`` (a many-source reference's spread on the bands) and
    ``settings.spread_floor_db`` set, the fit weighs the bands where the reference's
    instruments agree most. With ``reference_shape_basis_db`` (its shape directions on the
    bands) and ``settings.shape_components`` set, the fit also explains the recording's own
    departure from the reference, and the limits expect the reference so departed.
    """
    s = settings or ChainEqSettings()
    fit_settings = fit_settings or replace(REFERENCE_FIT, min_snr_db=s.min_snr_db,
                                           resonance_spacing_octaves=s.resonance_spacing_octaves)
    spread = reference_spread_db if s.spread_floor_db is not None else None
    if spread is not None:
        fit_settings = replace(fit_settings, spread_floor_db=s.spread_floor_db)
    basis = None
    if s.shape_components is not None and reference_shape_basis_db is not None:
        basis = reference_shape_basis_db[: s.shape_components]
        fit_settings = replace(fit_settings, shape_prior_weight=s.shape_prior_weight)
    centres = observed.grid.centres_hz
    try:
        fit = fit_chain(observed, reference_power, settings=fit_settings, spread_db=spread,
                        shape_basis_db=basis)
    except ParameterError as exc:
        flat = np.zeros(centres.size)
        return ChainEq(fit=None, grid=observed.grid, gain_db=flat, inverse_db=flat, boost_cap_db=flat,
                       reason=str(exc))
    bounds = bounds_reached(fit.response, fit_settings)
    inverse = -(fit.response.response_db(centres) - fit.response.gain_db)
    ref_db = 10.0 * np.log10(np.maximum(reference_power, 1e-30)) + fit.shape_db
    noise_db = 10.0 * np.log10(np.maximum(observed.noise_power, 1e-30))
    cap = ref_db + fit.response.gain_db - noise_db - s.snr_margin_db
    cap = np.where(observed.snr_db() >= s.min_snr_db, cap, 0.0)
    if s.boost_per_snr_db is not None:
        # Boosts grow with the evidence: none at min_snr_db above the floor, then so many dB per dB.
        cap = np.minimum(cap, s.boost_per_snr_db * (observed.snr_db() - s.min_snr_db))
    edge = (centres < s.edge_low_hz) | (centres > sample_rate / 4.0)
    cap = np.minimum(cap, np.where(edge, s.edge_boost_db, s.max_boost_db))
    cap = np.maximum(cap, 0.0)
    gain = np.where(inverse > 0, np.minimum(inverse, cap), inverse)
    if s.hiss_cut:
        # Where the input is only noise, hiss above the clean level the reference expects is
        # brought down to it: the EQ never leaves hiss above the music it stands for.
        obs_db = 10.0 * np.log10(np.maximum(observed.mean_power, 1e-30))
        excess = obs_db - (ref_db + fit.response.gain_db) + s.snr_margin_db
        noise_only = observed.snr_db() < s.min_snr_db
        gain = np.where(noise_only, np.minimum(gain, -np.clip(excess, 0.0, s.max_cut_db)), gain)
    gain = s.strength * smooth_bands(gain, centres, s.smooth_octaves)
    return ChainEq(fit=fit, grid=observed.grid, gain_db=gain, inverse_db=inverse, boost_cap_db=cap,
                   bounds=bounds)


def bounds_reached(response: ChainResponse, settings: ChainFitSettings) -> tuple[str, ...]:
    """The roll-off parameters a fit left on a bound of its range, as ``"<name>=low|high"``.

    A roll-off on its bound is one the data wanted outside the recording-chain family
    the ranges describe: usually the recording's own register or brightness read as a
    chain (a piece without treble as a 1.5 kHz low-pass). On the held-out validation
    works the EQ's balance is worse on such recordings, yet leaving those roll-offs
    uninverted was worse still (docs/heldout_benchmark.md, "Session 20"), so they are
    reported, not acted on.
    """
    ranges = {"highpass_hz": (response.highpass_hz, settings.highpass_range_hz),
              "highpass_slope_db": (response.highpass_slope_db, settings.highpass_slope_range_db),
              "lowpass_hz": (response.lowpass_hz, settings.lowpass_range_hz),
              "lowpass_slope_db": (response.lowpass_slope_db, settings.lowpass_slope_range_db)}
    reached = []
    for name, (value, (low, high)) in ranges.items():
        if value <= low * (1.0 + BOUND_TOLERANCE):
            reached.append(f"{name}=low")
        elif value >= high * (1.0 - BOUND_TOLERANCE):
            reached.append(f"{name}=high")
    return tuple(reached)


def design_against(observed: BandSpectrum, reference: Ltas, sample_rate: int,
                   settings: ChainEqSettings | None) -> ChainEq:
    """:func:`design_chain_eq` against a reference LTAS: its power and (if any) its spread and shape basis."""
    return design_chain_eq(observed, ltas_on_bands(reference, observed.grid, sample_rate), sample_rate,
                           settings=settings,
                           reference_spread_db=spread_on_bands(reference, observed.grid, sample_rate),
                           reference_shape_basis_db=shape_basis_on_bands(reference, observed.grid,
                                                                         sample_rate))


def chain_equalize(audio: np.ndarray, sample_rate: int, reference: Ltas, *, n_fft: int,
                   settings: ChainEqSettings | None = None) -> tuple[np.ndarray, np.ndarray, ChainEq]:
    """Chain EQ of (channels, frames) or mono audio in memory.

    Returns
    -------
    equalized, diff_db, eq
        The equalised audio (each channel's std kept), the applied curve as LTAS-EQ's
        ``diff_db`` (the negated gain) on the ``n_fft`` bins, and the design.
    """
    x = np.asarray(audio, dtype=np.float64)
    mono = x.mean(axis=0) if x.ndim == 2 else x
    grid = band_grid(sample_rate)
    eq = design_against(band_spectrum(mono, sample_rate, grid), reference, sample_rate, settings)
    diff_db = -eq.gain_on_bins(sample_rate, n_fft)
    return apply_eq_db(audio, sample_rate, n_fft, diff_db), diff_db, eq


def chain_equalize_file(in_path: Path, out_path: Path, reference: Ltas, *, n_fft: int,
                        settings: ChainEqSettings | None = None, chunk_s: float = 30.0
                        ) -> tuple[np.ndarray, ChainEq, BandSpectrum]:
    """:func:`chain_equalize` file to file, memory bounded by the chunk; returns diff_db, design, spectrum."""
    sample_rate = probe(Path(in_path)).sample_rate
    observed = band_spectrum_of_file(Path(in_path))
    eq = design_against(observed, reference, sample_rate, settings)
    diff_db = -eq.gain_on_bins(sample_rate, n_fft)
    equalize_file_db(Path(in_path), Path(out_path), diff_db, n_fft=n_fft, chunk_s=chunk_s)
    return diff_db, eq, observed
