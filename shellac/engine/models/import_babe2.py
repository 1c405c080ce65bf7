"""Convert a published BABE-2 ``.pt`` checkpoint into a Shellac model bundle (safetensors + JSON)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from shellac.engine.dsp.ltas import Ltas, calibrate_power
from shellac.engine.errors import ModelLoadingError
from shellac.engine.models.babe2_checkpoint import build_network_from_checkpoint, load_babe2_checkpoint
from shellac.engine.models.bundle import save_bundle
from shellac.engine.models.card import BundleConfig, ModelCard

PUBLISHED_DATA = {
    22050: "MAESTRO piano recordings (as published with BABE-2: MAESTRO_22kHz_8s-850kits.pt)",
    44100: "singing voice (as published with BABE-2: pretrained voice model or a VocalSet singer fine-tune)",
}
WEIGHTS_LICENCE = "as published by the BABE-2 authors (see the eloimoliner/BABE2 repository)"


def import_babe2(
    checkpoint: Path,
    out_dir: Path,
    *,
    name: str,
    reference_ltas: Ltas | None = None,
    command: str = "",
    overwrite: bool = False,
) -> Path:
    """Write a bundle at ``out_dir`` from a published BABE-2 checkpoint; return its directory.

    The EMA weights go to ``model.safetensors`` (no pickle remains), the network
    configuration and the diffusion numbers (σ_data, σ range) to ``config.json``,
    and the checkpoint's reference LTAS — rescaled to this engine's level
    convention by :func:`calibrate_power`, with the factor back to its stored
    level — to ``ltas.json``. A checkpoint
    without an LTAS needs ``reference_ltas`` (e.g. from ``shellac ltas``).
    """
    ckpt = load_babe2_checkpoint(Path(checkpoint))
    network = build_network_from_checkpoint(ckpt)
    cfg = network.config
    sigma_data = ckpt.sigma_data or (1.0 if cfg.sample_rate >= 44100 else 0.063)
    diff = ckpt.args.get("diff_params", {}) if isinstance(ckpt.args, dict) else {}
    if reference_ltas is None:
        if ckpt.reference_ltas is None:
            raise ModelLoadingError(
                f"{checkpoint} holds no reference LTAS; give one (a JSON from `shellac ltas` over the "
                "model's training data) with --ltas"
            )
        power = ckpt.reference_ltas.detach().double().cpu().numpy().reshape(-1)
        n_fft = 2 * (power.size - 1)
        calibrated = calibrate_power(np.abs(power), n_fft)
        # Keep the way back to the stored level: the reference preset's LTAS-EQ floor acts there.
        scale = float(np.sum(np.abs(power)) / np.sum(calibrated))
        reference_ltas = Ltas(cfg.sample_rate, n_fft, calibrated, stored_scale=scale)
    config = BundleConfig(
        family="cqt_unet",
        network=cfg,
        sample_rate=cfg.sample_rate,
        segment_length=cfg.segment_length,
        sigma_data=float(sigma_data),
        sigma_min=float(diff.get("sigma_min", 1e-5)),
        sigma_max=float(diff.get("sigma_max", 10.0 if sigma_data < 1.0 else 100.0)),
        normalization="std" if sigma_data == 1.0 else "none",
    )
    card = ModelCard(
        name=name,
        description=f"BABE-2 published checkpoint {Path(checkpoint).name} (EMA weights, iteration "
        f"{ckpt.iteration}), converted by `shellac models import`",
        data=PUBLISHED_DATA.get(cfg.sample_rate, "as published with BABE-2"),
        sample_rate=cfg.sample_rate,
        segment_length=cfg.segment_length,
        training_steps=int(ckpt.iteration or 0),
        wall_time_s=0.0,
        command=command,
        licence=WEIGHTS_LICENCE,
    )
    return save_bundle(Path(out_dir), network, config, card, reference_ltas, overwrite=overwrite)
