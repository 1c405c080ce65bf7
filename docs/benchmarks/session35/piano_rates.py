"""Experiment record (session 35): a piano validation report's access-copy rates, and the gate's pass-band
deviation against the generative step's own change.

Not shipped code. Prints the access copies' (babe2_gated) and EQ steps' means, their wins against LTAS-EQ and
the untouched input on LSD and LTAS error, and per excerpt where the generative output is further from clean
than its EQ step by 0.5 dB of LTAS error or more, the gate's `passband_deviation_db`; then that deviation's
largest value.

Usage: python piano_rates.py REPORT.json
"""
import json
import sys
from pathlib import Path

import numpy as np


def main() -> None:
    report = json.loads(Path(sys.argv[1]).read_text())
    excerpts = report["excerpts"]

    def values(row: str, metric: str) -> np.ndarray:
        return np.array([e["scores"][row][metric] for e in excerpts])

    for row in ("eq_step", "babe2_gated"):
        wins = [int((values(row, m) < values(against, m)).sum()) for against in ("ltas_eq", "input")
                for m in ("lsd_db", "ltas_err_db")]
        lsd, ltas = values(row, "lsd_db").mean(), values(row, "ltas_err_db").mean()
        print(f"{row:11s} LSD {lsd:.3f}  LTAS {ltas:.3f}  "
              f"above the cut {values(row, 'high_band_db').mean():+.2f}  wins vs LTAS-EQ (LSD, LTAS) "
              f"{wins[0]} {wins[1]}, vs input {wins[2]} {wins[3]} of {len(excerpts)}")
    for row in ("input", "ltas_eq"):
        lsd, ltas = values(row, "lsd_db").mean(), values(row, "ltas_err_db").mean()
        print(f"{row:11s} LSD {lsd:.3f}  LTAS {ltas:.3f}")
    deviation = np.array([{c["name"]: c["value"] for c in e["gates"]["babe2_gated"]["checks"]}
                          ["passband_deviation_db"] for e in excerpts])
    step = values("babe2", "ltas_err_db") - values("eq_step", "ltas_err_db")
    for e, d, s in zip(excerpts, deviation, step, strict=True):
        if s >= 0.5:
            print(f"  {e['name']}: generative LTAS error {s:+.2f} dB over its EQ step, "
                  f"gate deviation {d:.2f} dB")
    print(f"gate pass-band deviation: largest {deviation.max():.2f} dB, fallbacks "
          f"{sum(bool(e['gates']['babe2_gated']['fallback']) for e in excerpts)}")


if __name__ == "__main__":
    main()
