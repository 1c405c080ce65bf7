"""Experiment record (session 28): withheld_rule.txt's verdict from the shipped and candidate reports.

Not shipped code. Usage (from the repository root):
    python withheld_verdict.py SHIPPED.json CANDIDATE.json --cache CACHE [--rule 2]
Without --rule, withheld_rule.txt's bars; with --rule 2, withheld_rule2.txt's.
Reports are `shellac bench-heldout`'s JSON (the shipped one with rows input, ltas_eq, eq_step, babe2,
babe2_gated; the candidate's eq_step, babe2, babe2_gated). CACHE is the candidate's --cache: every
generative stage in its run folders must have resumed all its blocks (the shipped run's). The scoring
helpers are session 27's (floor_verdict.py); the bars are this rule's.
"""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "session27"))
from floor_verdict import ROW, resumed_everywhere, scores  # noqa: E402

METRICS = ("lsd_db", "ltas_err_db", "high_band_db", "si_sdr_db")


def main() -> None:
    args = sys.argv[1:]
    cache = Path(args[args.index("--cache") + 1])
    rule = int(args[args.index("--rule") + 1]) if "--rule" in args else 1
    shipped_path, candidate_path = (Path(a) for a in args[: args.index("--cache")])
    shipped, cand = json.loads(shipped_path.read_text()), json.loads(candidate_path.read_text())
    names = [e["name"] for e in shipped["excerpts"]]
    assert [e["name"] for e in cand["excerpts"]] == names, "the reports hold other excerpts"
    n = len(names)
    base = {m: scores(shipped, ROW, m) for m in METRICS}
    s = {m: scores(cand, ROW, m) for m in METRICS}
    others = {row: {m: scores(shipped, row, m) for m in ("lsd_db", "ltas_err_db")}
              for row in ("input", "ltas_eq", "eq_step")}
    print(f"{n} excerpts: {names[0]} .. {names[-1]}")
    for row, v in others.items():
        print(f"{row:8s} LSD {v['lsd_db'].mean():.3f}  LTAS {v['ltas_err_db'].mean():.3f}")

    def wins(a: dict, over: dict) -> str:
        lsd, ltas = (a["lsd_db"] < over["lsd_db"]).sum(), (a["ltas_err_db"] < over["ltas_err_db"]).sum()
        return f"{lsd}/{n} {ltas}/{n}"

    def fallbacks(report: dict) -> int:
        return sum(1 for e in report["excerpts"] if e["gates"]["babe2"]["fallback"])

    for label, v, report in (("shipped", base, shipped), ("withheld", s, cand)):
        print(f"{label:8s} LSD {v['lsd_db'].mean():.3f}  LTAS {v['ltas_err_db'].mean():.3f}  high band "
              f"{v['high_band_db'].mean():+.2f}  SI-SDR {v['si_sdr_db'].mean():.2f}  wins (LSD LTAS) vs "
              f"LTAS-EQ {wins(v, others['ltas_eq'])}  vs input {wins(v, others['input'])}  "
              f"fallbacks {fallbacks(report)}")
    full, found = resumed_everywhere(cache, cand["settings"]["overrides"])
    d_ltas = float(s["ltas_err_db"].mean() - base["ltas_err_db"].mean())
    d_lsd = float(s["lsd_db"].mean() - base["lsd_db"].mean())
    change = s["ltas_err_db"] - base["ltas_err_db"]
    worst = float(change.max())
    high = float(s["high_band_db"].mean())
    print(f"blocks resumed in {full} of {found} generative stages; dLTAS {d_ltas:+.3f} dLSD {d_lsd:+.3f} "
          f"worst excerpt LTAS {worst:+.3f} ({names[int(change.argmax())]}) high band {high:+.2f}")
    if rule == 1:
        bars = {"(1) LTAS down >= 0.02": d_ltas <= -0.02, "(2) LSD up <= 0.05": d_lsd <= 0.05,
                "(3) no excerpt LTAS up > 0.15": worst <= 0.15,
                "(4) high band within +-3 dB": abs(high) <= 3.0}
    else:
        fewer = {f"{metric} vs {row}": int((s[metric] < others[row][metric]).sum())
                 < int((base[metric] < others[row][metric]).sum())
                 for row in ("ltas_eq", "input") for metric in ("lsd_db", "ltas_err_db")}
        high_move = high - float(base["high_band_db"].mean())
        lost = [k for k, v in fewer.items() if v] or "none"
        print(f"high band moved {high_move:+.2f} dB; fewer wins: {lost}")
        bars = {"(1) LTAS down >= 0.05": d_ltas <= -0.05, "(2) LSD up <= 0.05": d_lsd <= 0.05,
                "(3) no excerpt LTAS up > 1.0": worst <= 1.0,
                "(4) no fewer wins vs LTAS-EQ or input, LSD or LTAS": not any(fewer.values()),
                "(5) high band moves <= 0.5 dB": abs(high_move) <= 0.5}
    for k, v in bars.items():
        print(f"   {k}: {'pass' if v else 'FAIL'}")
    if full != found or found != n:
        print("verdict: INVALID (not every generative stage reused the shipped blocks)")
    else:
        adopted = all(bars.values())
        share = cand["settings"]["overrides"]["generative_eq"]["consistency_withheld"]
        print("verdict:", f"adopt consistency_withheld = {share}" if adopted else "fails: nothing changes")


if __name__ == "__main__":
    main()
