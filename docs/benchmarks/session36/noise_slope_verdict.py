"""Experiment record (session 36): noise_slope_rule.txt's verdict, from the shipped and candidate reports.

Not shipped code. Per excerpt, the access copies (babe2_gated) and the generative output's pass-band
deviation from its EQ step (the gate's `passband_deviation_db`); then bars 1-6 and, beside them, not
deciding, the LTAS error within 30 dB of the clean maximum and the EQ steps' means.

Usage, from the repo root, with
PYTHONPATH=docs/benchmarks/session29:docs/benchmarks/session30:docs/benchmarks/session33:.
    python noise_slope_verdict.py SHIPPED.json CANDIDATE.json
"""
import json
import sys
from pathlib import Path

import numpy as np
from range_verdict import access, wins
from register_verdict import fallbacks

MEASURES = ("lsd_db", "ltas_err_db", "high_band_db", "low_band_db", "ltas_err_within30_db")


def deviation(excerpt: dict) -> float:
    """The gate's pass-band deviation of the generative output from its EQ step (dB)."""
    checks = excerpt["gates"]["babe2_gated"]["checks"]
    return next(float(c["value"]) for c in checks if c["name"] == "passband_deviation_db")


def main() -> None:
    shipped, candidate = (json.loads(Path(p).read_text()) for p in sys.argv[1:3])
    for e, c in zip(shipped["excerpts"], candidate["excerpts"], strict=True):
        s, k = e["scores"]["babe2_gated"], c["scores"]["babe2_gated"]
        print(f"{e['name'][:30]:30s} EQ step LTAS {e['scores']['eq_step']['ltas_err_db']:5.2f}  access LSD "
              f"{s['lsd_db']:6.3f} -> {k['lsd_db']:6.3f}  LTAS {s['ltas_err_db']:6.3f} -> "
              f"{k['ltas_err_db']:6.3f}  deviation {deviation(e):5.2f} -> {deviation(c):5.2f}")
    runs = (("shipped", shipped), ("candidate", candidate))
    counts = {label: [wins(r, shipped, a, m) for a in ("ltas_eq", "input") for m in ("lsd_db", "ltas_err_db")]
              for label, r in runs}
    mean = {label: {m: float(access(r, m).mean()) for m in MEASURES} for label, r in runs}
    dev = {label: float(np.mean([deviation(e) for e in r["excerpts"]])) for label, r in runs}
    falls = {label: fallbacks(r) for label, r in runs}
    for label, r in runs:
        m = mean[label]
        eq = {k: np.mean([e["scores"]["eq_step"][k] for e in r["excerpts"]])
              for k in ("lsd_db", "ltas_err_db")}
        print(f"{label:9s} LSD {m['lsd_db']:.3f}  LTAS {m['ltas_err_db']:.3f}  above the high cut "
              f"{m['high_band_db']:+.2f}  below the low cut {m['low_band_db']:+.2f}  wins (vs LTAS-EQ: LSD "
              f"LTAS; vs input: LSD LTAS) {' '.join(map(str, counts[label]))} of {len(r['excerpts'])}  "
              f"fallbacks {falls[label]}  deviation {dev[label]:.3f}")
        print(f"{'':9s} beside: LTAS within 30 dB {m['ltas_err_within30_db']:.3f}; "
              f"EQ step LSD {eq['lsd_db']:.3f} LTAS {eq['ltas_err_db']:.3f}")
    s, k = mean["shipped"], mean["candidate"]
    fewer = [a - b for a, b in zip(counts["shipped"], counts["candidate"], strict=True)]
    bars = {
        "1 mean LTAS error not up": k["ltas_err_db"] - s["ltas_err_db"] <= 0.0,
        "2 mean LSD up by <= 0.05 dB": k["lsd_db"] - s["lsd_db"] <= 0.05,
        "3 wins summed no fewer, none fewer by more than one": sum(fewer) <= 0 and max(fewer) <= 1,
        "4 high band no further from clean than shipped + 0.25 dB, low band + 0.5 dB":
            abs(k["high_band_db"]) <= abs(s["high_band_db"]) + 0.25
            and abs(k["low_band_db"]) <= abs(s["low_band_db"]) + 0.5,
        "5 fallbacks no more than shipped + 1": falls["candidate"] <= falls["shipped"] + 1,
        "6 mean pass-band deviation from the EQ step not up": dev["candidate"] <= dev["shipped"],
    }
    print(f"dLSD {k['lsd_db'] - s['lsd_db']:+.3f}  dLTAS {k['ltas_err_db'] - s['ltas_err_db']:+.3f}  "
          f"wins fewer by {fewer}")
    for name, ok in bars.items():
        print(f"  bar {name}: {'passed' if ok else 'FAILED'}")
    print("verdict:", "ADOPT" if all(bars.values()) else "not adopted")


if __name__ == "__main__":
    main()
