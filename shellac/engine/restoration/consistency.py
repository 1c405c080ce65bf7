"""Noise-aware data consistency: a generated signal corrected, bin by bin, into a posterior sample given y."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import istft, stft
from scipy.stats import chi2

from shellac.engine.dsp.ltas import third_octave_smooth
from shellac.engine.dsp.noise_floor import slope_limited
from shellac.engine.errors import ParameterError
from shellac.engine.quality.gate import music_low_cutoff_hz

N_FFT = 1024
"""STFT window (samples) of the correction: 46 ms at 22.05 kHz."""
HOP = 256
"""STFT hop (samples); Hann at 75 % overlap sums to a constant, so unchanged bins reconstruct exactly."""
NOISE_QUANTILE = 0.1
"""Quantile of each bin's power over frames taken as the observation's noise (minimum statistics)."""
MAX_RESIDUAL_GAIN_DB = 6.0
"""Largest residual gain of the equalised observation over the prior's sample (the EQ undid the chain)."""
MIN_SNR_DB = 3.0
"""A bin whose mean power over the recording is less than this far above its noise floor gets H = 0."""
CHUNK_FRAMES = 1 << 18
"""Samples corrected per chunk (about 12 s at 22.05 kHz), so long recordings never sit whole in memory."""
NOISE_MEDIAN_BINS = 15
"""Bins of the running median across frequency over the quantiles: hiss is smooth in frequency, while a
partial sustained through the whole recording is a narrow peak that must not count as noise."""
_MAX_NOISE_FRAMES = 20_000
"""STFT frames kept (evenly strided) for the noise quantile of a long recording."""
_REPORT_EDGES_HZ = (0.0, 250.0, 1000.0, 4000.0, 8000.0, math.inf)
BALANCE_LIMIT_DB = 6.0
"""Largest power gain (either way) of the balance pass (:func:`balance_gain`) in any bin."""
EDGE_OCTAVES = 0.5
"""Width (octaves) of the band inside each edge of the observation's signal range whose level anchors
the generated content beyond that edge (``anchored`` form)."""
FORMS = ("posterior", "anchored", "anchored-ltas")
"""The correction's forms: ``posterior`` fits a residual response H (the output takes the prior's
envelope); ``anchored`` takes H = 1 where the observation holds signal (the EQ stage undid the chain)
and sets the generated content beyond the signal range to the observation's level at its edges;
``anchored-ltas`` does the same, and beyond the edges the generated band falls off as the reference
LTAS does (never above the prior's own balance), instead of keeping the prior's balance. Any form
may add the floor (:func:`floor_gain`): in every bin where the observation holds only noise, the
generated content no louder than the observation is there (the level the EQ stage left). The
anchored forms may also take the response the EQ stage left where it withheld boost
(:func:`withheld_response`): H < 1 there, so music well over the noise gets the boost and
noise-dominated cells keep the prior's content."""
MAX_WITHHELD_DB = 20.0
"""Largest withheld boost (dB) the correction gives back in any bin (the EQ stage's own boost limit)."""


@dataclass(frozen=True)
class Consistency:
    """What the correction did: the level it matched; per band, the residual response and y's share."""

    gain: float
    bands: list[dict[str, float]]
    corrected: bool = False
    form: str = "posterior"
    anchors: dict[str, float] | None = None
    floored_bins: int | None = None
    floor_margin_db: float | None = None
    evidence: bool = False
    balance: dict[str, float | bool] | None = None
    withheld: dict[str, float] | None = None
    floor_low: dict[str, float | int | None] | None = None
    noise_slope: dict[str, float] | None = None

    def to_json(self) -> dict[str, Any]:
        """``filters.json``'s ``consistency`` entry."""
        entry = {"method": self.form, "n_fft": N_FFT, "hop": HOP, "noise_quantile": NOISE_QUANTILE,
                 "noise_median_bins": NOISE_MEDIAN_BINS, "min_snr_db": MIN_SNR_DB,
                 "generated_gain": round(self.gain, 6), "spectral_bias_corrected": self.corrected,
                 "bands": self.bands}
        if self.form == "posterior":
            entry["max_residual_gain_db"] = MAX_RESIDUAL_GAIN_DB
        else:
            entry["edge_octaves"] = EDGE_OCTAVES
            entry["anchors"] = self.anchors
        entry["evidence"] = self.evidence
        if self.balance is not None:
            entry["balance"] = self.balance
        if self.withheld is not None:
            entry["withheld_boost"] = self.withheld
        if self.floor_low is not None:
            entry["floor_low"] = self.floor_low
        if self.noise_slope is not None:
            entry["noise_slope"] = self.noise_slope
        entry["floor"] = self.floored_bins is not None
        if self.floored_bins is not None:
            entry["floored_bins"] = self.floored_bins
            entry["floor_margin_db"] = self.floor_margin_db
        return entry


