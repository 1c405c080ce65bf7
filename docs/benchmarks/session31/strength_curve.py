"""Experiment record (session 31): the voice EQ step's LTAS error at other strengths, from its curves alone.

Not shipped code, no sampling. The `voice` profile applies half its chain EQ in dB (`strength` 0.5). In the
third-octave LTAS domain the EQ step at strength s is about the denoised input plus s/0.5 times what the
shipped EQ step added to it, so the LTAS error (`ltas_error_db`'s curve, pass band, mean removed) can be read
for any s from the shipped run's `01-denoise` and `02-ltas_eq` outputs. The generative step keeps its EQ
step's balance (the balance pass), so this predicts where the access copy's LTAS error would go, roughly.
Prints the mean LTAS error and the excerpts won against the untouched input per strength.

Usage (PYTHONPATH=.): python strength_curve.py FIRST:END:CACHE [...]
"""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.lab.evaluation.spectral_balance import (
    BALANCE_N_FFT,
    interp_log_freq,
    log_grid,
    pass_band,
    smoothed_ltas_db,
)
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import ChainRun, catalog_run, prepare_excerpts

STRENGTHS = (0.0, 0.125, 0.25, 0.375, 0.5, 0.75, 1.0)
SHIPPED = 0.5


def mono(path: Path) -> np.ndarray:
    x = sf.read(path, dtype="float64")[0]
    return x.mean(axis=1) if x.ndim > 1 else x


def error(curve: np.ndarray, clean: np.ndarray, band: np.ndarray, grid: np.ndarray,
          freqs: np.ndarray) -> float:
    """RMS over the pass band of the LTAS difference from clean, mean removed (as ltas_error_db)."""
    d = interp_log_freq(grid, freqs, curve - clean)[band]
    return float(np.sqrt(np.mean((d - d.mean()) ** 2)))


def main() -> None:
    sr = 22050
    grid, freqs = log_grid(sr / 2.0, 256), np.fft.rfftfreq(BALANCE_N_FFT, 1 / sr)
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
            band = pass_band(grid, interp_log_freq(grid, e.response_freqs_hz, e.response_db), sr / 2.0)

            errors.append([error(den + s / SHIPPED * (eq - den), clean, band, grid, freqs)
                           for s in STRENGTHS])
            inputs.append(error(smoothed_ltas_db(e.degraded[:n], sr), clean, band, grid, freqs))
    m, i = np.array(errors), np.array(inputs)
    print(f"{m.shape[0]} excerpts; untouched input: mean LTAS error {i.mean():.3f}")
    for k, s in enumerate(STRENGTHS):
        print(f"strength {s:5.3f}: EQ step mean LTAS error {m[:, k].mean():.3f}, "
              f"beats the input on {int(np.sum(m[:, k] < i))} of {m.shape[0]}")


if __name__ == "__main__":
    main()
