"""Experiment record (session 23, after rule 4): a swell measure tried on seen sets, for a future rule.

Not shipped code. Own end rise: where the EQ step's output is flat (its 40 ms window levels within FLAT dB)
and quiet (30 dB below its whole level) over the last END s, the generative output's level over the last
80 ms less its level from END to END/2 s before the end; otherwise the excerpt is not scored. Prints it
per excerpt for a shipped and a candidate cache.

Usage: python swell_measure_check.py SHIPPED_CACHE VARIANT_CACHE END FLAT
"""
import re
import sys
from pathlib import Path

import numpy as np
import soundfile as sf


def db(x: np.ndarray) -> float:
    """Mean power in dB."""
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def own_end_rise(run: Path, end_s: float, flat_db: float) -> float | None:
    """The measure for one run folder, or None where the EQ step's end is not flat and quiet."""
    gen, sr = sf.read(run / "03-generative_eq" / "audio.wav", always_2d=True)
    eq, _ = sf.read(run / "02-ltas_eq" / "audio.wav", always_2d=True)
    w, end = int(0.04 * sr), int(end_s * sr)
    levels = [db(eq[i:i + w]) for i in range(len(eq) - end, len(eq) - w + 1, w)]
    if max(levels) - min(levels) > flat_db or max(levels) > db(eq) - 30.0:
        return None
    return db(gen[-int(0.08 * sr):]) - db(gen[-end:-end // 2])


def main() -> None:
    """Print the table."""
    shipped, variant = (Path(c) / "excerpts" for c in sys.argv[1:3])
    end_s, flat_db = float(sys.argv[3]), float(sys.argv[4])
    for folder in sorted(shipped.iterdir()):
        runs = []
        for root in (shipped, variant):
            here = root / folder.name
            found = ([r for r in here.iterdir() if re.fullmatch(r"voice-[0-9a-f]{10}", r.name)]
                     if here.is_dir() else [])
            runs.append(found[0] if found else None)
        if None in runs:
            continue
        a, b = (own_end_rise(r, end_s, flat_db) for r in runs)
        show = ("not scored (EQ step's end not flat and quiet)" if a is None
                else f"shipped {a:+.1f} dB, candidate {b:+.1f} dB")
        print(f"{folder.name[:44]:44s} {show}")


if __name__ == "__main__":
    main()
