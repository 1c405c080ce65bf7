"""Experiment record (session 31): the voice step's output against clean in the observation's noise-only bins.

Not shipped code. For each sung excerpt of the given spent validation caches (shipped `voice` runs): the
per-bin noise floor and mean power of the stage's input Y (the EQ step's output) as the consistency step
reads them (consistency._statistics), the bins where Y is not 3 dB above its floor, and there, per octave,
10·log10 of the generative output's mean power over the clean render's (both levelled on Y's signal bins).
Split by where those bins lie: below the lowest signal bin ("under") or above the highest ("over").
If the excess under the signal is about the same excerpt to excerpt, a correction measured this way could
be divided out where it arises; if it scatters, it cannot.

Usage (PYTHONPATH=.): python stopband_excess.py FIRST:END:CACHE [...]
"""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.engine.restoration import consistency as c
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import ChainRun, catalog_run, prepare_excerpts

EDGES = [62.5, 125, 250, 500, 1000, 2000, 4000, 8000, 11025]


def mono(path: Path) -> np.ndarray:
    x = sf.read(path, dtype="float64")[0]
    return x.mean(axis=1) if x.ndim > 1 else x


def main() -> None:
    freqs = np.fft.rfftfreq(c.N_FFT, 1 / 22050)
    rows: dict[str, list[list[float]]] = {}
    for item in sys.argv[1:]:
        first, end, cache = item.split(":", 2)
        for e in prepare_excerpts(load_heldout("validation", kind="voice"), int(end), 5.5, 22050, 0,
                                  Path(cache), first=int(first), log=lambda s: None):
            run = e.master.parent / catalog_run(ChainRun("voice"), e.voice).key()
            y = mono(next(run.glob("0*-ltas_eq")) / "audio.wav")
            out = mono(next(run.glob("0*-generative_eq")) / "audio.wav")
            n = min(y.size, out.size, e.clean.size)
            s = c._statistics(y[:n], out[:n])
            clean = c._statistics(y[:n], e.clean[:n]).generated_power
            signal = c._above_noise(s)
            idx = np.flatnonzero(signal & (freqs > 100))
            lo, hi = freqs[idx[0]], freqs[idx[-1]]
            level = s.generated_power[signal].sum() / clean[signal].sum()
            excess = []
            for a, b in zip(EDGES[:-1], EDGES[1:], strict=True):
                sel = (~signal) & (freqs >= a) & (freqs < b)
                excess.append(float(10 * np.log10(s.generated_power[sel].sum() / level / clean[sel].sum()))
                              if sel.sum() >= 3 else float("nan"))
            rows.setdefault(e.voice, []).append(excess)
            print(f"{e.name[:34]:34s} signal {lo:5.0f}-{hi:5.0f} Hz  " +
                  " ".join(f"{v:+6.1f}" if np.isfinite(v) else "     ." for v in excess))
    print("octaves (Hz): " + " ".join(f"{a:g}-{b:g}" for a, b in zip(EDGES[:-1], EDGES[1:], strict=True)))
    for voice, r in rows.items():
        m = np.array(r)
        mean, sd = np.nanmean(m, axis=0), np.nanstd(m, axis=0)
        count = np.sum(np.isfinite(m), axis=0)
        print(f"{voice:8s} mean " + " ".join(f"{v:+6.1f}" for v in mean))
        print(f"{voice:8s} sd   " + " ".join(f"{v:6.1f}" for v in sd) + "   n " + " ".join(map(str, count)))


if __name__ == "__main__":
    main()
