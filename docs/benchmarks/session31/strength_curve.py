"""Experiment record (session 31): the voice EQ step's LTAS error at other strengths, from its curves alone.

Not shipped code, no sampling. The `voice` profile applies half its chain EQ in dB (`strength` 0.5). In the
third-octave LTAS domain the EQ step at strength s is about the denoised input plus s/0.5 times what the
shipped EQ step added to it, so the LTAS error (`ltas_curve_error_db`, the measure of `ltas_error_db`)
can be read for any s from the shipped run's `01-denoise` and `02-ltas_eq` outputs. The generative step
keeps its EQ step's balance (the balance pass), so this predicts where the access copy's LTAS error would
go, roughly.
Prints the mean LTAS error and the excerpts won against the untouched input per strength.

Usage (PYTHONPATH=.): python strength_curve.py FIRST:END:CACHE [...]
"""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.lab.evaluation.spectral_balance import ltas_curve_error_db, smoothed_ltas_db
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import ChainRun, HeldoutExcerpt, catalog_run, prepare_excerpts

STRENGTHS = (0.0, 0.125, 0.25, 0.375, 0.5, 0.75, 1.0)
SHIPPED = 0.5


def mono(path: Path) -> np.ndarray:
    x = sf.read(path, dtype="float64")[0]
    return x.mean(axis=1) if x.ndim > 1 else x


def main() -> None:
    sr = 22050
    errors, inputs = [], []
    for item in sys.argv[1:]:
        first, end, cache = item.split(":", 2)
        for e in prepare_excerpts(load_heldout("validation", kind="voice"), int(end), 5.5, sr, 0,
                                  Path(cache), first=int(first), log=lambda s: None):
            run = e.master.parent / catalog_run(ChainRun("voice"), e.voice).key()
            n = e.clean.size
            clean = smoothed_ltas_db(e.clean, sr)
            den = smoothed_ltas_db(mono(next(run.glob("0*-denoise")) / "audio.wav")[:n], sr)
            eq = smoothed_ltas_db(mono(next(run.glob("0*-ltas_eq")) / "audio.wav")[:n], sr)

            def error(curve: np.ndarray, clean: np.ndarray = clean, e: HeldoutExcerpt = e) -> float:
                return ltas_curve_error_db(clean, curve, sr, e.response_freqs_hz, e.response_db)

            errors.append([error(den + s / SHIPPED * (eq - den)) for s in STRENGTHS])
            inputs.append(error(smoothed_ltas_db(e.degraded[:n], sr)))
    m, i = np.array(errors), np.array(inputs)
    print(f"{m.shape[0]} excerpts; untouched input: mean LTAS error {i.mean():.3f}")
    for k, s in enumerate(STRENGTHS):
        print(f"strength {s:5.3f}: EQ step mean LTAS error {m[:, k].mean():.3f}, "
              f"beats the input on {int(np.sum(m[:, k] < i))} of {m.shape[0]}")


if __name__ == "__main__":
    main()
