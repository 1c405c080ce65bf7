"""Experiment record (session 32): gate_low_rule.txt's verdict, from the shipped and candidate reports.

Not shipped code. Bars 1-5 on all 24 access copies (babe2_gated; session 30's access and wins); the
generative output before the gate must be identical in both reports (the candidate changes the gate only).

Usage, from the repo root (PYTHONPATH=docs/benchmarks/session29:docs/benchmarks/session30:.):
    python gate_low_verdict.py SHIPPED.json CANDIDATE.json
"""
import json
import sys
from pathlib import Path

from range_verdict import access, wins


def low_check(row: dict) -> float | None:
    """The gate's low-band check value of one excerpt."""
    return next(c["value"] for c in row["gates"]["babe2"]["checks"] if c["name"] == "low_band_excess_db")


def main() -> None:
    shipped, candidate = (json.loads(Path(p).read_text()) for p in sys.argv[1:3])
    same_gen = all(a["scores"]["babe2"] == b["scores"]["babe2"]
                   for a, b in zip(shipped["excerpts"], candidate["excerpts"], strict=True))
    print(f"generative outputs identical in both reports: {same_gen}")
    changed = 0
    for e, c in zip(shipped["excerpts"], candidate["excerpts"], strict=True):
        s, k = e["scores"]["babe2_gated"], c["scores"]["babe2_gated"]
        changed += s != k
        fell = "".join("F" if r["gates"]["babe2_gated"]["fallback"] else "." for r in (e, c))
        print(f"{e['name'][:30]:30s} fallback {fell}  low check {low_check(e)}  LSD {s['lsd_db']:6.3f} -> "
              f"{k['lsd_db']:6.3f}   LTAS {s['ltas_err_db']:6.3f} -> {k['ltas_err_db']:6.3f}   below low cut "
              f"{s['low_band_db']:+6.2f} -> {k['low_band_db']:+6.2f}")
    counts = {label: [wins(r, shipped, a, m) for a in ("ltas_eq", "input") for m in ("lsd_db", "ltas_err_db")]
              for label, r in (("shipped", shipped), ("candidate", candidate))}
    mean = {label: {m: access(r, m).mean() for m in ("lsd_db", "ltas_err_db", "high_band_db", "low_band_db")}
            for label, r in (("shipped", shipped), ("candidate", candidate))}
    for label in ("shipped", "candidate"):
        m = mean[label]
        print(f"{label:9s} LSD {m['lsd_db']:.3f}  LTAS {m['ltas_err_db']:.3f}  above the high cut "
              f"{m['high_band_db']:+.2f}  below the low cut {m['low_band_db']:+.2f}  wins (vs LTAS-EQ: LSD "
              f"LTAS; vs input: LSD LTAS) {' '.join(map(str, counts[label]))} of {len(shipped['excerpts'])}")
    s, k = mean["shipped"], mean["candidate"]
    fewer = [a - b for a, b in zip(counts["shipped"], counts["candidate"], strict=True)]
    bars = {
        "1 mean LTAS error not up": k["ltas_err_db"] - s["ltas_err_db"] <= 0.0,
        "2 mean LSD up by <= 0.05 dB": k["lsd_db"] - s["lsd_db"] <= 0.05,
        "3 wins summed no fewer, none fewer by more than one": sum(fewer) <= 0 and max(fewer) <= 1,
        "4 high band no further from clean than shipped + 0.25 dB, low band + 0.5 dB":
            abs(k["high_band_db"]) <= abs(s["high_band_db"]) + 0.25
            and abs(k["low_band_db"]) <= abs(s["low_band_db"]) + 0.5,
        "5 at least one access copy differs": changed > 0,
    }
    print(f"dLSD {k['lsd_db'] - s['lsd_db']:+.3f}  dLTAS {k['ltas_err_db'] - s['ltas_err_db']:+.3f}  "
          f"wins fewer by {fewer}  access copies changed {changed}")
    for name, ok in bars.items():
        print(f"  bar {name}: {'passed' if ok else 'FAILED'}")
    print("verdict:", "ADOPT" if all(bars.values()) and same_gen else "not adopted")


if __name__ == "__main__":
    main()
