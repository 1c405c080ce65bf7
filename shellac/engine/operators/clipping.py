"""Hard clipping A(x) = (|x + c| − |x − c|)/2, its consistency projection, and clip-level estimation."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import Operator

# Absolute slack (full scale = 1) when deciding that a sample sits on the clipping level.
LEVEL_SLACK = 1e-6


class ClippingOperator(Operator):
    """Symmetric hard clipping at ``level``: A(x) = (|x + c| − |x − c|)/2 = clamp(x, −c, c).

    A is idempotent (A(A(x)) = A(x)). Its consistent set {x : A(x) = y} is: x = y
    where |y| < c (reliable samples), x ≥ c where y = +c, x ≤ −c where y = −c; the
    projection onto it is :meth:`project`. A⁺ is taken as the identity on the
    observation (y itself is consistent: A(y) = y), so A A⁺ A = A.

    Parameters
    ----------
    level:
        Clipping level c, amplitude units (> 0).
    clipped:
        Optional ``[T]`` or ``[B, T]`` boolean map of clipped samples, for
        observations whose plateaus are no longer flat (resampled audio); by
        default a sample is clipped when |y| ≥ c − 1e-6.
    """

    def __init__(self, level: float, clipped: torch.Tensor | None = None) -> None:
        if not level > 0:
            raise ParameterError(f"clipping level must be positive, got {level}")
        self.level = float(level)
        self.clipped = clipped.detach().bool() if clipped is not None else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(|x + c| − |x − c|)/2, differentiable (gradient 1 inside ±c, 0 outside).

        Evaluated as clamp(x, −c, c), the same function without the rounding of the
        sum of absolute values, so A(A(x)) = A(x) holds bit for bit.
        """
        return torch.clamp(x, -self.level, self.level)

    @property
    def has_pseudo_inverse(self) -> bool:
        """True: the observation is its own consistent preimage."""
        return True

    def pseudo_inverse(self, y: torch.Tensor) -> torch.Tensor:
        """A⁺y = y (a clipped observation is a fixed point of A)."""
        return y

    def clipped_map(self, y: torch.Tensor) -> torch.Tensor:
        """Boolean map of the clipped samples of observation ``y``."""
        if self.clipped is not None:
            if self.clipped.shape[-1] != y.shape[-1]:
                raise ParameterError(f"clipped map length {self.clipped.shape[-1]} != {y.shape[-1]}")
            return self.clipped.to(y.device).expand_as(y)
        return y.abs() >= self.level - LEVEL_SLACK

    def project(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """Reliable samples ← y exactly; clipped ones pushed out to at least c with y's sign."""
        clipped = self.clipped_map(y)
        sign = torch.sign(y).to(x.dtype)
        beyond = sign * torch.clamp(sign * x, min=self.level)
        return torch.where(clipped, beyond, y.to(x.dtype))


@dataclass(frozen=True)
class ClipEstimate:
    """Clip level estimated from the amplitude histogram.

    Attributes
    ----------
    detected:
        Whether the top of the histogram shows a clipping spike.
    level:
        Estimated c (amplitude, full scale = 1); the peak |y| when not detected.
    clipped_fraction:
        Share of samples with |y| ≥ level (0 when not detected).
    spike_ratio:
        Count of the top bin over the mean count of the bins below it.
    """

    detected: bool
    level: float
    clipped_fraction: float
    spike_ratio: float

    def to_json(self) -> dict[str, Any]:
        """JSON-ready values."""
        return asdict(self)


def estimate_clip_level(
    y: np.ndarray,
    *,
    n_bins: int = 200,
    baseline_bins: int = 10,
    min_ratio: float = 4.0,
    min_fraction: float = 1e-4,
) -> ClipEstimate:
    """Estimate the clipping level of ``y`` from the histogram of |y|.

    A clipped recording piles samples up at ±c: the top bin of the histogram of
    |y| (``n_bins`` bins from 0 to the peak) holds far more samples than the bins
    just below it, where a natural amplitude distribution thins out. The level is
    the smallest |y| inside that top bin, so every sample on the plateau counts
    as clipped (the plateau itself when the pile-up is flat, as in digital clipping).

    Parameters
    ----------
    y:
        Observation, any shape (all channels pooled), amplitude units.
    n_bins:
        Histogram bins between 0 and max |y|.
    baseline_bins:
        Bins below the top one whose mean count is the baseline.
    min_ratio:
        Top-bin count over baseline needed to call the recording clipped.
    min_fraction:
        Least share of samples in the top bin needed to call it clipped.
    """
    a = np.abs(np.asarray(y, dtype=np.float64)).ravel()
    if a.size == 0 or not np.isfinite(a).all():
        raise ParameterError("cannot estimate a clipping level from empty or non-finite audio")
    peak = float(a.max())
    if peak == 0:
        return ClipEstimate(False, 0.0, 0.0, 0.0)
    counts, edges = np.histogram(a, bins=n_bins, range=(0.0, peak))
    baseline = float(counts[-1 - baseline_bins:-1].mean())
    ratio = float(counts[-1] / max(baseline, 1.0))
    detected = ratio >= min_ratio and counts[-1] >= min_fraction * a.size
    if not detected:
        return ClipEstimate(False, peak, 0.0, ratio)
    in_top = a[a >= edges[-2]]
    plateau = a[a >= peak - LEVEL_SLACK]
    # Digital clipping is flat: the level is the plateau. A soft (analogue) knee spreads
    # the pile-up over the top bin: take its lowest sample so the whole knee counts.
    level = float(plateau.min() if plateau.size >= in_top.size // 2 else in_top.min())
    return ClipEstimate(True, level, float(np.mean(a >= level - LEVEL_SLACK)), ratio)


def level_for_sdr(x: np.ndarray, target_sdr_db: float, *, iters: int = 60) -> float:
    """Clipping level whose clipped signal has the target SDR against ``x`` (dB), by bisection.

    Used by benchmarks to degrade at a prescribed input SDR (5 and 10 dB in VRDMG).
    """
    x = np.asarray(x, dtype=np.float64)
    energy = float(np.sum(x**2))
    if energy == 0:
        raise ParameterError("cannot clip silence to a target SDR")
    lo, hi = 0.0, float(np.abs(x).max())
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        err = float(np.sum((x - np.clip(x, -mid, mid)) ** 2))
        sdr = np.inf if err == 0 else 10 * np.log10(energy / err)
        lo, hi = (lo, mid) if sdr > target_sdr_db else (mid, hi)
    return 0.5 * (lo + hi)
