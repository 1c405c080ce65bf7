"""A bundle ready for inference, and the one way to get its denoiser D(x; σ)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from shellac.engine.diffusion.precond import EDMPrecond
from shellac.engine.dsp.ltas import Ltas
from shellac.engine.models.card import BundleConfig, ModelCard
from shellac.engine.networks.cqt_reference import reference_output_filter

DenoiserPreset = Literal["shellac", "reference"]


@dataclass(frozen=True)
class LoadedBundle:
    """A bundle ready for inference.

    ``network`` is the raw network F_theta in eval mode; get the denoiser from
    :meth:`denoiser`, never by wrapping ``network`` by hand. ``checksum`` is
    :func:`~shellac.engine.models.bundle.bundle_checksum` (use it in cache keys);
    ``card.weights_sha256`` is the verified sha256 of the weights file.
    """

    directory: Path
    network: nn.Module
    config: BundleConfig
    card: ModelCard
    reference_ltas: Ltas
    checksum: str

    def reference(self, instrument: Ltas | None = None) -> Ltas:
        """The clean reference LTAS to restore against: ``instrument``'s if given, else the bundle's own."""
        return self.reference_ltas if instrument is None else instrument

    def denoiser(self, device: torch.device | str, *, preset: DenoiserPreset = "shellac") -> EDMPrecond:
        """D(x; σ): EDM preconditioning around ``network`` with its own output filter, on ``device``.

        A CQT network (BABE-2) constrains the whole denoiser output to its passband:
        ``preset="shellac"`` applies the CQT round trip's DC/Nyquist band complement,
        ``"reference"`` the BABE-2 reference code's FFT version of it (they differ at
        the edge bins; docs/babe2-parity.md). Networks without a CQT get no filter.
        """
        if preset == "reference":
            output_filter = reference_output_filter(self.network)
        else:
            output_filter = getattr(self.network, "band_complement", None)
        precond = EDMPrecond(self.network, sigma_data=self.config.sigma_data, output_filter=output_filter)
        return precond.to(device).eval()
