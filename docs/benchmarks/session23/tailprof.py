"""Experiment record (session 23): the level profile of a voice excerpt's end, to see what a tail measure saw.

Not shipped code. For each excerpt NAME prefix and each of two caches (shipped, variant), prints the
generative output's and the EQ step's level (dB, 20 ms windows ending 300, 200, 120, 80, 40 and 0 ms
before the end) and the three quietest 50 ms windows of the EQ step's output anywhere but the last
100 ms (EQ / generative level).

Usage: python tailprof.py SHIPPED_CACHE VARIANT_CACHE NAME [NAME ...]
"""
import re
import sys
from pathlib import Path

import numpy as np
import soundfile as sf


def run_folder(cache: str, name: str, profile: str = "voice") -> Path:
    """The profile's run folder of the excerpt whose folder starts with ``name``."""
    folder = next(d for d in (Path(cache) / "excerpts").iterdir() if d.name.startswith(name))
    return next(r for r in folder.iterdir() if re.fullmatch(rf"{profile}-[0-9a-f]{{10}}", r.name))


def db(x: np.ndarray) -> float:
    """Mean power in dB."""
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def main() -> None:
    """Print the profiles."""
    for name in sys.argv[3:]:
        for cache in sys.argv[1:3]:
            run = run_folder(cache, name)
            g, sr = sf.read(run / "03-generative_eq" / "audio.wav")
            e, _ = sf.read(run / "02-ltas_eq" / "audio.wav")
            g = g if g.ndim == 1 else g.mean(1)
            e = e if e.ndim == 1 else e.mean(1)
            w, n = int(0.02 * sr), len(g)
            ends = [n - k * w for k in (15, 10, 6, 4, 2, 1)]
            print(name[:20], cache[-4:], "gen", " ".join(f"{db(g[i - w:i]):.1f}" for i in ends),
                  "| eq", " ".join(f"{db(e[i - w:i]):.1f}" for i in ends))
            big = int(0.05 * sr)
            quiet = sorted((db(e[i:i + big]), db(g[i:i + big])) for i in range(0, n - 2 * big, big))[:3]
            print("   quietest body windows eq/gen:", " ".join(f"{a:.1f}/{b:.1f}" for a, b in quiet))


if __name__ == "__main__":
    main()
