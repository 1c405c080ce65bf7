"""Judge the chain EQ against doing nothing and against LTAS-EQ on seeded degraded piano excerpts.

Excerpts are rendered from music21 works of a composer left out of the reference
LTAS (haydn; never one of catalogs/heldout.toml) with the training soundfonts,
degraded by seeded random 78 rpm chains (shellac.lab.degradation), and
restored by: nothing (the input), LTAS-EQ with the old single-soundfont reference
(today's behaviour), LTAS-EQ with the new reference, and the chain EQ with the new
reference. Prints per excerpt: LSD vs clean, third-octave LTAS error vs clean over
the pass band, energy above the high cut-off and below the low cut-off vs clean
(dB of the share of energy, 0 ideal), and the blind chain fit's error against the
true chain response. Saves LTAS plots per excerpt with --plots.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python scripts/eval_chain_eq.py --new-reference /tmp/piano-ltas.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import build_reference_ltas as brl  # noqa: E402
import make_demo  # noqa: E402
import make_training_data as mtd  # noqa: E402

from shellac.engine.dsp.chain_eq import chain_equalize  # noqa: E402
from shellac.engine.dsp.ltas import Ltas, compute_ltas, ltas_equalize, third_octave_smooth  # noqa: E402
from shellac.lab.degradation.historical import degrade  # noqa: E402
from shellac.lab.degradation.params import random_params  # noqa: E402
from shellac.lab.evaluation.metrics import (  # noqa: E402
    filter_error_db,
    interp_log_freq,
    log_grid,
    lsd,
    pass_band,
)

REPO = Path(__file__).resolve().parents[1]
SR = 22050
N_FFT = 2048
OLD_REFERENCE = "git:c248e51:models/piano/ltas.json"
VARIANTS = ("input", "ltas-eq old ref", "ltas-eq new ref", "chain-eq new ref")


def load_ltas(spec: str) -> Ltas:
    """An LTAS JSON from a path or from ``git:<commit>:<path>`` in this repository."""
    if spec.startswith("git:"):
        _, commit, path = spec.split(":", 2)
        text = subprocess.run(["git", "show", f"{commit}:{path}"], cwd=REPO, check=True, capture_output=True,
                              text=True).stdout
    else:
        text = Path(spec).read_text(encoding="utf-8")
    return Ltas.from_json_dict(json.loads(text))


def smoothed_db(x: np.ndarray) -> np.ndarray:
    """Third-octave smoothed LTAS (unit std) in dB on the N_FFT bins."""
    return 10.0 * np.log10(third_octave_smooth(compute_ltas(x, SR, N_FFT).power, SR, N_FFT) + 1e-12)


def band_share_db(x: np.ndarray, lo_hz: float, hi_hz: float) -> float:
    """Share of the energy between ``lo_hz`` and ``hi_hz``, dB."""
    spec = np.abs(np.fft.rfft(x)) ** 2
    f = np.fft.rfftfreq(x.size, 1.0 / SR)
    return float(10.0 * np.log10(spec[(f >= lo_hz) & (f < hi_hz)].sum() / spec.sum() + 1e-20))


def scores(clean: np.ndarray, est: np.ndarray, chain: Any, true_db: np.ndarray, grid: np.ndarray
           ) -> dict[str, float]:
    """LSD, pass-band LTAS error and the energy shares above/below the cut-offs vs clean."""
    band = pass_band(grid, true_db, SR / 2)
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / SR)
    d = interp_log_freq(grid, freqs, smoothed_db(est) - smoothed_db(clean))[band]
    return {
        "lsd": lsd(clean, est),
        "ltas_err": float(np.sqrt(np.mean((d - d.mean()) ** 2))),
        "above_hi": (band_share_db(est, chain.lowpass_hz, SR / 2)
                     - band_share_db(clean, chain.lowpass_hz, SR / 2)),
        "below_lo": (band_share_db(est, 20.0, chain.highpass_hz)
                     - band_share_db(clean, 20.0, chain.highpass_hz)),
    }


def plot(path: Path, title: str, curves: dict[str, np.ndarray], chain: Any) -> None:
    """Third-octave LTAS of clean and each variant (unit std), dB over log frequency."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    freqs = np.fft.rfftfreq(N_FFT, 1.0 / SR)
    fig, ax = plt.subplots(figsize=(9, 5))
    for name, db in curves.items():
        ax.semilogx(freqs[1:], db[1:], label=name, lw=2.2 if name == "clean" else 1.2,
                    color="k" if name == "clean" else None)
    for f in (chain.highpass_hz, chain.lowpass_hz):
        ax.axvline(f, color="grey", ls=":", lw=1)
    ax.set(xlim=(30, SR / 2), ylim=(-110, 0), xlabel="Hz", ylabel="dB (unit-std LTAS, 1/3 oct)",
           title=title)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--new-reference", required=True, help="LTAS JSON (or git:<commit>:<path>)")
    parser.add_argument("--old-reference", default=OLD_REFERENCE, help="today's reference LTAS")
    parser.add_argument("--excerpts", type=int, default=6)
    parser.add_argument("--soundfont", type=Path, action="append", default=None,
                        help="soundfont or piano sample folder, repeatable, taken in turn per excerpt "
                             f"(default: {', '.join(brl.SOUNDFONTS)})")
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--seed", type=int, default=2015)
    parser.add_argument("--composer", default="haydn")
    parser.add_argument("--plots", type=Path, default=None, help="folder for LTAS plots (PNG)")
    parser.add_argument("--cache", type=Path, default=None,
                        help="folder keeping the rendered clean excerpts between runs")
    args = parser.parse_args(argv)
    fonts = [Path(p) for p in (args.soundfont or brl.SOUNDFONTS)]
    brl.check_not_heldout("piano", fonts, [args.composer])
    old_ref, new_ref = load_ltas(args.old_reference), load_ltas(args.new_reference)
    pool = brl.piano_pool([args.composer])
    grid = log_grid(SR / 2)
    rows: list[dict[str, Any]] = []
    cache: dict[str, Any] = {}
    if args.plots:
        args.plots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="shellac-eval-eq-") as tmp:
        for i in range(args.excerpts):
            font = fonts[i % len(fonts)]
            rng = np.random.default_rng([args.seed, i])
            cached = (args.cache / f"{args.composer}-{args.seed}-{i}-{args.seconds:g}s-{font.name}.npz"
                      if args.cache else None)
            if cached is not None and cached.is_file():
                with np.load(cached, allow_pickle=False) as saved:
                    clean, meta = saved["clean"], json.loads(str(saved["meta"]))
            else:
                # Dry and unpedalled, as these excerpts were first rendered (before render_piano had rooms).
                clean, meta = mtd.render_piano(rng, pool, [make_demo.find_tools(font)], SR, args.seconds,
                                               cache, Path(tmp), room_fraction=0.0, pedal_fraction=0.0)
                if cached is not None:
                    args.cache.mkdir(parents=True, exist_ok=True)
                    np.savez(cached, clean=clean, meta=json.dumps(meta))
            # The chain and its noise come from their own stream, so cached renders give the same draws.
            rng = np.random.default_rng([args.seed, i, 1])
            chain = random_params(rng)
            degraded = degrade(clean, SR, chain, rng)
            true_db = interp_log_freq(grid, degraded.response.freqs_hz, degraded.response.gain_db)
            y = degraded.audio
            outputs = {
                "input": y,
                "ltas-eq old ref": ltas_equalize(y, SR, old_ref, n_fft=N_FFT)[0],
                "ltas-eq new ref": ltas_equalize(y, SR, new_ref, n_fft=N_FFT)[0],
            }
            equalised, _, eq = chain_equalize(y, SR, new_ref, n_fft=N_FFT)
            outputs["chain-eq new ref"] = equalised
            fit_err = filter_error_db(grid, eq.fit.response.response_db(grid), true_db, SR / 2)
            name = f"{i}: {font.stem} {Path(meta['score']).parent.name}/{Path(meta['score']).name}"
            print(f"\nexcerpt {name} transpose {meta['transpose']:+d}; chain hp {chain.highpass_hz:.0f} Hz "
                  f"lp {chain.lowpass_hz:.0f} Hz hiss SNR {chain.hiss_snr_db:.1f} dB; blind chain fit "
                  f"error {fit_err:.2f} dB (fit hp {eq.fit.response.highpass_hz:.0f}, "
                  f"lp {eq.fit.response.lowpass_hz:.0f})")
            print(f"  {'variant':18s} {'LSD':>6s} {'LTAS err':>9s} {'above hi':>9s} {'below lo':>9s}")
            for variant, out in outputs.items():
                s = scores(clean, np.asarray(out, dtype=np.float64), chain, true_db, grid)
                rows.append({"excerpt": i, "variant": variant, **s})
                print(f"  {variant:18s} {s['lsd']:6.2f} {s['ltas_err']:9.2f} {s['above_hi']:+9.2f} "
                      f"{s['below_lo']:+9.2f}")
            if args.plots:
                curves = {"clean": smoothed_db(clean), **{k: smoothed_db(np.asarray(v, dtype=np.float64))
                                                         for k, v in outputs.items()}}
                plot(args.plots / f"excerpt-{i}.png", name, curves, chain)
    print(f"\nmeans over {args.excerpts} excerpts")
    print(f"  {'variant':18s} {'LSD':>6s} {'LTAS err':>9s} {'|above hi|':>10s} {'|below lo|':>10s}")
    for variant in VARIANTS:
        sel = [r for r in rows if r["variant"] == variant]
        print(f"  {variant:18s} {np.mean([r['lsd'] for r in sel]):6.2f} "
              f"{np.mean([r['ltas_err'] for r in sel]):9.2f} "
              f"{np.mean([abs(r['above_hi']) for r in sel]):10.2f} "
              f"{np.mean([abs(r['below_lo']) for r in sel]):10.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
