"""Per-octave diagnosis of piano priors on held-out renders: denoising error per σ and warm-restart level.

Reads clean renders (default: the held-out benchmark's MuseScore General renders, which no
model was trained on; `shellac bench-heldout` makes them), cuts one segment of each model's
length from each, scales it to the model's σ_data as restoration does, and writes a markdown
report with one table per model (shellac.lab.evaluation.prior_bands).

    OMP_NUM_THREADS=1 .venv/bin/python scripts/diagnose_prior.py --models models/piano \
        --out docs/benchmarks/prior-bands.md
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np
import torch

from shellac.engine.audio_io import read_audio
from shellac.engine.dsp.resample import resample
from shellac.engine.models.bundle import load_bundle
from shellac.engine.restoration.settings import BABE2_SAMPLER
from shellac.lab.evaluation.prior_bands import diagnose_prior, markdown_table
from shellac.lab.heldout.report import run_context

ROOT = Path(__file__).resolve().parents[1]


def clean_segments(renders: list[Path], sample_rate: int, length: int, sigma_data: float) -> torch.Tensor:
    """The first ``length`` samples of each render (mono, at ``sample_rate``), each scaled to std σ_data."""
    out = []
    for path in renders:
        audio, rate = read_audio(path)
        mono = resample(audio.mean(axis=0), rate, sample_rate)[:length]
        if mono.size < length:
            raise SystemExit(f"{path}: shorter than the model's segment ({mono.size} < {length} samples)")
        out.append(mono / max(float(mono.std()), 1e-12) * sigma_data)
    return torch.from_numpy(np.stack(out).astype(np.float32))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", required=True, help="comma-separated model bundle folders")
    parser.add_argument("--renders", default=str(ROOT / "output/bench-heldout/renders"),
                        help="folder of clean .wav renders (default: the held-out benchmark's)")
    parser.add_argument("--sigmas", default="0.5,0.1,0.02,0.005,0.001", help="noise levels (amplitude)")
    parser.add_argument("--steps", default="8,51", help="sampler steps of the warm restarts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="markdown report to write")
    args = parser.parse_args()
    torch.set_num_threads(1)
    renders = sorted(Path(args.renders).glob("*.wav"))
    if not renders:
        raise SystemExit(f"no .wav renders in {args.renders}; run `shellac bench-heldout` first")
    sampler = BABE2_SAMPLER
    context = run_context("python " + shlex.join(sys.argv))
    parts = [f"# Prior diagnosis per octave band\n\nCommand: `{context['command']}`  ",
             f"Date {context['date']}, commit {context['git_commit']}, torch threads 1, "
             f"`OMP_NUM_THREADS={context['omp_num_threads']}`, uptime at start: `{context['uptime']}`  ",
             f"Material: {len(renders)} renders from `{args.renders}`, one segment each, scaled to σ_data; "
             f"warm restarts from σ_start {sampler.sigma_start} to σ_min {sampler.sigma_min}, "
             f"ρ {sampler.rho}, seed {args.seed}.\n"]
    for model in args.models.split(","):
        bundle = load_bundle(Path(model))
        cfg = bundle.config
        clean = clean_segments(renders, cfg.sample_rate, cfg.segment_length, cfg.sigma_data)
        bands = diagnose_prior(bundle.denoiser("cpu"), clean, cfg.sample_rate,
                               sigmas=[float(s) for s in args.sigmas.split(",")],
                               steps=[int(n) for n in args.steps.split(",")],
                               sigma_start=sampler.sigma_start, sigma_min=sampler.sigma_min, rho=sampler.rho,
                               seed=args.seed, sigma_data=cfg.sigma_data)
        name = f"{bundle.card.name} (`{model}`, {cfg.sample_rate} Hz, {cfg.segment_length} samples)"
        parts.append(markdown_table(name, bands) + "\n")
        print(parts[-1])
    Path(args.out).write_text("\n".join(parts), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
