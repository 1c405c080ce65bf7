"""Plot a training run's loss curves (loss.csv, val_loss.csv) to a PNG.

Train loss is drawn as a running mean (per-step values swing with the random σ draw);
the validation losses (EMA and raw network, fixed held-out segments, σ levels and noise)
as points. ``--reference NAME=LOSS`` adds a horizontal line, e.g. the shipped model's
validation loss from scripts/validation_loss.py.

Run: ``.venv/bin/python scripts/plot_loss.py runs/piano-small --reference piano=0.80``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import numpy as np


def _read(path: Path) -> dict[str, np.ndarray]:
    with open(path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    if not rows:
        return {}
    return {k: np.array([float(r[k]) for r in rows]) for k in rows[0]}


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path, help="training run directory")
    parser.add_argument("--out", type=Path, help="PNG to write (default RUN_DIR/loss.png)")
    parser.add_argument("--window", type=int, default=200, help="train-loss running mean, steps")
    parser.add_argument("--reference", action="append", default=[], help="NAME=LOSS horizontal line")
    args = parser.parse_args(argv)

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    train = _read(args.run_dir / "loss.csv")
    val_path = args.run_dir / "val_loss.csv"
    val = _read(val_path) if val_path.is_file() else {}
    fig, ax = plt.subplots(figsize=(8, 4.5), dpi=110)
    if train:
        w = max(1, min(args.window, train["loss"].size))
        smooth = np.convolve(train["loss"], np.ones(w) / w, mode="valid")
        ax.plot(train["step"], train["loss"], color="0.85", lw=0.5, label="train loss (per step)")
        ax.plot(train["step"][w - 1 :], smooth, color="C0", lw=1.5, label=f"train loss ({w}-step mean)")
    if val:
        ax.plot(val["step"], val["val_loss_ema"], "o-", color="C3", ms=3, label="validation loss, EMA")
        ax.plot(val["step"], val["val_loss_net"], "s--", color="C1", ms=3, lw=0.8,
                label="validation loss, raw network")
    for i, ref in enumerate(args.reference):
        name, value = ref.split("=", 1)
        ax.axhline(float(value), color=f"C{4 + i}", ls=":", label=f"{name} (validation)")
    ax.set_xlabel("optimiser step")
    ax.set_ylabel("EDM loss (λ-weighted)")
    if train:
        top = float(np.percentile(train["loss"], 98))
        ax.set_ylim(0.0, max(top, *(val["val_loss_ema"] if val else [0.0])) * 1.05)
    ax.set_title(f"{args.run_dir.name}: train and held-out validation loss")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    out = args.out or args.run_dir / "loss.png"
    fig.tight_layout()
    fig.savefig(out)
    print(f"plot_loss: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
