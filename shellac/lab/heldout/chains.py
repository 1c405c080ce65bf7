"""Seeded random 78 rpm-like chains of the held-out benchmark (issue 15's evaluator settings)."""

from __future__ import annotations

import numpy as np

from shellac.lab.degradation import DegradationParams, Resonance

CLICK_SAMPLES = (3, 30)
"""Click durations, samples (at the excerpt's rate)."""


def heldout_chain(rng: np.random.Generator, sample_rate: int, seconds: float) -> DegradationParams:
    """A horn band-pass with one or two resonances, tanh saturation, hiss 25–40 dB SNR and 5–13 clicks.

    Clicks last 3–30 samples with peaks 0.2–0.6 on the 0.5-peak music (the
    chain levels the music to −6 dBFS peak before saturation). No crackle and
    no wow, so what is scored is the equalisation, not noise removal.

    Parameters
    ----------
    rng
        Source of randomness; the same state gives the same chain.
    sample_rate
        Hz, to turn click durations in samples into ms.
    seconds
        Excerpt length, to aim at 5–13 clicks per excerpt.
    """
    n_res = int(rng.integers(1, 3))
    resonances = tuple(
        Resonance(
            freq_hz=round(float(np.exp(rng.uniform(np.log(500.0), np.log(3500.0)))), 1),
            gain_db=round(float(rng.uniform(3.0, 10.0)), 2),
            q=round(float(rng.uniform(2.0, 6.0)), 2),
        )
        for _ in range(n_res)
    )
    width_ms = tuple(round(s / sample_rate * 1e3, 4) for s in CLICK_SAMPLES)
    return DegradationParams(
        highpass_hz=round(float(rng.uniform(150.0, 350.0)), 1),
        highpass_slope_db_per_oct=round(float(rng.uniform(12.0, 24.0)), 1),
        lowpass_hz=round(float(rng.uniform(2500.0, 6000.0)), 1),
        lowpass_slope_db_per_oct=round(float(rng.uniform(24.0, 60.0)), 1),
        resonances=resonances,
        peak_dbfs=-6.02,
        drive_db=round(float(rng.uniform(1.0, 6.0)), 2),
        hiss_snr_db=round(float(rng.uniform(25.0, 40.0)), 2),
        hiss_tilt_db_per_oct=round(float(rng.uniform(-3.0, 0.0)), 2),
        click_rate_hz=round(float(rng.uniform(5.0, 13.0)) / seconds, 3),
        click_width_ms=(width_ms[0], width_ms[1]),
        click_amplitude=(0.2, 0.6),
        crackle_rate_hz=0.0,
    )
