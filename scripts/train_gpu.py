"""Continue training a model bundle on one GPU for a wall-clock budget (EDM loss, EMA, fixed validation)."""

from __future__ import annotations

import argparse
import copy
import csv
import json
import math
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from shellac.engine.diffusion.precond import EDMPrecond
from shellac.engine.diffusion.schedule import training_sigma
from shellac.engine.models.bundle import load_bundle
from shellac.lab.datasets import SegmentDataset
from shellac.lab.training.config import TrainConfig
from shellac.lab.training.ema import ema_beta
from shellac.lab.training.loop import prepare_batch
from shellac.lab.training.objective import edm_loss
from shellac.lab.training.spectral_weight import weights_for_data
from shellac.lab.training.validation import (
    VALIDATION_SEED,
    ValidationSet,
    make_validation_set,
    validation_loss,
    validation_sigmas,
)


def prepare(args: argparse.Namespace) -> None:
    """Write the run's spectral weights (full training set) and fixed validation segments as .npy."""
    config = TrainConfig.model_validate_json(args.run_config.read_text())
    args.out.mkdir(parents=True, exist_ok=True)
    spectrum = SegmentDataset(args.data, config.sample_rate, config.segment_length, seed=config.seed + 1,
                              silence_db=config.silence_db)
    w2 = weights_for_data(spectrum, config.spectral_weighting_db, config.segment_length)
    np.save(args.out / "spectral_w2.npy", w2.numpy())
    sigmas = validation_sigmas(config.validation_sigmas, config.sigma_min, config.sigma_max, config.rho_train)
    vset = make_validation_set(args.val_dir, config.sample_rate, config.segment_length,
                               segments=config.validation_segments, sigmas=sigmas,
                               normalization=config.normalization, silence_db=config.silence_db)
    np.save(args.out / "val_clean.npy", vset.clean.numpy())
    print(f"weights {tuple(w2.shape)}, validation {tuple(vset.clean.shape)} from {len(vset.files)} file(s)")


def fixed_validation(path: Path, config: TrainConfig) -> ValidationSet:
    """The validation set of :func:`make_validation_set`, from its saved clean segments (noise re-seeded)."""
    clean = torch.from_numpy(np.load(path))
    sigmas = validation_sigmas(config.validation_sigmas, config.sigma_min, config.sigma_max, config.rho_train)
    generator = torch.Generator().manual_seed(VALIDATION_SEED)
    noise = torch.randn((sigmas.numel(), *clean.shape), generator=generator, dtype=torch.float32)
    return ValidationSet(clean=clean, sigmas=sigmas, noise=noise, files=())


def load_init_weights(net: torch.nn.Module, path: Path, base: Path) -> None:
    """Load ``path`` (safetensors) into the base bundle's network; a missing or foreign file stops the run."""
    if not path.is_file():
        raise SystemExit(f"train_gpu: --init-weights {path} does not exist")
    try:
        net.load_state_dict(load_file(str(path)))
    except (RuntimeError, OSError) as exc:
        raise SystemExit(f"train_gpu: --init-weights {path} does not fit the network of {base}: "
                         f"{str(exc).splitlines()[0]}") from exc


def lr_at(step: int, frac: float, args: argparse.Namespace) -> float:
    """Peak lr after a linear warm-up; cosine decay to ``final_lr_frac`` over the budget's last part."""
    lr = args.lr * min(1.0, step / max(1, args.warmup))
    if frac > args.decay_start:
        t = min(1.0, (frac - args.decay_start) / (1.0 - args.decay_start))
        lr *= args.final_lr_frac + (1.0 - args.final_lr_frac) * 0.5 * (1.0 + math.cos(math.pi * t))
    return lr


def save_weights(net: torch.nn.Module, path: Path, dtype: torch.dtype = torch.float32) -> None:
    """Save a state dict as safetensors (the bundle's key layout), written to a temp name then renamed."""
    state = {k: v.detach().to("cpu", dtype).contiguous().clone() for k, v in net.state_dict().items()}
    tmp = path.with_suffix(".tmp")
    save_file(state, str(tmp), metadata={"family": "unet1d"})
    tmp.replace(path)


