"""Gate calibration: the quality gate's check values for the ideal output (the clean truth), validation part.

A threshold must pass the clean signal itself: for each held-out VALIDATION
excerpt this runs profile ``piano-ltas`` through the chain executor (cached
with the benchmark's work folders), then evaluates the gate with the denoised
input as the untouched signal, the LTAS-EQ result, and the clean render as if
it were the generative output. Prints a table and writes JSON.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python scripts/calibrate_gate.py --excerpts 6``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.engine.atomic import atomic_write_json
from shellac.engine.models.bundle import read_reference_ltas
from shellac.engine.quality import evaluate_gate
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.report import run_context
from shellac.lab.heldout.runner import ChainRun, prepare_excerpts, run_chain


def _mono(path: Path, n: int) -> np.ndarray:
    data, _ = sf.read(path, dtype="float64", always_2d=True)
    return data.mean(axis=1)[:n]


def main(argv: list[str] | None = None) -> int:
    """Compute and write the calibration; 0 on success."""
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--excerpts", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--models-dir", type=Path, default=Path("models"))
    p.add_argument("--model", default="piano")
    p.add_argument("--cache", type=Path, default=Path("output/bench-heldout"))
    p.add_argument("--out", type=Path, default=Path("docs/benchmarks/gate-calibration.json"))
    args = p.parse_args(argv)
    given = sys.argv[1:] if argv is None else argv
    context = run_context("python scripts/calibrate_gate.py " + shlex.join(given))
    part = load_heldout("validation")
    excerpts = prepare_excerpts(part, args.excerpts, 5.5, 22050, args.seed, args.cache, log=lambda s: None)
    reference = read_reference_ltas(args.models_dir / args.model)
    run = ChainRun("piano-ltas")
    rows = []
    for e in excerpts:
        run_chain(e, run, args.models_dir.resolve())
        work = e.master.parent / run.key()
        n = e.clean.size
        untouched = _mono(work / "01-denoise" / "audio.wav", n)
        ltas_eq = _mono(work / "02-ltas_eq" / "audio.wav", n)
        ideal = evaluate_gate(untouched, ltas_eq, e.clean, e.sample_rate, reference=reference)
        same = evaluate_gate(untouched, ltas_eq, ltas_eq, e.sample_rate, reference=reference)
        rows.append({"excerpt": e.name, "ideal": {c.name: c.value for c in ideal.checks},
                     "ideal_decision": ideal.decision,
                     "ltas_eq_itself": {c.name: c.value for c in same.checks},
                     "high_cutoff_hz": ideal.high_cutoff_hz, "low_cutoff_hz": ideal.low_cutoff_hz,
                     "chain_lowpass_hz": e.params.lowpass_hz, "chain_highpass_hz": e.params.highpass_hz})
        print(e.name, rows[-1]["ideal_decision"], {k: None if v is None else round(v, 2)
                                                   for k, v in rows[-1]["ideal"].items()},
              "cut-offs", ideal.low_cutoff_hz, ideal.high_cutoff_hz, "chain", e.params.highpass_hz,
              e.params.lowpass_hz, flush=True)
    names = list(rows[0]["ideal"])
    maxima = {k: max((r["ideal"][k] for r in rows if r["ideal"][k] is not None), default=None) for k in names}
    atomic_write_json(args.out, {"context": context, "excerpts": rows, "ideal_max": maxima})
    print("max over excerpts (clean truth as the output):", maxima)
    return 0


if __name__ == "__main__":
    sys.exit(main())
