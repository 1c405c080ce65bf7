"""Quality gate: no-reference checks that a generative EQ output is not implausibly worse than LTAS-EQ."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy.stats import gamma

from shellac.engine.dsp.ltas import Ltas
from shellac.engine.errors import ParameterError
from shellac.engine.quality.band_stats import GATE_N_FFT, Bands, FrameStats, frame_stats, third_octave_bands

GATE_VERSION = 1
_FLOOR = 1e-20


@dataclass(frozen=True)
class GateThresholds:
    """Limits of the gate's checks; docs/quality_gate.md gives the measurements behind each.

    Attributes
    ----------
    high_band_excess_db, low_band_excess_db
        Largest energy (dB) the generative output may put in the bands where the
        untouched input held only noise (above the high cut-off / below the low
        one), relative to the larger of what LTAS-EQ left there and what the
        model's clean reference LTAS has there.
    passband_deviation_db
        Largest RMS difference (dB, mean removed) between the third-octave LTAS
        of the generative output and of the LTAS-EQ result over the pass band.
    lsd_db
        Largest mean per-frame log-spectral distance (dB, third-octave bands of
        the pass band) between the generative output and the LTAS-EQ result.
    haze
        Largest rise of the mean spectral flatness (0–1) in the pass band above
        ``haze_low_hz``: partials dissolving into broadband noise.
    music_margin_db
        A band carries music when its median frame energy exceeds its 10th
        percentile by this much more than stationary noise would.
    """

    high_band_excess_db: float = 3.0
    low_band_excess_db: float = 3.0
    passband_deviation_db: float = 15.0
    lsd_db: float = 25.0
    haze: float = 0.10
    haze_low_hz: float = 1000.0
    music_margin_db: float = 3.0


@dataclass(frozen=True)
class Check:
    """One check: its value, limit and outcome (``applicable`` false when the recording has no such band)."""

    name: str
    value: float | None
    threshold: float
    unit: str
    passed: bool
    applicable: bool
    description: str


@dataclass(frozen=True)
class GateResult:
    """The gate's outcome: which output becomes the access copy, why, and every check."""

    decision: str
    reason: str | None
    checks: tuple[Check, ...]
    low_cutoff_hz: float | None
    high_cutoff_hz: float | None
    music_bands_hz: list[list[float]] = field(default_factory=list)

    @property
    def fallback(self) -> bool:
        """True when the LTAS-EQ result replaces the generative output."""
        return self.decision == "ltas_eq"

    def to_json(self) -> dict[str, Any]:
        """JSON-ready record (state.json metrics, quality_gate.json, tags, PREMIS, report)."""
        return {
            "version": GATE_VERSION,
            "decision": self.decision,
            "fallback": self.fallback,
            "reason": self.reason,
            "low_cutoff_hz": _round(self.low_cutoff_hz),
            "high_cutoff_hz": _round(self.high_cutoff_hz),
            "music_bands_hz": self.music_bands_hz,
            "checks": [{**asdict(c), "value": _round(c.value, 4)} for c in self.checks],
        }


def _round(value: float | None, digits: int = 1) -> float | None:
    return None if value is None or not np.isfinite(value) else round(float(value), digits)


def noise_ratio_db(n_bins: np.ndarray) -> np.ndarray:
    """Median over 10th percentile of a band's frame energy for stationary Gaussian noise, dB.

    A band of K rFFT bins under a Hann window has about 2K/1.5 degrees of
    freedom per frame (neighbouring bins are correlated), so its energy is
    Gamma-distributed with shape K/1.5; the ratio of two of its quantiles is
    then known without any noise estimate.
    """
    shape = np.maximum(np.asarray(n_bins, dtype=np.float64) / 1.5, 1.0)
    return 10.0 * np.log10(gamma.ppf(0.5, shape) / gamma.ppf(0.1, shape))


