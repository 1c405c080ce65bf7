"""Validation loss of model bundles on held-out audio: the fixed segments, σ levels and noise of training.

Scores each bundle's EMA network with shellac.lab.training.validation (the numbers
`shellac train --val-dir` writes to val_loss.csv), so a shipped model and a run in
progress compare on identical inputs. The σ range and set size come from --run-dir's
train_config.json when given (else from the first bundle and the defaults).

Run: ``.venv/bin/python scripts/validation_loss.py models/piano models/piano-small
--val-dir /work/train15/piano-val --run-dir runs/piano-small``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from shellac.engine.models.bundle import load_bundle, read_config
from shellac.lab.training.config import TrainConfig
from shellac.lab.training.validation import make_validation_set, validation_loss, validation_sigmas


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("bundles", nargs="+", type=Path, help="model bundle folders")
    parser.add_argument("--val-dir", type=Path, required=True, help="held-out clean audio")
    parser.add_argument("--run-dir", type=Path, help="training run whose validation settings to use")
    parser.add_argument("--json", type=Path, help="also write the results here")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    if args.run_dir:
        config = TrainConfig.model_validate_json((args.run_dir / "train_config.json").read_text())
    else:
        first = read_config(args.bundles[0])
        config = TrainConfig(sample_rate=first.sample_rate, segment_length=first.segment_length,
                             sigma_min=first.sigma_min, sigma_max=first.sigma_max,
                             sigma_data=first.sigma_data, normalization=first.normalization)
    sigmas = validation_sigmas(config.validation_sigmas, config.sigma_min, config.sigma_max,
                               config.rho_train)
    vset = make_validation_set(args.val_dir, config.sample_rate, config.segment_length,
                               segments=config.validation_segments, sigmas=sigmas,
                               normalization=config.normalization, silence_db=config.silence_db)
    results = {}
    for path in args.bundles:
        bundle = load_bundle(path)
        c = bundle.config
        if (c.sample_rate, c.sigma_data, c.normalization) != (config.sample_rate, config.sigma_data,
                                                              config.normalization):
            parser.error(f"{path}: rate/σ_data/normalisation differ from the validation settings")
        loss, per_sigma = validation_loss(bundle.network, c.sigma_data, vset)
        pairs = list(zip(sigmas.tolist(), per_sigma, strict=True))
        results[str(path)] = {"val_loss": loss, "per_sigma": [[s, v] for s, v in pairs],
                              "training_steps": bundle.card.training_steps}
        print(f"{path}: validation loss {loss:.4f} (per σ: "
              + ", ".join(f"{s:.3g}: {v:.3f}" for s, v in pairs) + ")")
    if args.json:
        summary = {"val_dir": str(args.val_dir), "segments": config.validation_segments,
                   "segment_length": config.segment_length, "results": results}
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
