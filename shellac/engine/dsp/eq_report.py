"""The record of an equalisation: observed, reference and applied curves in dB, largest boost and cut."""

from __future__ import annotations

import numpy as np

from shellac.engine.dsp.ltas import Ltas, third_octave_smooth


def eq_curves(observed: Ltas, diff_db: np.ndarray, reference: Ltas | None = None, *,
              smooth: bool = False) -> dict[str, object]:
    """JSON-ready curves on the observed LTAS's bins, dB rounded to 0.001.

    Parameters
    ----------
    observed:
        LTAS of the input; its rate (Hz) and FFT size set the bins.
    diff_db:
        The EQ's difference curve (observed − target), dB; the applied gain is its negative.
    reference:
        The target LTAS, reported on the same bins (third-octave smoothed when ``smooth``), or None.
    """
    curves: dict[str, object] = {
        "sample_rate": observed.sample_rate,
        "n_fft": observed.n_fft,
        "freqs_hz": observed.freqs_hz.round(3).tolist(),
        "observed_db": observed.db().round(3).tolist(),
        "applied_gain_db": (-diff_db).round(3).tolist(),
    }
    if reference is not None:
        ref_power = reference.on_bins(observed.sample_rate, observed.n_fft)
        if smooth:
            ref_power = third_octave_smooth(ref_power, observed.sample_rate, observed.n_fft)
        curves["reference_db"] = (10 * np.log10(ref_power + 1e-12)).round(3).tolist()
    return curves


def boost_and_cut_db(diff_db: np.ndarray) -> tuple[float, float]:
    """Largest boost and largest cut of an EQ's difference curve, dB rounded to 0.01."""
    return round(float(np.max(-diff_db)), 2), round(float(np.max(diff_db)), 2)