def _spectrum(x: np.ndarray) -> np.ndarray:
    return stft(x, window="hann", nperseg=N_FFT, noverlap=N_FFT - HOP)[2]


def _signal(spec: np.ndarray, n: int) -> np.ndarray:
    return istft(spec, window="hann", nperseg=N_FFT, noverlap=N_FFT - HOP)[1][:n]


def _chunks(n: int, margin: int) -> Iterator[tuple[int, int, int, int]]:
    """(start, stop, lo, hi): chunk [start, stop) with up to ``margin`` samples of context, [lo, hi)."""
    for start in range(0, n, CHUNK_FRAMES):
        stop = min(n, start + CHUNK_FRAMES)
        yield start, stop, max(0, start - margin), min(n, stop + margin)


def _own(spec: np.ndarray, start: int, stop: int, lo: int) -> np.ndarray:
    """The frames of a chunk's spectrum centred in [start, stop) (``start − lo`` is a multiple of HOP)."""
    first = (start - lo) // HOP
    return spec[:, first:first + -(-(stop - start) // HOP)]


@dataclass(frozen=True)
class _Statistics:
    noise: np.ndarray
    observed_power: np.ndarray
    generated_power: np.ndarray
    quantile: np.ndarray | None = None  # each bin's NOISE_QUANTILE of its power over the frames


def _floor(quantile: np.ndarray, real_edges: bool) -> np.ndarray:
    """Noise power per bin from its low quantile: divided by that quantile of the noise's distribution,
    then the running median across frequency. A complex bin's power is exponential (quantile
    −ln(1 − q)); with ``real_edges`` the DC and Nyquist bins, real-valued, take χ² with one degree of
    freedom (a far lower quantile), so their floor is not read low."""
    scale = np.full(quantile.shape, -math.log1p(-NOISE_QUANTILE))
    if real_edges:
        scale[[0, -1]] = float(chi2.ppf(NOISE_QUANTILE, 1))
    return median_filter(quantile / scale, size=NOISE_MEDIAN_BINS, mode="nearest")


def _statistics(observed: np.ndarray, generated: np.ndarray | None, correction: np.ndarray | float = 1.0
                ) -> _Statistics:
    """One pass over both signals: the observation's per-bin noise floor and both mean powers
    (the generated one 0 when ``generated`` is None)."""
    n = observed.shape[-1]
    stride = max(1, -(-(n // HOP + 1) // _MAX_NOISE_FRAMES))
    kept, sum_y, sum_g, frames = [], 0.0, 0.0, 0
    for start, stop, lo, hi in _chunks(n, N_FFT):
        py = np.abs(_own(_spectrum(np.asarray(observed[lo:hi], dtype=np.float64)), start, stop, lo)) ** 2
        pg = (np.abs(_own(_spectrum(np.asarray(generated[lo:hi], dtype=np.float64)), start, stop, lo)) ** 2
              if generated is not None else np.zeros_like(py))
        kept.append(py[:, ::stride].astype(np.float32))
        sum_y, sum_g, frames = sum_y + py.sum(axis=1), sum_g + pg.sum(axis=1), frames + py.shape[1]
    quantile = np.quantile(np.concatenate(kept, axis=1), NOISE_QUANTILE, axis=1).astype(np.float64)
    generated_power = np.asarray(correction) ** 2 * sum_g / frames
    return _Statistics(_floor(quantile, real_edges=False), sum_y / frames, generated_power, quantile)


def _slope_limited(stats: _Statistics, sample_rate: int, db_per_octave: float | None) -> _Statistics:
    """``stats`` with the noise floor slope-limited (:func:`~shellac.engine.dsp.noise_floor.slope_limited`);
    as they are for None. The floor limited is read with the DC and Nyquist bins as real-valued
    (:func:`_floor`): read as complex, their low quantile sits 8 dB under the noise, and the limit
    would carry that dip an octave and more into the band."""
    if db_per_octave is None:
        return stats
    if stats.quantile is None:
        raise ParameterError("the slope limit reads the floor from each bin's low quantile: these "
                             "statistics carry none")
    floor = slope_limited(_floor(stats.quantile, real_edges=True), sample_rate, N_FFT, db_per_octave)
    return replace(stats, noise=floor)


def noise_floor(observed: np.ndarray) -> np.ndarray:
    """Noise power per STFT bin of ``observed`` (minimum statistics).

    The :data:`NOISE_QUANTILE` of each bin's power over frames, divided by
    −ln(1 − q): a bin holding only Gaussian noise of power N has exponentially
    distributed periodogram values whose q-quantile is −ln(1 − q)·N. Music
    leaves gaps in most bins over a recording, so the low quantile sees the noise;
    a running median of :data:`NOISE_MEDIAN_BINS` bins across frequency removes the
    narrow peaks of partials that sound throughout.
    """
    n = observed.shape[-1]
    if n < N_FFT:
        raise ParameterError(f"data consistency needs at least {N_FFT} samples, got {n}")
    return _statistics(observed, None).noise


def _above_noise(stats: _Statistics) -> np.ndarray:
    """Bins whose mean observed power is :data:`MIN_SNR_DB` above their noise floor: they hold signal."""
    return stats.observed_power >= stats.noise * 10.0 ** (MIN_SNR_DB / 10.0)


def residual_response(stats: _Statistics, sample_rate: int) -> tuple[np.ndarray, float]:
    """|H| per bin, the equalised observation's remaining response relative to the prior's sample, and the
    generated sample's level gain.

    From third-octave-smoothed mean powers, |H|² = (P_y − N)/(g²·P_gen). The gain g
    sets the median of |H|² to 1 over the bins whose mean power is
    :data:`MIN_SNR_DB` above the noise (the EQ stage already undid the chain there); |H| is then
    limited to 0 … :data:`MAX_RESIDUAL_GAIN_DB`, and is 0 in bins whose own mean
    power is less than :data:`MIN_SNR_DB` above the noise floor.
    """
    signal = third_octave_smooth(np.maximum(stats.observed_power - stats.noise, 0.0), sample_rate, N_FFT)
    prior = third_octave_smooth(stats.generated_power, sample_rate, N_FFT)
    ratio = np.where(prior > 0, signal / np.maximum(prior, 1e-300), 0.0)
    # Smoothing spreads a pass band's power over a steep edge: a bin whose own mean power is within
    # MIN_SNR_DB of its noise says nothing of the signal, whatever its neighbours hold.
    informative = _above_noise(stats) & (prior > 0)
    ratio[~informative] = 0.0
    level = float(np.median(ratio[informative])) if informative.any() else 1.0
    gain = math.sqrt(level) if level > 0 else 1.0
    limit = 10.0 ** (MAX_RESIDUAL_GAIN_DB / 10.0)
    return np.sqrt(np.clip(ratio / gain**2, 0.0, limit)), gain


@dataclass(frozen=True)
class EqCurves:
    """An EQ stage's curves per band: the boost that would undo the recording chain, the gain it applied."""

    centres_hz: np.ndarray
    inverse_db: np.ndarray
    gain_db: np.ndarray


def withheld_response(curves: EqCurves, sample_rate: int, share: float, max_hz: float) -> np.ndarray:
    """|H| ≤ 1 per bin of the correction: the response an EQ stage left by withholding boost.

    ``curves.inverse_db`` is the boost that would undo the recording chain and ``curves.gain_db``
    the gain the EQ applied, on bands centred at ``curves.centres_hz``. Where it boosted less
    than the inverse (its noise limits), the observation still lies that much under
    the clean signal: H = 10^(−w/20), w = ``share`` · min(inverse − max(gain, 0),
    :data:`MAX_WITHHELD_DB`), interpolated over log frequency; 1 wherever the EQ gave
    the whole boost or cut (w ≤ 0), and above ``max_hz``.
    """
    if not 0.0 <= share <= 1.0:
        raise ParameterError(f"the share of the withheld boost given back runs from 0 to 1, not {share}")
    centres = np.asarray(curves.centres_hz, dtype=np.float64)
    inverse = np.asarray(curves.inverse_db, dtype=np.float64)
    gain = np.asarray(curves.gain_db, dtype=np.float64)
    if not centres.size or centres.shape != inverse.shape or inverse.shape != gain.shape:
        raise ParameterError(f"the withheld boost needs one inverse and one gain per band, got "
                             f"{centres.shape}, {inverse.shape} and {gain.shape}")
    withheld = share * np.clip(inverse - np.maximum(gain, 0.0), 0.0, MAX_WITHHELD_DB)
    freqs = bin_frequencies(sample_rate)
    on_bins = np.interp(np.log2(np.maximum(freqs, 1e-3)), np.log2(centres), withheld)
    return 10.0 ** (-np.where(freqs <= max_hz, on_bins, 0.0) / 20.0)


def signal_range(informative: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """(lowest, highest) frequency (Hz) of the observation's signal range: the bins where at least half of
    the third octave around them is ``informative`` (holds signal); the informative bins' own extent where
    no bin has such a share. ``informative`` must hold at least one bin."""
    freqs = bin_frequencies(sample_rate)
    share = third_octave_smooth(informative.astype(np.float64), sample_rate, N_FFT)
    wide = (share >= 0.5) & (freqs > 0)
    inside = np.flatnonzero(wide) if wide.any() else np.flatnonzero(informative)
    if not inside.size:
        raise ParameterError("the signal range needs at least one bin that holds signal")
    return float(freqs[inside[0]]), float(freqs[inside[-1]])


def anchored_response(stats: _Statistics, sample_rate: int, reference_power: np.ndarray | None = None,
                      withheld: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, dict[str, float]]:
    """(|H|, amplitude of the generated sample, anchors) per bin for the ``anchored`` form; the anchors
    give the signal range and the power gains (dB) put on the generated sample inside, below and above it.

    H is 1 where the observation holds signal (:func:`_above_noise`) and 0
    elsewhere; with ``withheld`` (:func:`withheld_response`) it is that response
    where the observation holds signal, and the levels below are read from the
    observation's power divided by H² (what the clean signal there would have).
    The signal range is :func:`signal_range`'s. The
    generated sample is scaled, beyond the top of that range, to the
    observation's power over the :data:`EDGE_OCTAVES` below the top (ratio of the
    summed powers of the informative bins there); below the bottom, likewise over
    the band above the bottom; inside it, to the median level ratio, as
    :func:`residual_response` levels it. So the generated band continues the
    observation's level at the edge instead of the prior's own balance.

    With ``reference_power`` (the clean reference LTAS per bin), beyond each edge
    the generated band is further shaped so its power falls off from the edge as
    the reference's does: the gain there is the edge gain times
    min(1, (R(f)/G(f)) / (ΣR/ΣG over the edge band)), G the generated power; a
    prior brighter than the reference beyond the edge is brought down to it, a
    duller one is left alone.
    """
    informative = _above_noise(stats) & (stats.generated_power > 0)
    freqs = bin_frequencies(sample_rate)
    response = np.ones_like(freqs) if withheld is None else np.asarray(withheld, dtype=np.float64)
    signal = np.maximum(stats.observed_power - stats.noise, 0.0) / response**2
    if not informative.any():
        return np.zeros_like(freqs), np.ones_like(freqs), {}
    bottom, top = signal_range(informative, sample_rate)
    level = float(np.median(signal[informative] / stats.generated_power[informative]))

    def edge_level(sel: np.ndarray) -> float:
        sel = sel & informative
        return float(signal[sel].sum() / stats.generated_power[sel].sum()) if sel.any() else level

    def db(power_ratio: float) -> float:
        return round(10 * math.log10(power_ratio), 2) if power_ratio > 0 else -math.inf

    high_band = (freqs <= top) & (freqs >= top * 2.0 ** -EDGE_OCTAVES)
    low_band = (freqs >= bottom) & (freqs <= bottom * 2.0 ** EDGE_OCTAVES)
    high, low = edge_level(high_band), edge_level(low_band)
    power = np.where(freqs > top, high, np.where(freqs < bottom, low, level))
    anchors = {"signal_low_hz": round(float(bottom), 1), "signal_high_hz": round(float(top), 1),
               "level_db": db(level), "low_db": db(low), "high_db": db(high)}
    if reference_power is not None:
        shape = _reference_shape(np.asarray(reference_power, dtype=np.float64), stats.generated_power,
                                 high_band & informative, low_band & informative, freqs > top, freqs < bottom)
        power = power * shape
        beyond = (freqs > top) | (freqs < bottom)
        anchors["reference_shape_min_db"] = db(float(shape[beyond].min())) if beyond.any() else 0.0
    return informative * response, np.sqrt(power), anchors


def floor_gain(stats: _Statistics, h: np.ndarray, amplitude: np.ndarray, margin_db: float = 0.0
               ) -> tuple[np.ndarray, int]:
    """``amplitude`` limited so that, in every bin where H = 0 (the observation holds only noise), the
    generated sample's mean power is at most the observation's there (raised by ``margin_db``); and the
    number of such bins.

    There the observation is noise at the level the EQ stage chose, and nothing
    in it supports content any louder; the gain only goes down. The prior still
    decides what the content is, and how it moves frame by frame. An EQ stage that
    cut such hiss to a set distance below the clean level it expects there (the chain
    EQ: ``snr_margin_db``) left it that far under the music it stands for; ``margin_db``
    lets the generated content stand up to that much above it.
    """
    if margin_db < 0.0:
        raise ParameterError(f"the consistency floor's margin is a rise in dB, at least 0, not {margin_db}")
    quiet = h == 0
    limit = np.sqrt(10.0 ** (margin_db / 10.0) * stats.observed_power
                    / np.maximum(stats.generated_power, 1e-30))
    return np.where(quiet, np.minimum(amplitude, limit), amplitude), int(np.count_nonzero(quiet[1:]))


def _reference_shape(reference: np.ndarray, generated: np.ndarray, high_edge: np.ndarray,
                     low_edge: np.ndarray, above: np.ndarray, below: np.ndarray) -> np.ndarray:
    """Power factor per bin (≤ 1, 1 inside the signal range) that makes the generated band beyond each
    edge fall off as ``reference`` does from that edge band."""
    shape = np.ones_like(generated)
    ratio = reference / np.maximum(generated, 1e-30)
    for edge, beyond in ((high_edge, above), (low_edge, below)):
        if edge.any() and beyond.any():
            anchor = reference[edge].sum() / max(float(generated[edge].sum()), 1e-30)
            shape[beyond] = np.minimum(1.0, ratio[beyond] / max(anchor, 1e-30))
    return shape


def cell_prior_power(x: np.ndarray, y: np.ndarray, h: np.ndarray, noise: np.ndarray, *,
                     evidence: bool) -> np.ndarray:
    """The prior's power in each STFT cell: the generated sample's, |X_gen|²; with ``evidence``, never
    below what the observation shows there above its noise, (|Y|² − N)/H² (0 where H = 0).

    The sample's power alone discards the observation wherever the sample happens
    to be quiet (a partial it put elsewhere), however clearly the observation holds
    music there: the Wiener gain goes to 0 with it. That keeps the prior's balance
    where it is quiet, which suits the voice priors and costs a bright piano its
    treble (docs/architecture.md, "Posterior data consistency").
    """
    if not evidence:
        return np.abs(x) ** 2
    h2 = np.broadcast_to(h**2, y.shape)
    shown = np.divide(np.maximum(np.abs(y) ** 2 - noise, 0.0), h2, out=np.zeros(y.shape), where=h2 > 0)
    return np.maximum(np.abs(x) ** 2, shown)


def balance_gain(stats: _Statistics, sample_rate: int, share: float, *, smooth: bool = False,
                 in_range: bool = False) -> np.ndarray:
    """Amplitude gain per bin that moves the output's long-term balance ``share`` of the way (in dB)
    to the observation's, in the bins where the observation holds signal (:func:`_above_noise`).

    ``stats`` are of the observation and the output. The full gain sets the output's
    third-octave-smoothed mean power to the observation's, limited to ±:data:`BALANCE_LIMIT_DB`;
    elsewhere (noise-only bins, the generated band) the gain is 1. One gain per bin for the whole
    recording: the long-term balance moves, the output's detail frame by frame stays.

    Bin by bin, a lone bin beyond the recording's cut-off whose hiss happens to clear the signal
    test takes the band's gain while its neighbours keep 1: a steady narrow line of lifted hiss.
    With ``smooth`` there is no per-bin test: each bin's dB gain is weighted by the share of the
    observation's power in its third-octave window that stands above the noise floor. The curve
    is smooth; where the observation is music it moves the whole band, the bins between partials
    with it; where it is hiss with a stray bin it moves by a fraction of a dB. With ``in_range``
    the gain is 1 outside the observation's signal range (:func:`signal_range`, the anchored
    form's edges): a stray bin beyond the cut-off is left alone, the bins inside keep their test.
    """
    have = third_octave_smooth(stats.generated_power, sample_rate, N_FFT)
    observed = third_octave_smooth(stats.observed_power, sample_rate, N_FFT)
    ratio = observed / np.maximum(have, 1e-30)
    limit = 10.0 ** (BALANCE_LIMIT_DB / 10.0)
    if smooth:
        above = third_octave_smooth(np.maximum(stats.observed_power - stats.noise, 0.0), sample_rate, N_FFT)
        weight = np.clip(above / np.maximum(observed, 1e-30), 0.0, 1.0)
        power = np.where(have > 0, np.clip(ratio, 1.0 / limit, limit) ** weight, 1.0)
    else:
        power = np.where(_above_noise(stats) & (have > 0), np.clip(ratio, 1.0 / limit, limit), 1.0)
    informative = _above_noise(stats)
    if in_range and informative.any():
        bottom, top = signal_range(informative, sample_rate)
        freqs = bin_frequencies(sample_rate)
        power = np.where((freqs >= bottom) & (freqs <= top), power, 1.0)
    return np.sqrt(power) ** share


def rebalance(observed: np.ndarray, out: np.ndarray, sample_rate: int, share: float, *,
              smooth: bool = False, in_range: bool = False, noise_slope_db: float | None = None
              ) -> dict[str, float | bool]:
    """Apply :func:`balance_gain` to ``out`` in place, chunk by chunk; what it did, for the report."""
    stats = _slope_limited(_statistics(observed, out), sample_rate, noise_slope_db)
    gain = balance_gain(stats, sample_rate, share, smooth=smooth, in_range=in_range)
    n, carry = out.shape[-1], None
    for start, stop, lo, hi in _chunks(n, N_FFT):
        segment = np.asarray(out[lo:hi], dtype=np.float64).copy()
        if carry is not None:  # the context before ``start`` as it was before the last chunk was written
            segment[: start - lo] = carry[carry.size - (start - lo):]
        carry = np.asarray(out[max(0, stop - N_FFT):stop], dtype=np.float64).copy()
        out[start:stop] = _signal(gain[:, None] * _spectrum(segment), hi - lo)[start - lo:stop - lo]
    db = 20.0 * np.log10(gain)
    return {"share": share, "limit_db": BALANCE_LIMIT_DB, "smooth": smooth, "in_range": in_range,
            "bins_changed": int(np.count_nonzero(np.abs(db) > 0.01)),
            "min_gain_db": round(float(db.min()), 2), "max_gain_db": round(float(db.max()), 2)}


def posterior_fuse(observed: np.ndarray, generated: np.ndarray, sample_rate: int, out: np.ndarray, *,
                   prior_correction: np.ndarray | None = None, form: str = "posterior",
                   reference_power: np.ndarray | None = None, floor: bool = False,
                   evidence: bool = False, balance: float = 0.0, floor_margin_db: float = 0.0,
                   withheld: np.ndarray | None = None, balance_smooth: bool = False,
                   balance_in_range: bool = False, floor_low: bool = False,
                   noise_slope_db: float | None = None) -> Consistency:
    """Write into ``out`` the generated signal corrected into a posterior sample given the observation.

    Each STFT bin is modelled as Y = H·X + noise: Y the equalised observation, X
    the clean signal with prior power P per cell (the generated sample's, level-matched to
    Y where Y is above its noise; with ``evidence``, never below what Y shows there above its
    noise: :func:`cell_prior_power`), H the residual response (:func:`residual_response`), the
    noise of power N (:func:`noise_floor`). Given the prior's draw X_gen, the
    output is X_gen + K·(Y − H·X_gen) with the Wiener gain K = H·P/(H²·P + N)
    (Matheron's rule without the noise draw; DDNM's range-space correction with
    noise). Where the observation is clean and H ≈ 1 it is kept; where it holds only
    noise (H → 0, the stop bands) the generated content stays.

    Parameters
    ----------
    observed
        The observation the sampler was guided towards (the equalised input), samples.
    generated
        The generative output, same length, samples.
    out
        Array of the same length to write the result into (not ``generated``).
    prior_correction
        Amplitude factor per STFT bin (``N_FFT // 2 + 1``) applied to the generated
        sample first: the inverse of the prior's measured spectral bias
        (:class:`~shellac.engine.models.spectral_bias.SpectralBias`); None for none.
    form
        ``"posterior"``: H fitted (:func:`residual_response`); ``"anchored"``: H = 1 where
        the observation holds signal, the generated band levelled to its edges
        (:func:`anchored_response`); ``"anchored-ltas"``: also shaped beyond the edges
        like ``reference_power``.
    reference_power
        The clean reference LTAS on the correction's bins (``N_FFT // 2 + 1``, at
        ``sample_rate``); needed by ``"anchored-ltas"`` only.
    floor
        Limit the generated content, in every bin where the observation holds only
        noise, to the observation's level there (:func:`floor_gain`).
    floor_margin_db
        With ``floor``: the limit stands this many dB above the observation's level.
    evidence
        Take the prior's power in a cell as never below what the observation shows
        there above its noise (:func:`cell_prior_power`).
    balance
        Then move the result's long-term balance this share of the way (0 … 1, in dB) to the
        observation's where it holds signal (:func:`rebalance`); 0: no such pass.
    balance_smooth
        With ``balance``: its gain as one smooth curve (:func:`balance_gain`'s ``smooth``).
    balance_in_range
        With ``balance``: its gain 1 outside the observation's signal range (:func:`balance_gain`'s
        ``in_range``).
    floor_low
        Limit the generated content, in the bins below the observation's pass band (the
        quality gate's low cut-off, :func:`~shellac.engine.quality.gate.music_low_cutoff_hz`)
        where the observation holds only noise, to the observation's level there
        (:func:`floor_gain` on those bins alone): the prior's low tones where the recording
        holds none are not kept, the generated band above the cut-off is.
    noise_slope_db
        The step's noise per bin is the highest floor under :func:`noise_floor`'s that changes
        by at most this many dB per octave (:func:`~shellac.engine.dsp.noise_floor.slope_limited`,
        the denoise stage's own limit): where the music fills a band so densely that its quietest
        tenth is still music, the low quantile reads music as noise, the band's bins count as
        holding none (H = 0) and the Wiener gain hands observed music to the prior; a hiss floor is
        smooth, so the band takes its neighbours' floor. It sets H, the signal range, the floor,
        the Wiener gain and the balance pass alike. None: the unlimited estimate.
    withheld
        With an anchored form: the response the EQ stage left by withholding boost, per bin
        (:func:`withheld_response`); H takes it where the observation holds signal, so
        cells where the music stands well over the noise get the boost back and
        noise-dominated ones keep the prior's content. None: H = 1 there.
    """
    n = observed.shape[-1]
    if generated.shape != observed.shape or out.shape != observed.shape:
        raise ParameterError(f"data consistency needs signals of one length, got {observed.shape}, "
                             f"{generated.shape} and {out.shape}")
    if n < N_FFT:
        raise ParameterError(f"data consistency needs at least {N_FFT} samples, got {n}")
    correction = np.ones(N_FFT // 2 + 1) if prior_correction is None else np.asarray(prior_correction, float)
    if correction.shape != (N_FFT // 2 + 1,):
        raise ParameterError(f"prior_correction needs {N_FFT // 2 + 1} bins, got {correction.shape}")
    if form not in FORMS:
        raise ParameterError(f"consistency form must be one of {FORMS}, not {form!r}")
    if not 0.0 <= balance <= 1.0:
        raise ParameterError(f"consistency balance is a share from 0 to 1, not {balance}")
    if (balance_smooth or balance_in_range) and not balance:
        raise ParameterError("balance_smooth and balance_in_range shape the balance pass's gain: "
                             "set balance too")
    if floor_margin_db and not floor:
        raise ParameterError("a consistency floor margin raises the floor: set floor too")
    if withheld is not None:
        if form == "posterior":
            raise ParameterError("the withheld boost sets an anchored form's response: the posterior form "
                                 "fits its own")
        if balance > 0:
            raise ParameterError("the balance pass moves the output back to the observation's balance, "
                                 "which the withheld boost corrects: use one of them")
        if np.shape(withheld) != (N_FFT // 2 + 1,) or not np.all((np.asarray(withheld) > 0)
                                                                  & (np.asarray(withheld) <= 1)):
            raise ParameterError(f"the withheld response needs {N_FFT // 2 + 1} bins in (0, 1]")
    if form == "anchored-ltas" and (reference_power is None
                                   or np.shape(reference_power) != (N_FFT // 2 + 1,)):
        raise ParameterError(f"the anchored-ltas form needs the reference LTAS on {N_FFT // 2 + 1} bins")
    unlimited = _statistics(observed, generated, correction)
    stats = _slope_limited(unlimited, sample_rate, noise_slope_db)
    slope_report = None
    if noise_slope_db is not None:
        slope_report = {"db_per_octave": noise_slope_db,
                        **_lowering_report(unlimited.noise, stats.noise, sample_rate)}
    anchors = None
    if form == "posterior":
        h, gain = residual_response(stats, sample_rate)
        amplitude = np.full_like(h, gain)
    else:
        h, amplitude, anchors = anchored_response(
            stats, sample_rate, reference_power if form == "anchored-ltas" else None, withheld)
        gain = float(np.median(amplitude))
    floored = None
    if floor:
        amplitude, floored = floor_gain(stats, h, amplitude, floor_margin_db)
    low_report = None
    if floor_low:
        low_hz = music_low_cutoff_hz(observed, sample_rate)
        below = bin_frequencies(sample_rate) < (low_hz if low_hz is not None else 0.0)
        amplitude, low_bins = floor_gain(stats, np.where(below, h, 1.0), amplitude)
        low_report = {"below_hz": None if low_hz is None else round(low_hz, 1), "floored_bins": low_bins}
    h = h[:, None]
    correction = (amplitude * correction)[:, None]
    noise = stats.noise[:, None]
    share_sum = np.zeros(h.shape[0])
    frames = 0
    for start, stop, lo, hi in _chunks(n, N_FFT):
        y = _spectrum(np.asarray(observed[lo:hi], dtype=np.float64))
        x = correction * _spectrum(np.asarray(generated[lo:hi], dtype=np.float64))
        prior = cell_prior_power(x, y, h, noise, evidence=evidence)
        k = h * prior / (h**2 * prior + noise + 1e-30)
        corrected = _signal(x + k * (y - h * x), hi - lo)
        out[start:stop] = corrected[start - lo:stop - lo]
        own = _own(k * h, start, stop, lo)
        share_sum += own.sum(axis=1)
        frames += own.shape[1]
    balanced = (rebalance(observed, out, sample_rate, balance, smooth=balance_smooth,
                          in_range=balance_in_range, noise_slope_db=noise_slope_db) if balance > 0 else None)
    return Consistency(gain=gain, bands=_band_report(h[:, 0], share_sum / max(frames, 1), sample_rate),
                       corrected=prior_correction is not None, form=form, anchors=anchors,
                       floored_bins=floored, floor_margin_db=floor_margin_db if floor else None,
                       evidence=evidence, balance=balanced,
                       withheld=None if withheld is None else _withheld_report(withheld, h[:, 0]),
                       floor_low=low_report, noise_slope=slope_report)


def _lowering_report(noise: np.ndarray, limited: np.ndarray, sample_rate: int) -> dict[str, float]:
    """Per report band, how far (dB, band means) the slope limit lowered the step's noise floor."""
    freqs = bin_frequencies(sample_rate)
    report = {}
    for low, high in zip(_REPORT_EDGES_HZ[:-1], _REPORT_EDGES_HZ[1:], strict=True):
        sel = (freqs >= low) & (freqs < high)
        if low < sample_rate / 2 and sel.any():
            drop = 10 * np.log10(np.mean(noise[sel]) / max(float(np.mean(limited[sel])), 1e-300))
            report[f"lowered_db_{low:g}_{min(high, sample_rate / 2):g}"] = round(float(drop), 2)
    return report


def _withheld_report(withheld: np.ndarray, h: np.ndarray) -> dict[str, float]:
    """``filters.json``'s account of the withheld boost: its largest value and the bins it acted in."""
    acting = (withheld < 1.0) & (h > 0)
    return {"max_db": round(float(-20.0 * np.log10(np.min(withheld))), 2),
            "limit_db": MAX_WITHHELD_DB, "bins_given_back": int(np.count_nonzero(acting))}



def _band_report(h: np.ndarray, share: np.ndarray, sample_rate: int) -> list[dict[str, float]]:
    """Per report band: mean residual response (dB) and mean share K·H of the observation in the output."""
    freqs = bin_frequencies(sample_rate)
    bands = []
    for low, high in zip(_REPORT_EDGES_HZ[:-1], _REPORT_EDGES_HZ[1:], strict=True):
        sel = (freqs >= low) & (freqs < high)
        if low >= sample_rate / 2 or not sel.any():
            continue
        bands.append({"low_hz": low, "high_hz": min(high, sample_rate / 2),
                      "residual_response_db": round(float(10 * np.log10(np.mean(h[sel] ** 2) + 1e-12)), 2),
                      "observed_share": round(float(np.mean(share[sel])), 4)})
    return bands


def bin_frequencies(sample_rate: int) -> np.ndarray:
    """Centre frequency (Hz) of each STFT bin of the correction."""
    return np.fft.rfftfreq(N_FFT, 1.0 / sample_rate)


def fuse_to_memmap(observed: np.ndarray, generated: np.ndarray, sample_rate: int, target: Path, *,
                   prior_correction: np.ndarray | None = None, form: str = "posterior",
                   reference_power: np.ndarray | None = None, floor: bool = False,
                   evidence: bool = False, balance: float = 0.0, floor_margin_db: float = 0.0,
                   withheld: np.ndarray | None = None, balance_smooth: bool = False,
                   balance_in_range: bool = False, floor_low: bool = False,
                   noise_slope_db: float | None = None) -> tuple[np.ndarray, Consistency]:
    """:func:`posterior_fuse` into a new float32 memory map at ``target`` (``.npy``)."""
    out = np.lib.format.open_memmap(target, mode="w+", dtype=np.float32, shape=observed.shape)
    report = posterior_fuse(observed, generated, sample_rate, out, prior_correction=prior_correction,
                            form=form, reference_power=reference_power, floor=floor, evidence=evidence,
                            balance=balance, floor_margin_db=floor_margin_db, withheld=withheld,
                            balance_smooth=balance_smooth, balance_in_range=balance_in_range,
                            floor_low=floor_low, noise_slope_db=noise_slope_db)
    out.flush()
    return out, report
