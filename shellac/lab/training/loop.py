"""The training loop: EDM loss, Adam with warm-up, gradient clipping, EMA, resumable checkpoints."""

from __future__ import annotations

import copy
import csv
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from shellac.engine.atomic import atomic_write_json, atomic_write_text
from shellac.engine.diffusion.precond import EDMPrecond
from shellac.engine.errors import ParameterError
from shellac.lab.datasets import SegmentDataset
from shellac.lab.training.checkpoint import (
    CHECKPOINT_FILE,
    TrainingState,
    load_checkpoint,
    save_checkpoint,
)
from shellac.lab.training.config import TrainConfig
from shellac.lab.training.ema import ema_beta, update_ema
from shellac.lab.training.export import CardInfo, describe_data, export_bundle
from shellac.lab.training.objective import draw_sigma, edm_loss
from shellac.lab.training.spectral_weight import weights_for_data
from shellac.lab.training.validation import (
    ValidationSet,
    make_validation_set,
    validation_loss,
    validation_sigmas,
)

LOG_FILE = "loss.csv"
CONFIG_FILE = "train_config.json"
LOG_FIELDS = ("step", "loss", "lr", "grad_norm", "ema_beta", "elapsed_s")
VAL_LOG_FILE = "val_loss.csv"
VAL_LOG_FIELDS = ("step", "val_loss_ema", "val_loss_net", "train_loss_smooth", "elapsed_s")
# After resuming from a slim checkpoint (no Adam moments) the learning rate ramps up again
# over this many steps: fresh moments make Adam's first updates sign-like and large.
ADAM_RESTART_WARMUP = 200
# Running mean of the loss for the card: about the last 100 steps count.
_LOSS_SMOOTHING = 0.99
# Fields that may change between a run and its resumption without changing any number computed so far.
_RESUMABLE_CHANGES = frozenset({"steps", "checkpoint_every", "checkpoint_optimizer", "validate_every",
                                "validation_segments", "validation_sigmas"})


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train`: where things are and how it went."""

    run_dir: Path
    steps: int
    resumed_from: int
    final_loss: float | None
    wall_time_s: float
    seconds_per_step: float | None
    losses: tuple[float, ...]
    checkpoint: Path
    bundle_dir: Path | None
    val_loss: float | None = None


def warmup_lr(step: int, lr: float, warmup_steps: int) -> float:
    """Learning rate of optimiser step ``step`` (1-based): linear from lr/warmup to lr, then flat."""
    if warmup_steps <= 0:
        return float(lr)
    return float(lr) * min(1.0, step / warmup_steps)


def restart_factor(step: int, restarts: list[int]) -> float:
    """Learning-rate factor after Adam restarts (slim resumes): linear over ADAM_RESTART_WARMUP steps."""
    if not restarts:
        return 1.0
    return min(1.0, (step - max(restarts)) / ADAM_RESTART_WARMUP)


def prepare_batch(segments: np.ndarray, config: TrainConfig, gain_u: np.ndarray | None) -> torch.Tensor:
    """Clean training batch ``[B, T]`` float32: optional std normalisation, then random gain.

    Gain comes after normalisation so it survives it: the "std" models then see levels
    within ±gain_db of unit std, which is what singer fine-tunes want.
    """
    x = torch.from_numpy(np.ascontiguousarray(segments, dtype=np.float32))
    if config.normalization == "std":
        x = x / x.std(dim=1, keepdim=True).clamp_min(1e-8)
    if gain_u is not None:
        gain_db = (2.0 * torch.from_numpy(gain_u).to(torch.float32) - 1.0) * config.gain_db
        x = x * (10.0 ** (gain_db / 20.0))[:, None]
    return x


def train(
    config: TrainConfig,
    data_dir: Path,
    run_dir: Path,
    *,
    resume: bool = True,
    progress: bool = True,
    bundle_dir: Path | None = None,
    info: CardInfo | None = None,
    initial_state: Mapping[str, torch.Tensor] | None = None,
    device: str | torch.device = "cpu",
    stop_after: int | None = None,
    val_dir: Path | None = None,
    export_partial: bool = False,
) -> TrainResult:
    """Train (or continue training) a diffusion prior on a folder of audio.

    Parameters
    ----------
    config:
        The run's numbers (network, rate in Hz, segment length in samples, σ range, optimiser...).
    data_dir:
        Folder of clean .wav/.flac training audio.
    run_dir:
        Holds ``checkpoint.pt`` (every ``checkpoint_every`` steps and at the end),
        ``loss.csv`` (one row per step) and ``train_config.json``.
    resume:
        Continue from ``run_dir``'s checkpoint if there is one (the loss sequence is the
        same as an uninterrupted run's); ``False`` starts over.
    progress:
        Show a tqdm progress bar.
    bundle_dir:
        Where to export the model bundle (EMA weights) when training finishes; ``None``: no export.
    info:
        Card fields (name, description, licence, command, base model).
    initial_state:
        Raw-network weights to start from (fine-tuning); ignored when resuming.
    device:
        Torch device for the network. Random draws are made on the CPU either way.
    stop_after:
        Stop (with a checkpoint) once this many steps are done, before ``config.steps``;
        no bundle is exported. For interrupting runs on purpose (tests, time slots).
    val_dir:
        Folder of held-out clean audio: every ``config.validate_every`` steps (and at the
        last) the EMA's and the network's denoising loss on its fixed segments, σ levels
        and noise is appended to ``val_loss.csv`` (monitoring only, never for choosing settings).
    export_partial:
        Export the bundle even though fewer than ``config.steps`` steps are done (a candidate
        from a run still in progress; with ``stop_after=0`` it exports the checkpoint as it is).

    Returns
    -------
    TrainResult
    """
    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    info = info or CardInfo()
    ckpt_path = run_dir / CHECKPOINT_FILE
    state = load_checkpoint(ckpt_path) if resume and ckpt_path.is_file() else None
    if state is not None:
        _check_resumable(TrainConfig.model_validate(state.config), config, ckpt_path)
    atomic_write_json(run_dir / CONFIG_FILE, config.model_dump(mode="json"))

    dataset = SegmentDataset(
        data_dir, config.sample_rate, config.segment_length, seed=config.seed, silence_db=config.silence_db
    )
    # Its own draw (seed + 1), so the training batches are the same with or without weighting.
    weights = None
    if config.spectral_weighting_db > 0:
        spectrum_data = SegmentDataset(data_dir, config.sample_rate, config.segment_length,
                                       seed=config.seed + 1, silence_db=config.silence_db)
        weights = weights_for_data(spectrum_data, config.spectral_weighting_db, config.segment_length)
        weights = weights.to(device)
    torch.manual_seed(config.seed)  # the network's initialisation
    net = config.build_network()
    if initial_state is not None:
        net.load_state_dict(dict(initial_state), strict=True)
    net.to(device).train()
    ema = copy.deepcopy(net).eval().requires_grad_(False)
    denoiser = EDMPrecond(net, config.sigma_data)
    optimizer = torch.optim.Adam(net.parameters(), lr=config.lr, betas=config.adam_betas)
    generator = torch.Generator().manual_seed(config.seed)
    vset = None
    if val_dir is not None:
        sigmas = validation_sigmas(config.validation_sigmas, config.sigma_min, config.sigma_max,
                                   config.rho_train)
        vset = make_validation_set(Path(val_dir), config.sample_rate, config.segment_length,
                                   segments=config.validation_segments, sigmas=sigmas,
                                   normalization=config.normalization, silence_db=config.silence_db)

    step, wall, loss_smooth, loss_count = 0, 0.0, 0.0, 0
    lineage: dict[str, Any] = {"base_model": info.base_model}
    if state is not None:
        net.load_state_dict(state.network)
        ema.load_state_dict(state.ema)
        generator.set_state(state.torch_rng)
        dataset.set_state(state.data_rng)
        step, wall = state.step, state.wall_time_s
        loss_smooth, loss_count, lineage = state.loss_smooth, state.loss_count, dict(state.lineage)
        if state.optimizer is not None:
            optimizer.load_state_dict(state.optimizer)
        else:  # a slim checkpoint: Adam starts again from zero moments, with a short re-warm-up
            lineage["adam_restarts"] = [*lineage.get("adam_restarts", []), step]
    resumed_from = step
    losses = _prepare_log(run_dir / LOG_FILE, step)
    val_rows = _prepare_val_log(run_dir / VAL_LOG_FILE, step, vset)
    val_last = float(val_rows[-1][1]) if val_rows else None
    val_step = int(val_rows[-1][0]) if val_rows else None

    last = config.steps if stop_after is None else min(config.steps, stop_after)
    started = time.perf_counter()
    session_start_step = step
    bar = tqdm(total=config.steps, initial=step, disable=not progress, unit="step", dynamic_ncols=True)
    with open(run_dir / LOG_FILE, "a", newline="", encoding="utf-8") as log_fh:
        writer = csv.writer(log_fh)
        while step < last:
            step += 1
            segments = dataset.batch(config.batch_size)
            gain_u = dataset.uniform(config.batch_size) if config.gain_db > 0 else None
            x = prepare_batch(segments, config, gain_u).to(device)
            sigma = draw_sigma(config.batch_size, config.sigma_min, config.sigma_max, config.rho_train,
                               generator)
            noise = torch.randn(x.shape, generator=generator, dtype=torch.float32).to(device)

            lr = warmup_lr(step, config.lr, config.warmup_steps)
            lr *= restart_factor(step, lineage.get("adam_restarts", []))
            for group in optimizer.param_groups:
                group["lr"] = lr
            optimizer.zero_grad(set_to_none=True)
            loss = edm_loss(denoiser, x, sigma.to(device), noise, weights).mean()
            loss.backward()
            max_norm = config.grad_clip if config.grad_clip is not None else math.inf
            grad_norm = float(torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm))
            optimizer.step()
            beta = ema_beta(step, config.ema_rate, config.ema_rampup_ratio)
            update_ema(ema, net, beta)

            value = float(loss.detach())
            if not math.isfinite(value):
                raise ParameterError(
                    f"training loss became {value} at step {step}; lower the learning rate or check "
                    f"the data (clipping, NaNs); the last checkpoint is kept in {run_dir}"
                )
            losses.append(value)
            loss_smooth = _LOSS_SMOOTHING * loss_smooth + (1.0 - _LOSS_SMOOTHING) * value
            loss_count += 1
            elapsed = wall + time.perf_counter() - started
            writer.writerow([step, repr(value), repr(lr), f"{grad_norm:.6g}", repr(beta), f"{elapsed:.3f}"])
            log_fh.flush()
            bar.update(1)
            bar.set_postfix(loss=f"{value:.4f}", lr=f"{lr:.2e}")

            if vset is not None and (step % config.validate_every == 0 or step == last):
                val_last = _log_validation(run_dir / VAL_LOG_FILE, step, ema, net, config, vset,
                                           loss_smooth / (1.0 - _LOSS_SMOOTHING**loss_count), elapsed,
                                           device)
                val_step = step
            if step % config.checkpoint_every == 0 or step == last:
                save_checkpoint(ckpt_path, TrainingState(
                    step=step, config=config.model_dump(mode="json"), network=net.state_dict(),
                    ema=ema.state_dict(), optimizer=optimizer.state_dict(),
                    torch_rng=generator.get_state(), data_rng=dataset.get_state(),
                    wall_time_s=elapsed, loss_smooth=loss_smooth, loss_count=loss_count,
                    lineage=lineage,
                ), slim=not config.checkpoint_optimizer)
    bar.close()

    session_s = time.perf_counter() - started
    wall += session_s
    done_here = step - session_start_step
    final_loss = loss_smooth / (1.0 - _LOSS_SMOOTHING**loss_count) if loss_count else None
    exported = None
    if bundle_dir is not None and (step >= config.steps or export_partial):
        if vset is not None and val_step != step and loss_count:
            # The card's validation loss belongs to the exported weights, not to an earlier step.
            val_last = _log_validation(run_dir / VAL_LOG_FILE, step, ema, net, config, vset,
                                       loss_smooth / (1.0 - _LOSS_SMOOTHING**loss_count), wall, device)
        exported = export_bundle(
            bundle_dir, ema.to("cpu"), config, dataset.files, info,
            data_description=describe_data(data_dir, dataset.files, dataset.summary.duration_s),
            steps=step, wall_time_s=wall, final_loss=final_loss,
            validation=_card_validation(vset, val_last, config),
        )
    return TrainResult(
        run_dir=run_dir,
        steps=step,
        resumed_from=resumed_from,
        final_loss=final_loss,
        wall_time_s=wall,
        seconds_per_step=session_s / done_here if done_here else None,
        losses=tuple(losses),
        checkpoint=ckpt_path,
        bundle_dir=exported,
        val_loss=val_last,
    )


def _log_validation(path: Path, step: int, ema: torch.nn.Module, net: torch.nn.Module, config: TrainConfig,
                    vset: ValidationSet, train_smooth: float, elapsed: float,
                    device: str | torch.device) -> float:
    """Score the EMA and the raw network on the validation set; append one row to ``val_loss.csv``."""
    ema_loss, per_sigma = validation_loss(ema, config.sigma_data, vset, device=device)
    net_loss, _ = validation_loss(net, config.sigma_data, vset, device=device)
    with open(path, "a", newline="", encoding="utf-8") as fh:
        csv.writer(fh).writerow([step, repr(ema_loss), repr(net_loss), repr(train_smooth), f"{elapsed:.3f}",
                                 *(f"{v:.6g}" for v in per_sigma)])
    return ema_loss


def _card_validation(vset: ValidationSet | None, loss: float | None,
                     config: TrainConfig) -> dict[str, Any] | None:
    if vset is None or loss is None:
        return None
    folders = sorted({p.parent.name for p in vset.files})
    return {"loss_ema": loss, "data": f"{len(vset.files)} file(s) in {', '.join(folders)}/",
            "segments": int(vset.clean.shape[0]), "segment_length": config.segment_length,
            "sigmas": [float(f"{s:.6g}") for s in vset.sigmas.tolist()],
            "note": "EDM denoising loss at fixed σ levels and seeded noise (monitoring, never tuning)"}


def _prepare_val_log(path: Path, step: int, vset: ValidationSet | None) -> list[list[str]]:
    """Keep the validation rows of steps ≤ ``step``; write the header (σ columns) if the log is new."""
    if vset is None:
        return []
    rows: list[list[str]] = []
    if step > 0 and path.is_file():
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.reader(fh) if r and r[0] != "step" and int(r[0]) <= step]
    header = [*VAL_LOG_FIELDS, *(f"ema_sigma_{s:.4g}" for s in vset.sigmas.tolist())]
    atomic_write_text(path, "\n".join(",".join(r) for r in [header, *rows]) + "\n")
    return rows


def _check_resumable(saved: TrainConfig, wanted: TrainConfig, path: Path) -> None:
    before = saved.model_dump(mode="json")
    after = wanted.model_dump(mode="json")
    changed = sorted(k for k in before if before[k] != after[k] and k not in _RESUMABLE_CHANGES)
    if changed:
        raise ParameterError(
            f"cannot resume {path}: the run was started with different {', '.join(changed)} "
            f"({json.dumps({k: before[k] for k in changed})}); use the same settings, or pass "
            "resume=False / --no-resume (or another run directory) to start over"
        )


def _prepare_log(path: Path, step: int) -> list[float]:
    """Keep the log rows of steps ≤ ``step`` (a crash may have logged past the checkpoint)."""
    rows: list[list[str]] = []
    if step > 0 and path.is_file():
        with open(path, newline="", encoding="utf-8") as fh:
            rows = [r for r in csv.reader(fh) if r and r[0] != "step" and int(r[0]) <= step]
    lines = [",".join(LOG_FIELDS)] + [",".join(r) for r in rows]
    atomic_write_text(path, "\n".join(lines) + "\n")
    return [float(r[1]) for r in rows]
