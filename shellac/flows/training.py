"""Training and fine-tuning flows: one engine training run per flow run, on a GPU slot when on a GPU."""

from __future__ import annotations

from contextlib import nullcontext
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.concurrency.sync import concurrency
from prefect.logging import get_run_logger

from shellac.flows.gpu import GPU_LIMIT, slot_policy
from shellac.flows.params import Device, GainDb, Steps
from shellac.lab.training import CardInfo, TrainConfig, TrainResult, finetune, train


def _slot(device: str) -> Any:
    policy = slot_policy()
    held = policy == "always" or (policy == "auto" and not device.startswith("cpu"))
    # Training holds its GPU for hours: no timeout, it waits its turn like any GPU stage.
    return concurrency(GPU_LIMIT, occupy=1) if held else nullcontext()


def _summary(result: TrainResult) -> dict[str, Any]:
    return {"run_dir": str(result.run_dir), "steps": result.steps, "resumed_from": result.resumed_from,
            "final_loss": result.final_loss, "wall_time_s": round(result.wall_time_s, 2),
            "seconds_per_step": result.seconds_per_step,
            "bundle_dir": str(result.bundle_dir) if result.bundle_dir else None}


def _run_dir(out_bundle: str, run_dir: str | None) -> Path:
    # Beside the bundle, never inside it: the bundle directory is replaced at export.
    return Path(run_dir) if run_dir else Path(out_bundle).with_name(f"{Path(out_bundle).name}.run")


@flow(name="train-model", flow_run_name="train {out_bundle}")
def train_model(
    data_dir: str,
    out_bundle: str,
    config: TrainConfig | None = None,
    card: CardInfo | None = None,
    run_dir: str | None = None,
    device: Device = "cuda",
) -> dict[str, Any]:
    """Train a diffusion prior; a rerun of the same run directory resumes from its checkpoint.

    Parameters
    ----------
    data_dir
        Folder of clean .wav/.flac training audio (a path on the worker).
    out_bundle
        Model bundle directory written when training ends.
    config
        The run's settings (network, rate in Hz, segment in samples, steps...); default TrainConfig().
    card
        Model card fields (name, description, data, licence).
    run_dir
        Checkpoints and loss log; default ``<out_bundle>.run`` beside the bundle.
    device
        Torch device; a GPU device holds a ``gpu`` slot for the whole run.
    """
    with _slot(device):
        result = train(config or TrainConfig(), Path(data_dir), _run_dir(out_bundle, run_dir),
                       resume=True, progress=False, bundle_dir=Path(out_bundle), info=card, device=device)
    get_run_logger().info("trained %d steps (resumed from %d) into %s", result.steps,
                          result.resumed_from, out_bundle)
    return _summary(result)


@flow(name="finetune-model", flow_run_name="finetune {base_bundle} -> {out_bundle}")
def finetune_model(
    base_bundle: str,
    data_dir: str,
    out_bundle: str,
    steps: Steps = 8000,
    gain_db: GainDb = 3.0,
    overrides: dict[str, Any] | None = None,
    card: CardInfo | None = None,
    run_dir: str | None = None,
    device: Device = "cuda",
) -> dict[str, Any]:
    """Fine-tune a model bundle (e.g. on one singer); resumes from its run directory.

    Parameters
    ----------
    base_bundle, data_dir, out_bundle
        Bundle to start from, fine-tuning audio folder, bundle to write (paths on the worker).
    steps, gain_db
        Optimiser steps (BABE-2: 8000) and random gain augmentation (±dB, BABE-2: 3).
    overrides
        Other TrainConfig fields (lr, batch_size, warmup_steps, seed, checkpoint_every).
    card, run_dir, device
        As for ``train-model``.
    """
    with _slot(device):
        result = finetune(Path(base_bundle), Path(data_dir), _run_dir(out_bundle, run_dir), steps=steps,
                          gain_db=gain_db, bundle_dir=Path(out_bundle), info=card, overrides=overrides,
                          resume=True, progress=False, device=device)
    get_run_logger().info("fine-tuned %d steps from %s into %s", result.steps, base_bundle, out_bundle)
    return _summary(result)
