"""Optional ViSQOL (audio mode, MOS-LQO) through the pure-Python ``visqol-python`` package, if installed."""

from __future__ import annotations

import importlib.util
import logging
from typing import Any

import numpy as np

from shellac.engine.dsp.resample import resample
from shellac.engine.errors import ParameterError

VISQOL_RATE_HZ = 48_000  # ViSQOL's audio mode (and its shipped SVR model) works at 48 kHz


def visqol_available() -> bool:
    """Whether ``visqol-python`` (and its ``libsvm`` dependency) can be imported."""
    return importlib.util.find_spec("visqol") is not None and importlib.util.find_spec("libsvm") is not None


class Visqol:
    """ViSQOL v3 audio mode with the SVR model shipped in the package (no download).

    Both signals are resampled to 48 kHz and the estimate is scaled by the
    least-squares gain onto the reference first, as for LSD.
    """

    def __init__(self) -> None:
        if not visqol_available():
            raise ParameterError(
                "ViSQOL needs the optional packages visqol-python and libsvm-official "
                "(pip install visqol-python libsvm-official)"
            )
        from visqol.api import VisqolApi

        # Its per-patch logging is far too chatty for a benchmark table.
        logging.getLogger("visqol").setLevel(logging.WARNING)
        self._api: Any = VisqolApi()
        self._api.create(mode="audio")

    def score(self, reference: np.ndarray, estimate: np.ndarray, sample_rate: int) -> float:
        """MOS-LQO (1–5, higher is better) of ``estimate`` against ``reference`` at ``sample_rate`` Hz."""
        ref = np.asarray(reference, dtype=np.float64)
        est = np.asarray(estimate, dtype=np.float64)
        energy = float(np.dot(est, est))
        if energy > 0:
            est = est * (float(np.dot(ref, est)) / energy)
        ref48 = resample(ref, sample_rate, VISQOL_RATE_HZ).astype(np.float64)
        est48 = resample(est, sample_rate, VISQOL_RATE_HZ).astype(np.float64)
        return float(self._api.measure_from_arrays(ref48, est48, sample_rate=VISQOL_RATE_HZ).moslqo)
