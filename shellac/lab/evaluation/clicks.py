"""Declicker evaluation: planted clicks on a simulated 78, scored by recall, false alarms and residual."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shellac.engine.errors import ParameterError
from shellac.lab.degradation import degrade, random_params
from shellac.lab.degradation.surface_noise import clicks

CLEAN_PEAK = 0.5  # the clean music is scaled to this peak before the chain, as in the evaluator's set-up


@dataclass(frozen=True)
class PlantedClicks:
    """A degraded excerpt with clicks at known places and the same excerpt without them.

    ``click_free`` is the transfer (horn EQ, saturation, hiss) before the clicks
    were added: the best a declicker can give back.
    """

    degraded: np.ndarray
    click_free: np.ndarray
    sample_rate: int
    starts: np.ndarray
    widths: np.ndarray
    amplitudes: np.ndarray
    hiss_snr_db: float


@dataclass(frozen=True)
class ClickScore:
    """How well one excerpt was declicked.

    Attributes
    ----------
    planted, found, detections, false_alarms
        Planted clicks, planted clicks overlapped by a detection, detections,
        and detections overlapping no planted click.
    seconds
        Excerpt length, s.
    input_db, residual_db
        Error against the click-free signal inside the planted and detected
        spans, before (the clicks themselves) and after repair, in dB relative
        to the click-free signal's energy in those spans.
    """

    planted: int
    found: int
    detections: int
    false_alarms: int
    seconds: float
    input_db: float
    residual_db: float

    @property
    def recall(self) -> float:
        """Fraction of planted clicks found (1 when none were planted)."""
        return self.found / self.planted if self.planted else 1.0

    @property
    def false_alarms_per_s(self) -> float:
        """Detections overlapping no planted click, per second."""
        return self.false_alarms / self.seconds


def plant_clicks(
    clean: np.ndarray,
    sample_rate: int,
    rng: np.random.Generator,
    *,
    count: tuple[int, int] = (5, 13),
    width_samples: tuple[int, int] = (3, 30),
    amplitude: tuple[float, float] = (0.2, 0.6),
    hiss_snr_db: tuple[float, float] = (25.0, 40.0),
) -> PlantedClicks:
    """Degrade ``clean`` by a random 78 chain, then add a known number of clicks.

    The chain is :func:`~shellac.lab.degradation.random_params` (horn
    band-pass with resonances, tanh saturation) with the music at a
    ``CLEAN_PEAK`` peak, hiss drawn from ``hiss_snr_db`` and no crackle or wow;
    clicks are the degradation package's pulse, bipolar and ringing shapes.

    Parameters
    ----------
    clean
        Mono music, samples.
    sample_rate
        Hz.
    rng
        Source of randomness: the same state gives the same excerpt.
    count
        (min, max) number of clicks, inclusive.
    width_samples
        (min, max) click length, samples.
    amplitude
        (min, max) click peak, linear full scale.
    hiss_snr_db
        (min, max) music-to-hiss ratio, dB.

    Raises
    ------
    ParameterError
        If the ranges are empty or the excerpt cannot hold the clicks.
    """
    x = np.asarray(clean, dtype=np.float64)
    if not (0 < count[0] <= count[1] and 1 <= width_samples[0] <= width_samples[1]):
        raise ParameterError(f"bad click ranges: count {count}, widths {width_samples} samples")
    if x.ndim != 1 or x.size < 4 * count[1] * width_samples[1]:
        raise ParameterError(f"excerpt of shape {x.shape} is too short for {count[1]} clicks")
    chain = random_params(rng).model_copy(update={
        "peak_dbfs": float(20 * np.log10(CLEAN_PEAK)),
        "hiss_snr_db": float(rng.uniform(*hiss_snr_db)),
        "click_rate_hz": 0.0,
        "crackle_rate_hz": 0.0,
    })
    click_free = degrade(x, sample_rate, chain, rng).audio
    n_clicks = int(rng.integers(count[0], count[1] + 1))
    # A rate that makes the expected count n; redrawn until the Poisson draw gives at least n.
    width_ms = (1e3 * width_samples[0] / sample_rate, 1e3 * width_samples[1] / sample_rate)
    rate = n_clicks * sample_rate / x.size
    while True:
        planted = clicks(x.size, sample_rate, 2.0 * rate, width_ms, amplitude, rng)
        if planted.positions_samples.size >= n_clicks:
            break
    keep = np.sort(rng.choice(planted.positions_samples.size, n_clicks, replace=False))
    signal = np.zeros(x.size)
    for i in keep:
        s, w = planted.positions_samples[i], planted.widths_samples[i]
        signal[s : s + w] = planted.signal[s : s + w]
    return PlantedClicks(
        degraded=click_free + signal,
        click_free=click_free,
        sample_rate=int(sample_rate),
        starts=planted.positions_samples[keep],
        widths=planted.widths_samples[keep],
        amplitudes=planted.amplitudes[keep],
        hiss_snr_db=float(chain.hiss_snr_db or 0.0),
    )


def _overlap(
    starts_a: np.ndarray, ends_a: np.ndarray, starts_b: np.ndarray, ends_b: np.ndarray
) -> np.ndarray:
    # (len a, len b) boolean: span a[i] and span b[j] share a sample.
    return (starts_a[:, None] < ends_b[None, :]) & (starts_b[None, :] < ends_a[:, None])


def score_clicks(
    planted: PlantedClicks, repaired: np.ndarray, detected_starts: np.ndarray, detected_lengths: np.ndarray
) -> ClickScore:
    """Score a declicker's output against the planted clicks.

    Parameters
    ----------
    planted
        The excerpt and where its clicks are.
    repaired
        The declicker's output, mono samples.
    detected_starts, detected_lengths
        Every detected span, samples.
    """
    out = np.asarray(repaired, dtype=np.float64).reshape(-1)
    if out.shape != planted.click_free.shape:
        raise ParameterError(f"repaired audio of shape {out.shape} does not match {planted.click_free.shape}")
    t_start, t_end = planted.starts, planted.starts + planted.widths
    d_start = np.asarray(detected_starts, dtype=np.int64)
    d_end = d_start + np.asarray(detected_lengths, dtype=np.int64)
    hits = _overlap(t_start, t_end, d_start, d_end)
    region = np.zeros(out.size, dtype=bool)
    for s, e in zip(np.concatenate([t_start, d_start]), np.concatenate([t_end, d_end]), strict=True):
        region[s:e] = True
    reference = planted.click_free[region]
    energy = float(np.sum(reference**2)) + 1e-20
    before = float(np.sum((planted.degraded[region] - reference) ** 2)) + 1e-20
    after = float(np.sum((out[region] - reference) ** 2)) + 1e-20
    return ClickScore(
        planted=int(t_start.size),
        found=int(hits.any(axis=1).sum()),
        detections=int(d_start.size),
        false_alarms=int((~hits.any(axis=0)).sum()),
        seconds=out.size / planted.sample_rate,
        input_db=float(10 * np.log10(before / energy)),
        residual_db=float(10 * np.log10(after / energy)),
    )