def train(args: argparse.Namespace) -> None:
    """The budgeted training loop; every file it writes goes to ``args.out``."""
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = True
    tf32 = args.tf32 and device.type == "cuda"
    torch.backends.cuda.matmul.allow_tf32 = tf32
    torch.backends.cudnn.allow_tf32 = tf32
    config = TrainConfig.model_validate_json(args.run_config.read_text())
    bundle = load_bundle(args.base)
    sd, seg = bundle.config.sigma_data, bundle.config.segment_length
    net = copy.deepcopy(bundle.network)
    if args.init_weights is not None:  # a singer fine-tune chained after its base's run on one machine
        load_init_weights(net, args.init_weights, args.base)
    net = net.to(device).train().requires_grad_(True)
    ema = copy.deepcopy(net).eval().requires_grad_(False)
    denoiser = EDMPrecond(net, sd)
    fused = device.type == "cuda"
    optimizer = torch.optim.Adam(net.parameters(), lr=args.lr, betas=config.adam_betas, fused=fused)
    dataset = SegmentDataset(args.data, bundle.config.sample_rate, seg, seed=args.seed,
                             silence_db=config.silence_db)
    weights = torch.from_numpy(np.load(args.weights)).to(device)
    vset = fixed_validation(args.val_npy, config) if args.val_npy else None
    gen = torch.Generator(device=device).manual_seed(args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    print(f"device {device} ({torch.cuda.get_device_name(device) if fused else 'cpu'}), "
          f"{len(dataset.files)} clips, {dataset.summary.duration_s / 60:.1f} min, batch {args.batch}, "
          f"lr {args.lr}, budget {args.budget_s} s, tf32 {tf32}, normalization {config.normalization}, "
          f"gain ±{config.gain_db} dB", flush=True)

    val_fh = open(args.out / "val_loss.csv", "w", newline="", encoding="utf-8")  # noqa: SIM115
    val_log = csv.writer(val_fh)
    if vset is not None:
        val_log.writerow(["step", "val_loss_ema", "val_loss_net", "train_loss_recent", "elapsed_s",
                          *(f"ema_sigma_{s:.4g}" for s in vset.sigmas.tolist())])
    log_fh = open(args.out / "loss.csv", "w", newline="", encoding="utf-8")  # noqa: SIM115
    log = csv.writer(log_fh)
    log.writerow(["step", "loss", "lr", "grad_norm", "ema_beta", "elapsed_s"])

    def validate(step: int, elapsed: float, train_loss: float) -> None:
        if vset is None:
            return
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
        e, per = validation_loss(ema, sd, vset, batch_size=16, device=device)
        n, _ = validation_loss(net, sd, vset, batch_size=16, device=device)
        torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = tf32
        val_log.writerow([step, f"{e:.6f}", f"{n:.6f}", f"{train_loss:.6f}", f"{elapsed:.1f}",
                          *(f"{v:.6g}" for v in per)])
        val_fh.flush()
        print(f"step {step}: val ema {e:.4f} net {n:.4f} train {train_loss:.4f} ({elapsed:.0f} s)",
              flush=True)

    if args.validate_every:
        validate(0, 0.0, float("nan"))
    ema_p, net_p = list(ema.parameters()), list(net.parameters())
    pending: list[tuple[int, torch.Tensor, float, torch.Tensor, float, float]] = []
    recent: list[float] = []

    def flush_losses() -> None:
        """Write the pending steps' losses (one device sync for all of them); stop on a non-finite one."""
        if not pending:
            return
        values = torch.stack([torch.stack([p[1], p[3]]) for p in pending]).tolist()
        for p, (lv, gv) in zip(pending, values, strict=True):
            if not math.isfinite(lv):
                raise SystemExit(f"loss became {lv} at step {p[0]}")
            log.writerow([p[0], f"{lv:.6f}", f"{p[2]:.4g}", f"{gv:.4g}", f"{p[4]:.6f}", f"{p[5]:.2f}"])
            recent.append(lv)
        log_fh.flush()
        pending.clear()
        del recent[:-200]
    t0 = time.perf_counter()
    last_save, step, elapsed = t0, 0, 0.0
    while elapsed < args.budget_s and (args.max_steps is None or step < args.max_steps):
        step += 1
        gain_u = dataset.uniform(args.batch) if config.gain_db > 0 else None
        x = prepare_batch(dataset.batch(args.batch), config, gain_u)
        x = (x.pin_memory() if fused else x).to(device, non_blocking=True)
        u = torch.rand(args.batch, generator=gen, device=device, dtype=torch.float64)
        sigma = training_sigma(u, config.sigma_min, config.sigma_max, config.rho_train).float()
        noise = torch.randn(x.shape, generator=gen, device=device, dtype=torch.float32)
        lr = lr_at(step, elapsed / args.budget_s, args)
        for group in optimizer.param_groups:
            group["lr"] = lr
        optimizer.zero_grad(set_to_none=True)
        loss = edm_loss(denoiser, x, sigma, noise, weights).mean()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(net_p, config.grad_clip or math.inf)
        optimizer.step()
        beta = ema_beta(step, args.ema_rate, args.ema_rampup)
        with torch.no_grad():
            torch._foreach_lerp_(ema_p, net_p, 1.0 - beta)
        elapsed = time.perf_counter() - t0
        pending.append((step, loss.detach(), lr, grad_norm.detach(), beta, elapsed))
        if len(pending) >= 50 or step % max(1, args.validate_every or 1) == 0:
            flush_losses()
        if args.validate_every and step % args.validate_every == 0:
            validate(step, elapsed, float(np.mean(recent)))
        if time.perf_counter() - last_save >= args.save_every_s:
            save_weights(ema, args.out / "ema.safetensors")
            last_save = time.perf_counter()
            print(f"step {step}: saved EMA ({elapsed:.0f} s, {step / elapsed:.2f} steps/s)", flush=True)
    flush_losses()
    train_s = time.perf_counter() - t0
    if args.validate_every and step % args.validate_every:
        validate(step, train_s, float(np.mean(recent[-200:])))
    save_weights(ema, args.out / "ema.safetensors")
    save_weights(net, args.out / "net_fp16.safetensors", torch.float16)
    summary = {"steps": step, "batch": args.batch, "lr": args.lr, "warmup": args.warmup,
               "train_s": round(train_s, 1), "steps_per_s": round(step / train_s, 3),
               "clips": len(dataset.files), "minutes": round(dataset.summary.duration_s / 60, 2),
               "device": torch.cuda.get_device_name(device) if fused else "cpu", "tf32": tf32,
               "ema_rate": args.ema_rate, "ema_rampup": args.ema_rampup, "final_ema_beta": beta,
               "decay_start": args.decay_start, "final_lr_frac": args.final_lr_frac, "seed": args.seed,
               "max_memory_gb": round(torch.cuda.max_memory_allocated(device) / 1e9, 2) if fused else None}
    (args.out / "summary.json").write_text(json.dumps(summary, indent=1) + "\n")
    log_fh.close()
    val_fh.close()
    print(json.dumps(summary), flush=True)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point: ``prepare`` (here, on the full data) or ``train`` (on the GPU)."""
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("prepare", help="spectral weights and validation segments as .npy")
    p.add_argument("--data", type=Path, required=True)
    p.add_argument("--val-dir", type=Path, required=True)
    p.add_argument("--run-config", type=Path, required=True, help="train_config.json of the base run")
    p.add_argument("--out", type=Path, required=True)
    t = sub.add_parser("train", help="budgeted training from a bundle's EMA weights")
    t.add_argument("--base", type=Path, required=True, help="bundle to start from (net and EMA)")
    t.add_argument("--init-weights", type=Path,
                   help="safetensors to start from instead of the base's weights (the base: the network)")
    t.add_argument("--data", type=Path, required=True)
    t.add_argument("--run-config", type=Path, required=True, help="train_config.json of the base run")
    t.add_argument("--weights", type=Path, required=True, help="spectral_w2.npy from prepare")
    t.add_argument("--val-npy", type=Path, help="val_clean.npy from prepare")
    t.add_argument("--out", type=Path, required=True)
    t.add_argument("--device", default="cuda")
    t.add_argument("--batch", type=int, default=32)
    t.add_argument("--lr", type=float, default=2e-4)
    t.add_argument("--warmup", type=int, default=200)
    t.add_argument("--decay-start", type=float, default=0.6, help="budget fraction where lr decay starts")
    t.add_argument("--final-lr-frac", type=float, default=0.1)
    t.add_argument("--ema-rate", type=float, default=0.9999)
    t.add_argument("--ema-rampup", type=float, default=0.05, help="EMA half-life ≤ this × steps")
    t.add_argument("--budget-s", type=float, default=400.0)
    t.add_argument("--max-steps", type=int)
    t.add_argument("--validate-every", type=int, default=500, help="0: no validation")
    t.add_argument("--save-every-s", type=float, default=100.0)
    t.add_argument("--seed", type=int, default=1)
    t.add_argument("--no-tf32", dest="tf32", action="store_false")
    args = parser.parse_args(argv)
    prepare(args) if args.command == "prepare" else train(args)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
