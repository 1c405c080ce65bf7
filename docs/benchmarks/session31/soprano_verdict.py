"""Experiment record (session 31): soprano_rule.txt's verdict, from the shipped and candidate reports.

Not shipped code. Bars 1-4 on the soprano excerpts' access copies (babe2_gated; range_verdict.py's access
and wins, restricted here to one singer); bar 5 is the validation loss, given on the command line. The
tenor excerpts must be identical in both reports (their bundle did not change). The generative output's
means before the gate were added after the verdict (reported, deciding nothing).

Usage (PYTHONPATH=docs/benchmarks/session29:docs/benchmarks/session30:.):
    python soprano_verdict.py SHIPPED.json CANDIDATE.json VAL_LOSS_SHIPPED VAL_LOSS_CANDIDATE
"""
import json
import sys
from pathlib import Path

from range_verdict import access, wins


def singer(report: dict, voice: str) -> dict:
    """The report with only one singer's excerpts."""
    return {**report, "excerpts": [e for e in report["excerpts"] if e["name"].endswith(f"-{voice}")]}


def verdict(shipped_all: dict, candidate_all: dict, voice: str, val_shipped: float,
            val_candidate: float, high_band_slack: float | None = None) -> bool:
    """Print bars 1-5 for one singer's excerpts (shipped against candidate report); True when all pass.

    Bar 4's high band: within +-3 dB of clean, or with ``high_band_slack`` no further from clean than the
    shipped run's by more than that many dB (session 32's second rule).
    """
    shipped, candidate = singer(shipped_all, voice), singer(candidate_all, voice)
    n = len(shipped["excerpts"])
    for e, c in zip(shipped["excerpts"], candidate["excerpts"], strict=True):
        s, k = e["scores"]["babe2_gated"], c["scores"]["babe2_gated"]
        print(f"{e['name'][:30]:30s} LSD {s['lsd_db']:6.3f} -> {k['lsd_db']:6.3f}"
              f"   LTAS {s['ltas_err_db']:6.3f} -> {k['ltas_err_db']:6.3f}"
              f"   below low cut {s['low_band_db']:+6.2f} -> {k['low_band_db']:+6.2f}")
    counts = {}
    for label, report in (("shipped", shipped), ("candidate", candidate)):
        counts[label] = [wins(report, shipped, a, m)
                         for a in ("ltas_eq", "input") for m in ("lsd_db", "ltas_err_db")]
        print(f"{label:9s} LSD {access(report, 'lsd_db').mean():.3f}"
              f"  LTAS {access(report, 'ltas_err_db').mean():.3f}"
              f"  above the high cut {access(report, 'high_band_db').mean():+.2f}"
              f"  below the low cut {access(report, 'low_band_db').mean():+.2f}"
              f"  wins (vs LTAS-EQ: LSD LTAS; vs input: LSD LTAS) {' '.join(map(str, counts[label]))} of {n}"
              f"  fallbacks {sum(e['gates']['babe2_gated']['fallback'] for e in report['excerpts'])}")
    d_lsd = access(candidate, "lsd_db").mean() - access(shipped, "lsd_db").mean()
    d_ltas = access(candidate, "ltas_err_db").mean() - access(shipped, "ltas_err_db").mean()
    fewer = [s - c for s, c in zip(counts["shipped"], counts["candidate"], strict=True)]
    falls = [sum(e["gates"]["babe2_gated"]["fallback"] for e in r["excerpts"]) for r in (shipped, candidate)]
    if high_band_slack is None:
        high_band, limit = "4 no more fallbacks; above the high cut within +-3 dB", 3.0
    else:
        high_band = ("4 no more fallbacks; above the high cut no further from clean than shipped + "
                     f"{high_band_slack} dB")
        limit = abs(access(shipped, "high_band_db").mean()) + high_band_slack
    bars = {
        "1 mean LSD not up": d_lsd <= 0.0,
        "2 mean LTAS error up by <= 0.02 dB": d_ltas <= 0.02,
        "3 wins summed no fewer, none fewer by more than one": sum(fewer) <= 0 and max(fewer) <= 1,
        high_band: falls[1] <= falls[0] and abs(access(candidate, "high_band_db").mean()) <= limit,
        f"5 validation loss below the shipped {voice}'s": val_candidate < val_shipped,
    }
    print(f"dLSD {d_lsd:+.3f}  dLTAS {d_ltas:+.3f}  wins fewer by {fewer}  fallbacks {falls}  "
          f"validation loss {val_shipped:.4f} -> {val_candidate:.4f}")
    for name, ok in bars.items():
        print(f"  bar {name}: {'passed' if ok else 'FAILED'}")
    print("verdict:", "ADOPT" if all(bars.values()) else "not adopted")
    for label, report in (("shipped", shipped), ("candidate", candidate)):  # reported, not deciding
        raw = {m: sum(e["scores"]["babe2"][m] for e in report["excerpts"]) / n
               for m in ("lsd_db", "ltas_err_db", "low_band_db", "high_band_db")}
        print(f"generative output before the gate, {label:9s} LSD {raw['lsd_db']:.3f}"
              f"  LTAS {raw['ltas_err_db']:.3f}  below the low cut {raw['low_band_db']:+.2f}"
              f"  above the high cut {raw['high_band_db']:+.2f}")
    return all(bars.values())


def main() -> None:
    shipped_all, candidate_all = (json.loads(Path(p).read_text()) for p in sys.argv[1:3])
    val_shipped, val_candidate = float(sys.argv[3]), float(sys.argv[4])
    tenors = [singer(r, "tenor")["excerpts"] for r in (shipped_all, candidate_all)]
    same = all(a["scores"]["babe2_gated"] == b["scores"]["babe2_gated"] for a, b in zip(*tenors, strict=True))
    print(f"tenor excerpts identical in both reports: {same} ({len(tenors[0])})")
    verdict(shipped_all, candidate_all, "soprano", val_shipped, val_candidate)
    both = [(access(r, "lsd_db").mean(), access(r, "ltas_err_db").mean())
            for r in (shipped_all, candidate_all)]
    print(f"all {len(shipped_all['excerpts'])} excerpts: LSD {both[0][0]:.3f} -> {both[1][0]:.3f}, "
          f"LTAS {both[0][1]:.3f} -> {both[1][1]:.3f}")


if __name__ == "__main__":
    main()
