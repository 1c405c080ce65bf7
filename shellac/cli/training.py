"""``shellac train`` and ``shellac finetune``: train diffusion priors and fine-tune model bundles."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path
from typing import Any

from shellac.cli.common import device_choice


def _run_dir(args: argparse.Namespace) -> Path:
    # Beside the bundle, not inside it: the bundle directory is replaced atomically at export.
    if args.run_dir:
        return Path(args.run_dir)
    out = Path(args.out_bundle)
    return out.with_name(f"{out.name}.run")


def _command_line() -> str:
    return "shellac " + shlex.join(sys.argv[1:])


def _report(result: Any) -> None:
    per_step = f", {result.seconds_per_step:.3f} s/step" if result.seconds_per_step else ""
    loss = f"{result.final_loss:.4f}" if result.final_loss is not None else "n/a"
    print(f"{result.steps} steps (resumed from {result.resumed_from}), smoothed loss {loss}{per_step}")
    if getattr(result, "val_loss", None) is not None:
        print(f"validation loss (EMA): {result.val_loss:.4f}")
    print(f"run directory: {result.run_dir}")
    if result.bundle_dir is not None:
        print(f"model bundle: {result.bundle_dir}")


def cmd_train(args: argparse.Namespace) -> int:
    """Train a diffusion prior from scratch on a folder of audio."""
    from shellac.lab.training import CardInfo, TrainConfig, train

    fields: dict[str, Any] = {
        "family": args.family, "network": args.preset, "sample_rate": args.sample_rate,
        "segment_length": args.segment_length, "steps": args.steps, "batch_size": args.batch_size,
        "checkpoint_every": args.checkpoint_every, "seed": args.seed, "lr": args.lr,
        "normalization": args.normalization, "gain_db": args.gain_db,
        "checkpoint_optimizer": not args.slim_checkpoint, "validate_every": args.validate_every,
        "spectral_weighting_db": args.spectral_weighting_db,
    }
    if args.normalization == "std":
        # BABE-2 voice: std-normalised segments, σ in 1e-3…100.
        fields.update(sigma_data=1.0, sigma_min=1e-3, sigma_max=100.0, warmup_steps=100)
    for name in ("sigma_data", "sigma_min", "sigma_max", "warmup_steps"):
        value = getattr(args, name)
        if value is not None:
            fields[name] = value
    config = TrainConfig(**fields)
    info = CardInfo(name=args.name or Path(args.out_bundle).name, description=args.description,
                    data=args.data, licence=args.licence, command=_command_line())
    result = train(config, Path(args.data_dir), _run_dir(args), resume=args.resume,
                   progress=not args.quiet, bundle_dir=Path(args.out_bundle), info=info,
                   device=device_choice(args.device), stop_after=0 if args.export_now else args.stop_after,
                   val_dir=Path(args.val_dir) if args.val_dir else None, export_partial=args.export_now)
    _report(result)
    return 0


def cmd_finetune(args: argparse.Namespace) -> int:
    """Fine-tune a model bundle on a folder of audio."""
    from shellac.lab.training import CardInfo, finetune

    overrides: dict[str, Any] = {"batch_size": args.batch_size, "seed": args.seed, "lr": args.lr,
                                 "checkpoint_every": args.checkpoint_every,
                                 "spectral_weighting_db": args.spectral_weighting_db,
                                 "validate_every": args.validate_every}
    if args.warmup_steps is not None:
        overrides["warmup_steps"] = args.warmup_steps
    info = CardInfo(name=args.name or Path(args.out_bundle).name, description=args.description,
                    data=args.data, licence=args.licence, command=_command_line())
    result = finetune(Path(args.base_bundle), Path(args.data_dir), _run_dir(args), steps=args.steps,
                      gain_db=args.gain_db, bundle_dir=Path(args.out_bundle), info=info,
                      overrides=overrides, resume=args.resume, progress=not args.quiet,
                      device=device_choice(args.device), val_dir=Path(args.val_dir) if args.val_dir else None)
    _report(result)
    return 0


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--run-dir", help="checkpoints and loss log (default: OUT_BUNDLE.run beside it)")
    p.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                   help="continue from the run directory's checkpoint (default) or start over")
    p.add_argument("--batch-size", type=int, default=4, help="segments per step (default 4)")
    p.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate (default 2e-4)")
    p.add_argument("--warmup-steps", type=int, help="linear LR warm-up steps")
    p.add_argument("--checkpoint-every", type=int, default=1000, help="steps between checkpoints")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--name", help="model name on the card (default: OUT_BUNDLE's folder name)")
    p.add_argument("--description", default="", help="what the model is for (card)")
    p.add_argument("--data", help="training data description for the card (default: derived)")
    p.add_argument("--licence", default="MIT", help="licence of the weights (card; default MIT)")
    p.add_argument("--device", choices=("cpu", "cuda", "auto"), default="auto")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--spectral-weighting-db", type=float, default=0.0,
                   help="weight the loss's error spectrum by the inverse of the data's mean spectrum, "
                        "over at most this many dB, so errors in quiet bands (a piano's top octaves) "
                        "count (default 0: the plain EDM loss)")


def add_training_commands(subparsers: Any) -> None:
    """Add the ``train`` and ``finetune`` subcommands to ``shellac``'s subparsers."""
    p = subparsers.add_parser("train", help="train a diffusion prior on a folder of clean audio")
    p.add_argument("data_dir", help="folder of .wav/.flac training audio")
    p.add_argument("out_bundle", help="model bundle directory to write when training ends")
    p.add_argument("--family", default="unet1d", help="network family (default unet1d)")
    p.add_argument("--preset", default="small", help="network preset of the family (tiny, small, medium)")
    p.add_argument("--sample-rate", type=int, default=22050, help="model rate, Hz (default 22050)")
    p.add_argument("--segment-length", type=int, default=65536, help="segment length, samples")
    p.add_argument("--steps", type=int, default=100_000, help="optimiser steps")
    p.add_argument("--normalization", choices=("none", "std"), default="none",
                   help="none: raw amplitude (piano); std: segments at std 1 with voice σ defaults")
    p.add_argument("--sigma-data", type=float, help="EDM σ_data (default 0.063, or 1 with std)")
    p.add_argument("--sigma-min", type=float, help="smallest training σ (default 1e-5, or 1e-3 with std)")
    p.add_argument("--sigma-max", type=float, help="largest training σ (default 10, or 100 with std)")
    p.add_argument("--gain-db", type=float, default=0.0, help="random gain augmentation, ±dB")
    p.add_argument("--val-dir", help="held-out clean audio for the validation-loss curve (val_loss.csv)")
    p.add_argument("--validate-every", type=int, default=250, help="steps between validation losses")
    p.add_argument("--slim-checkpoint", action="store_true",
                   help="leave Adam's moments out of the checkpoint (about 1.5x the weights instead of 4x;"
                        " a resume restarts Adam with a short learning-rate re-warm-up)")
    p.add_argument("--stop-after", type=int,
                   help="stop with a checkpoint once this many steps are done (no bundle export)")
    p.add_argument("--export-now", action="store_true",
                   help="train no further: export the run's checkpoint (EMA weights) to OUT_BUNDLE as it is")
    _common(p)
    p.set_defaults(func=cmd_train)

    p = subparsers.add_parser("finetune", help="fine-tune a model bundle on a folder of audio")
    p.add_argument("base_bundle", help="model bundle to start from")
    p.add_argument("data_dir", help="folder of .wav/.flac fine-tuning audio")
    p.add_argument("out_bundle", help="model bundle directory to write")
    p.add_argument("--steps", type=int, default=8000, help="optimiser steps (default 8000)")
    p.add_argument("--gain-db", type=float, default=3.0, help="random gain augmentation, ±dB (default 3)")
    p.add_argument("--val-dir", help="held-out clean audio for the validation-loss curve (val_loss.csv)")
    p.add_argument("--validate-every", type=int, default=250, help="steps between validation losses")
    _common(p)
    p.set_defaults(func=cmd_finetune)