def music_bands(stats: FrameStats, bands: Bands, margin_db: float) -> np.ndarray:
    """Boolean per band: the signal's frame energy varies more than stationary noise's by ``margin_db``.

    Median and 10th percentile (not the mean) so isolated clicks do not make a
    noise band look musical.
    """
    median = np.median(stats.energy, axis=0)
    low = np.percentile(stats.energy, 10, axis=0)
    ratio_db = 10.0 * np.log10((median + _FLOOR) / (low + _FLOOR))
    return ratio_db > noise_ratio_db(bands.widths) + margin_db


def _edge_runs(music: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(below, pass, above): noise-only runs at the bottom and top, and the bands between."""
    below = np.zeros_like(music)
    above = np.zeros_like(music)
    if not music.any():
        return below, np.zeros_like(music), above
    first, last = int(np.argmax(music)), int(music.size - 1 - np.argmax(music[::-1]))
    below[:first] = True
    above[last + 1 :] = True
    passing = np.zeros_like(music)
    passing[first : last + 1] = True
    return below, passing, above


def music_low_cutoff_hz(signal: np.ndarray, sample_rate: int, *,
                        margin_db: float = GateThresholds.music_margin_db) -> float | None:
    """The low edge (Hz) of a recording's pass band as the gate reads it: the lower edge of the lowest
    third-octave band of ``signal`` that holds music (:func:`music_bands`); None where none does.
    :func:`evaluate_gate` reports the same edge as ``low_cutoff_hz`` when a noise-only band lies
    below it (None otherwise); this returns it either way.

    Band by band and over frames, so a few bins of rumble or gated hiss at the bottom of
    the spectrum do not pull it down, as a per-bin test over the whole recording would.
    """
    bands = third_octave_bands(sample_rate, GATE_N_FFT)
    _, passing, _ = _edge_runs(music_bands(frame_stats(signal, bands), bands, margin_db))
    return float(bands.lo_hz[passing][0]) if passing.any() else None


def _band_db(power: np.ndarray) -> np.ndarray:
    return 10.0 * np.log10(np.maximum(power, _FLOOR))


def _band_means(ltas_bins: np.ndarray, bands: Bands) -> np.ndarray:
    return np.array([ltas_bins[idx].mean() for idx in bands.bins])


def _excess_db(
    gen: np.ndarray, ltas_eq: np.ndarray, reference: np.ndarray, where: np.ndarray, widths: np.ndarray
) -> float | None:
    if not where.any():
        return None
    allowed = np.maximum(ltas_eq[where], reference[where])
    return float(10.0 * np.log10(np.sum(gen[where] * widths[where]) / np.sum(allowed * widths[where])))


def _reference_bands(reference: Ltas | None, bands: Bands, total: float) -> np.ndarray:
    """The reference LTAS on the gate's bands, scaled to the same total power as a unit-std signal."""
    if reference is None:
        return np.zeros(len(bands.bins))
    bins = reference.on_bins(bands.sample_rate, bands.n_fft)
    bins = bins * (total / max(float(bins.sum()), _FLOOR))
    return _band_means(bins, bands)


def evaluate_gate(
    untouched: np.ndarray,
    ltas_eq: np.ndarray,
    generative: np.ndarray,
    sample_rate: int,
    *,
    reference: Ltas | None = None,
    thresholds: GateThresholds | None = None,
    n_fft: int = GATE_N_FFT,
) -> GateResult:
    """Compare a generative EQ output with the LTAS-EQ result and the untouched input (no clean truth).

    Parameters
    ----------
    untouched
        The recording before any EQ (after denoising), mono at ``sample_rate`` Hz.
    ltas_eq
        The LTAS-EQ result (the generative stage's guidance target), same length.
    generative
        The generative EQ output, same length.
    reference
        The model's clean reference LTAS (what the instrument should sound like);
        without it the noise-band checks compare with the LTAS-EQ result alone.
    thresholds
        Limits of the checks (defaults: :class:`GateThresholds`).

    Returns
    -------
    GateResult
        ``decision`` is ``"generative"`` when every applicable check passes,
        else ``"ltas_eq"`` with a reason naming the failed checks.
    """
    limits = thresholds or GateThresholds()
    lengths = {int(s.shape[-1]) for s in (untouched, ltas_eq, generative)}
    if len(lengths) != 1:
        raise ParameterError(f"the gate needs three signals of one length, got lengths {sorted(lengths)}")
    bands = third_octave_bands(sample_rate, n_fft)
    s_in, s_eq, s_gen = (frame_stats(s, bands) for s in (untouched, ltas_eq, generative))
    music = music_bands(s_in, bands, limits.music_margin_db)
    below, passing, above = _edge_runs(music)
    widths = bands.widths.astype(np.float64)
    eq_bands, gen_bands = _band_means(s_eq.ltas, bands), _band_means(s_gen.ltas, bands)
    ref_bands = _reference_bands(reference, bands, float(s_eq.ltas.sum()))

    high = _excess_db(gen_bands, eq_bands, ref_bands, above, widths)
    low = _excess_db(gen_bands, eq_bands, ref_bands, below, widths)
    deviation = lsd = haze = None
    if passing.any():
        diff = _band_db(gen_bands[passing]) - _band_db(eq_bands[passing])
        deviation = float(np.sqrt(np.mean((diff - diff.mean()) ** 2)))
        e_eq, e_gen = s_eq.energy[:, passing], s_gen.energy[:, passing]
        # Frames where the LTAS-EQ result is near silence say nothing about the music: left out.
        level = e_eq.sum(axis=1)
        active = level > 1e-3 * np.median(level)
        per_frame = np.sqrt(np.mean((_band_db(e_gen[active]) - _band_db(e_eq[active])) ** 2, axis=1))
        lsd = float(per_frame.mean()) if per_frame.size else None
        upper = passing & (bands.lo_hz >= limits.haze_low_hz)
        if upper.any():
            haze = float(np.mean(s_gen.flatness[active][:, upper]) - np.mean(s_eq.flatness[active][:, upper]))

    def check(name: str, value: float | None, limit: float, unit: str, text: str) -> Check:
        ok = value is None or value <= limit
        return Check(name, value, limit, unit, ok, value is not None, text)

    checks = (
        check(
            "high_band_excess_db",
            high,
            limits.high_band_excess_db,
            "dB",
            "energy above the input's high cut-off (bands holding only noise) over the larger of "
            "LTAS-EQ's and the clean reference's",
        ),
        check(
            "low_band_excess_db",
            low,
            limits.low_band_excess_db,
            "dB",
            "energy below the input's low cut-off (bands holding only noise) over the larger of "
            "LTAS-EQ's and the clean reference's",
        ),
        check(
            "passband_deviation_db",
            deviation,
            limits.passband_deviation_db,
            "dB",
            "RMS third-octave LTAS difference from the LTAS-EQ result over the pass band, mean removed",
        ),
        check(
            "lsd_db",
            lsd,
            limits.lsd_db,
            "dB",
            "log-spectral distance from the LTAS-EQ result, third-octave bands of the pass band",
        ),
        check(
            "haze",
            haze,
            limits.haze,
            "flatness",
            f"rise of spectral flatness in the pass band above {limits.haze_low_hz:g} Hz "
            "(partials turning into broadband noise)",
        ),
    )
    failed = [c for c in checks if not c.passed]
    reason = None
    if failed:
        reason = "generative output implausibly worse than LTAS-EQ: " + "; ".join(
            f"{c.name} {c.value:.2f} {c.unit} > {c.threshold:g}" for c in failed
        )
    music_hz = [
        [round(float(bands.lo_hz[i]), 1), round(float(bands.hi_hz[i]), 1)] for i in np.flatnonzero(music)
    ]
    return GateResult(
        decision="ltas_eq" if failed else "generative",
        reason=reason,
        checks=checks,
        low_cutoff_hz=float(bands.lo_hz[passing][0]) if passing.any() and below.any() else None,
        high_cutoff_hz=float(bands.hi_hz[passing][-1]) if passing.any() and above.any() else None,
        music_bands_hz=music_hz,
    )
