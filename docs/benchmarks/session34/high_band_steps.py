"""Experiment record (session 34): where the second voice rule's band above the cut-off moved, step by step.

Not shipped code. Reads the denoise and EQ-step outputs the rule's runs left in their caches (shipped: VS,
candidate `minimum` + 6 dB/oct: VC2) and prints, over the 24 excerpts 370-393, the mean energy above the
chain's high cut-off and in the octave below it, each vs clean (bench-heldout's `high_band_db` and
`top_octave_db`), after the denoise and after the EQ step; the generative outputs' are in the reports.

Usage (PYTHONPATH=.): python high_band_steps.py VS VC2
"""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.lab.evaluation.spectral_balance import band_energy_db
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import ChainRun, catalog_run, prepare_excerpts

SR = 22050
CANDIDATE = {"denoise": {"noise_profile": "minimum", "noise_floor_slope_db": 6}}  # as --set gave it


def main() -> None:
    runs = {"shipped": (Path(sys.argv[1]), ChainRun("voice")),
            "minimum + 6 dB/oct": (Path(sys.argv[2]), ChainRun("voice", CANDIDATE))}
    for label, (cache, run) in runs.items():
        rows = []
        for e in prepare_excerpts(load_heldout("validation", kind="voice"), 394, 5.5, SR, 0, cache, first=370,
                                  log=lambda s: None):
            work = e.master.parent / catalog_run(run, e.voice).key()
            row = []
            for step in ("01-denoise", "02-ltas_eq"):
                audio = sf.read(work / step / "audio.wav", dtype="float64")[0]
                y = (audio.mean(axis=1) if audio.ndim > 1 else audio)[: e.clean.size]
                cut = e.params.lowpass_hz
                row += [band_energy_db(e.clean, y, SR, cut, SR / 2),
                        band_energy_db(e.clean, y, SR, cut / 2, cut)]
            rows.append(row)
        m = np.mean(rows, axis=0)
        print(f"{label:20s} denoise: above the cut {m[0]:+.2f}, octave below {m[1]:+.2f} | "
              f"EQ step: above {m[2]:+.2f}, octave below {m[3]:+.2f}")


if __name__ == "__main__":
    main()
