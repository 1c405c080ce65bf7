"""Experiment record (session 30): range_rule.txt's verdict, from the two reports and their run folders.

Not shipped code. As session29/balance_verdict.py (LSD, LTAS error and win counts of the access copies,
babe2_gated), with the line count the rule bars: the line bins (session29/lines.py's test: over 4 dB above
the median of their 15 neighbours, above 1.05 x the gate's high cut-off) that the generative stage's output
has and its input, the EQ step's output, does not: the lines that step adds. Session 29's count (every line
bin of the output) is printed beside it.

Usage (PYTHONPATH=docs/benchmarks/session29:docs/benchmarks/session30:.):
    python range_verdict.py SHIPPED.json CANDIDATE.json CACHE SET [--rule 2]
    SET: the candidate's --set item, e.g. generative_eq.consistency_balance_in_range=true
    --rule 2: range_rule2.txt's bar (5) (the four win counts summed no fewer, none fewer by more than one)
"""
import json
import sys
from pathlib import Path

import numpy as np
from lines import ltdb, mono
from scipy.ndimage import median_filter

from shellac.lab.heldout.bench import with_overrides
from shellac.lab.heldout.runner import ChainRun, catalog_run
from shellac.stages.profiles import parse_sets


def line_set(path: Path, cut_hz: float) -> set[int]:
    """Bins of a signal's long-term spectrum over 4 dB above their 15 neighbours' median, beyond the cut."""
    f, m = ltdb(mono(str(path)))
    return set(np.flatnonzero((f > 1.05 * cut_hz) & (m - median_filter(m, 15) > 4.0)).tolist())


def lines(run_dir: Path) -> tuple[int, int]:
    """(line bins the generative stage added over its input, all line bins of its output)."""
    g = next(run_dir.glob("0*-generative_eq"))
    cut = json.loads((g / "quality_gate.json").read_text())["high_cutoff_hz"]
    out = line_set(g / "audio.wav", cut)
    return len(out - line_set(next(run_dir.glob("0*-ltas_eq")) / "audio.wav", cut)), len(out)


def access(report: dict, measure: str) -> np.ndarray:
    """The access copies' (babe2_gated) figures, excerpt by excerpt."""
    return np.array([e["scores"]["babe2_gated"][measure] for e in report["excerpts"]])


def wins(report: dict, shipped: dict, against: str, measure: str) -> int:
    """Excerpts whose access copy beats the row ``against``; the baselines (LTAS-EQ, the input) are read
    from the shipped report, since a candidate's run skips them."""
    return sum(e["scores"]["babe2_gated"][measure] < b["scores"][against][measure]
               for e, b in zip(report["excerpts"], shipped["excerpts"], strict=True))


def main() -> None:
    shipped, candidate = (json.loads(Path(p).read_text()) for p in sys.argv[1:3])
    cache, item = Path(sys.argv[3]), sys.argv[4]
    rule = int(sys.argv[6]) if sys.argv[5:6] == ["--rule"] else 1
    names = [e["name"] for e in shipped["excerpts"]]
    assert names == [e["name"] for e in candidate["excerpts"]], "the reports score different excerpts"

    added, total = {"shipped": 0, "candidate": 0}, {"shipped": 0, "candidate": 0}
    for name in names:
        folder = next((cache / "excerpts").glob(f"{name}-*"))
        voice = "tenor" if "-tenor" in name else "soprano"
        runs = {"shipped": catalog_run(ChainRun("voice"), voice),
                "candidate": catalog_run(with_overrides(ChainRun("voice"), parse_sets([item])), voice)}
        counts = {k: lines(folder / r.key()) for k, r in runs.items()}
        for k, (a, t) in counts.items():
            added[k] += a
            total[k] += t
        print(f"{name[:28]:28s} added lines {counts['shipped'][0]:3d} -> {counts['candidate'][0]:3d}"
              f"   all lines {counts['shipped'][1]:3d} -> {counts['candidate'][1]:3d}")
    d_lsd = access(candidate, "lsd_db") - access(shipped, "lsd_db")
    d_ltas = access(candidate, "ltas_err_db") - access(shipped, "ltas_err_db")
    worst = int(np.argmax(d_ltas))
    for label, report in (("shipped", shipped), ("candidate", candidate)):
        counts = " ".join(str(wins(report, shipped, a, m)) for a in ("ltas_eq", "input")
                          for m in ("lsd_db", "ltas_err_db"))
        lsd, ltas = access(report, "lsd_db").mean(), access(report, "ltas_err_db").mean()
        print(f"{label:9s} LSD {lsd:.3f}  LTAS {ltas:.3f}"
              f"  wins (vs LTAS-EQ: LSD LTAS; vs input: LSD LTAS) {counts}"
              f"  added lines {added[label]}  all lines {total[label]}")
    counts = [(f"{a} {m}", wins(candidate, shipped, a, m) - wins(shipped, shipped, a, m))
              for a in ("ltas_eq", "input") for m in ("lsd_db", "ltas_err_db")]
    fewer = [f"{name} {d:+d}" for name, d in counts if d < 0]
    if rule == 2:
        bar5 = ("(5) wins summed over the four counts no fewer, none fewer by more than one",
                sum(d for _, d in counts) >= 0 and min(d for _, d in counts) >= -1)
    else:
        bar5 = ("(5) no fewer wins vs LTAS-EQ or input", not fewer)
    bars = {
        "(1) added line bins down by 30 % or more": added["candidate"] <= 0.7 * added["shipped"],
        "(2) mean LSD up <= 0.02": d_lsd.mean() <= 0.02,
        "(3) mean LTAS error up <= 0.02": d_ltas.mean() <= 0.02,
        "(4) no excerpt LTAS error up > 0.3": d_ltas.max() <= 0.3,
        bar5[0]: bar5[1],
    }
    print(f"dLSD {d_lsd.mean():+.3f}  dLTAS {d_ltas.mean():+.3f}  worst LTAS {d_ltas[worst]:+.3f}"
          f" ({names[worst]})  fewer wins: {', '.join(fewer) or 'none'}")
    for bar, ok in bars.items():
        print(f"   {bar}: {'pass' if ok else 'FAIL'}")
    print("verdict:", "passes: adopt" if all(bars.values()) else "fails: nothing changes")


if __name__ == "__main__":
    main()
