"""How much of the chain EQ's error is the reference LTAS: excerpts equalised against several references.

On the held-out ``--part`` (validation by default) rendered with its soundfont (or
``--soundfont``), every degraded excerpt is chain-equalised (no denoising) against:
the reference LTAS given by ``--reference`` (a path or ``git:<commit>:<path>``), the
excerpt's own clean LTAS (the oracle: what a perfect reference would give), the
same notes rendered with each ``--same-notes`` soundfont (the piece's register right,
the instrument wrong), and with ``--sources`` each source of a reference built by
scripts/build_reference_ltas.py alone, plus the source whose chain fit has the smallest
misfit (can the fit tell which piano it hears?). Prints LSD, third-octave LTAS error and
energy above the high cut-off vs clean per excerpt and as means, with the untouched input
beside them.

Run: ``OMP_NUM_THREADS=1 .venv/bin/python scripts/diagnose_reference.py --reference
git:ea6f5b7:models/piano/ltas.json --same-notes FluidR3_GM.sf2 --same-notes TimGM6mb.sf2``.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from eval_chain_eq import load_ltas  # noqa: E402

from shellac.engine.dsp.chain_eq import chain_equalize  # noqa: E402
from shellac.engine.dsp.ltas import Ltas, compute_ltas  # noqa: E402
from shellac.lab.heldout.material import find_soundfont, load_heldout  # noqa: E402
from shellac.lab.heldout.runner import prepare_excerpts, score  # noqa: E402

N_FFT = 2048
MEASURES = ("lsd_db", "ltas_err_db", "high_band_db")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default="models/piano/ltas.json",
                        help="LTAS JSON or git:<commit>:<path>")
    parser.add_argument("--part", default="validation", choices=("validation", "benchmark"))
    parser.add_argument("--soundfont", type=Path, help="render the part with this soundfont instead")
    parser.add_argument("--same-notes", type=Path, action="append", default=[],
                        help="soundfont whose render of the same notes is tried as reference (repeatable)")
    parser.add_argument("--sources", type=Path,
                        help="build_reference_ltas.py --out JSON: try each of its 'sources' as the reference")
    parser.add_argument("--excerpts", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=5.5)
    parser.add_argument("--sample-rate", type=int, default=22050)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cache", type=Path, default=Path("output/bench-heldout"))
    args = parser.parse_args(argv)

    def excerpts(font: Path | None) -> list:  # type: ignore[type-arg]
        part = load_heldout(args.part)
        if font is not None:
            part = replace(part, soundfont=find_soundfont(font))
        return prepare_excerpts(part, args.excerpts, args.seconds, args.sample_rate, args.seed, args.cache,
                                log=lambda _: None)

    shown = excerpts(args.soundfont)
    others = {font.name: excerpts(font) for font in args.same_notes}
    given = load_ltas(args.reference)
    sources = {}
    if args.sources is not None:
        built = json.loads(args.sources.read_text(encoding="utf-8"))
        if "sources" not in built:
            sys.exit(f"diagnose_reference: {args.sources} has no 'sources' (write it with "
                     "scripts/build_reference_ltas.py --out)")
        sources = {f"source {name}": Ltas(built["sample_rate"], built["n_fft"], np.asarray(power))
                   for name, power in built["sources"].items()}
    rows: dict[str, list[list[float]]] = {}
    for i, ex in enumerate(shown):
        sr = ex.sample_rate
        refs: dict[str, Ltas] = {"reference": given,
                                 "oracle (own clean LTAS)": compute_ltas(ex.clean, sr, N_FFT)}
        for name, other in others.items():
            refs[f"same notes, {name}"] = compute_ltas(other[i].clean, sr, N_FFT)
        refs.update(sources)
        scores = {"input (untouched)": score(ex, ex.degraded)}
        misfit = {}
        for label, ref in refs.items():
            equalized, _, design = chain_equalize(ex.degraded, sr, ref, n_fft=N_FFT)
            scores[label] = score(ex, equalized)
            misfit[label] = design.fit.rms_db if design.fit is not None else float("inf")
        if sources:
            chosen = min(sources, key=lambda label: misfit[label])
            scores["source with the least chain-fit misfit"] = scores[chosen]
            print(f"{ex.name}: chain-fit misfit " + "; ".join(f"{k} {misfit[k]:.2f}" for k in sources)
                  + f" -> {chosen}", flush=True)
        errors = "; ".join(f"{k} {v['ltas_err_db']:.2f}" for k, v in scores.items())
        print(f"{ex.name}: LTAS error {errors}", flush=True)
        for label, s in scores.items():
            rows.setdefault(label, []).append([s[m] for m in MEASURES])
    print(f"means over {len(shown)} excerpts (LSD / LTAS error / energy above the high cut vs clean, dB):")
    for label, values in rows.items():
        lsd_db, ltas_db, high_db = np.mean(values, axis=0)
        print(f"  {label:32s} {lsd_db:6.2f} {ltas_db:6.2f} {high_db:+7.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
