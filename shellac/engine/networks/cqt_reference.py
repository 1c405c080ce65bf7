"""The BABE-2 reference's DC/Nyquist output filter, built from the same CQT design."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from shellac.engine.networks.cqt import CQTDesign, design_octave_cqt


def reference_band_complement_gain(design: CQTDesign) -> np.ndarray:
    """Zero-phase rFFT gain of the reference's ``apply_hpf_DC`` (1 − DC and Nyquist windows' g·gd·M).

    The reference writes the products of the DC and Nyquist windows with their
    duals into a full-length spectrum with slices that do not follow the windows'
    zero-centred order, so near 86 Hz and near Nyquist the gain is not the CQT
    round trip's passband (:attr:`OctaveCQT.passband`). Its filter keeps the real
    part of a complex FFT product, i.e. the gain (H[k] + H[−k]) / 2, returned here
    on the ``length // 2 + 1`` rFFT bins.
    """
    n = design.length
    n_bands = design.num_octaves * design.bins_per_octave
    low = np.zeros(n, dtype=np.float64)
    dc = design.windows[0] * design.duals[0] * design.frame_weights[0]
    half = len(dc) // 2
    low[:half] = dc[:half]
    low[(-len(dc)) // 2:] = dc[half:]
    nyq = n_bands + 1
    g = design.windows[nyq] * design.duals[nyq] * design.frame_weights[nyq]
    lg = len(g)
    # The reference's index range runs in natural order (−lg//2 … ), its window in zero-centred order.
    wins = (design.centres[nyq] + np.arange(-(lg // 2), lg - lg // 2)) % n
    low[wins[: (lg + 1) // 2]] += g[lg // 2:]
    low[wins[(-(lg - 1)) // 2:]] += g[: lg // 2]
    high = 1.0 - low
    return (0.5 * (high + np.roll(high[::-1], 1)))[: n // 2 + 1]


def reference_output_filter(network: torch.nn.Module) -> ReferenceBandComplement | None:
    """The reference's output filter for a CQT U-Net (None for networks without a CQT)."""
    cfg = getattr(network, "config", None)
    if cfg is None or not hasattr(cfg, "num_octaves"):
        return None
    return ReferenceBandComplement(cfg.sample_rate, cfg.num_octaves, cfg.bins_per_octave, cfg.segment_length,
                                   cfg.window_beta)


class ReferenceBandComplement(torch.nn.Module):
    """Denoiser output filter as the reference applies it: zero-pad to the segment, FFT gain, crop."""

    def __init__(self, sample_rate: float, num_octaves: int, bins_per_octave: int, length: int,
                 beta: float = 1.0) -> None:
        super().__init__()
        design = design_octave_cqt(sample_rate, num_octaves, bins_per_octave, length, beta)
        self.length = length
        gain = torch.from_numpy(reference_band_complement_gain(design))
        self.register_buffer("gain", gain, persistent=False)

    def forward(self, x: Tensor) -> Tensor:
        """Filter ``[..., T]`` signals, T ≤ the segment length."""
        n = x.shape[-1]
        padded = torch.nn.functional.pad(x, (0, self.length - n))
        spec = torch.fft.rfft(padded) * self.gain.to(x.dtype)
        return torch.fft.irfft(spec, n=self.length)[..., :n]
