"""Experiment record (session 27): floor_rule.txt's verdict from the shipped and candidate reports.

Not shipped code. Usage (from the repository root):
    python floor_verdict.py SHIPPED.json CANDIDATE.json [CANDIDATE.json ...] --cache CACHE
Each report is `shellac bench-heldout`'s JSON; the candidates hold rows eq_step, babe2, babe2_gated, the
shipped report also input and ltas_eq. CACHE is the candidates' --cache: every generative stage found in
a candidate's run folders must have resumed all its blocks (the blocks are the shipped run's).
"""
import json
import sys
from pathlib import Path

import numpy as np

ROW = "babe2_gated"


def scores(report: dict, row: str, metric: str) -> np.ndarray:
    return np.array([e["scores"][row][metric] for e in report["excerpts"]])


def resumed_everywhere(cache: Path, overrides: dict) -> tuple[int, int]:
    """(stages that resumed every block, generative stages found) in the candidate's run folders."""
    from shellac.lab.heldout.runner import ChainRun

    key = ChainRun("piano", overrides).key()
    full = found = 0
    for state in cache.glob(f"excerpts/*/{key}/state.json"):
        text = json.loads(state.read_text())
        stack = [text]
        while stack:
            node = stack.pop()
            if isinstance(node, dict):
                if "resumed_blocks" in node and "blocks" in node:
                    found += 1
                    full += int(node["resumed_blocks"] == node["blocks"])
                stack.extend(node.values())
            elif isinstance(node, list):
                stack.extend(node)
    return full, found


def main() -> None:
    args = sys.argv[1:]
    cache = Path(args[args.index("--cache") + 1])
    paths = [Path(a) for a in args[: args.index("--cache")]]
    shipped = json.loads(paths[0].read_text())
    names = [e["name"] for e in shipped["excerpts"]]
    base = {m: scores(shipped, ROW, m) for m in ("lsd_db", "ltas_err_db", "high_band_db", "si_sdr_db")}
    ltas_eq = {m: scores(shipped, "ltas_eq", m) for m in ("lsd_db", "ltas_err_db")}
    inp = {m: scores(shipped, "input", m) for m in ("lsd_db", "ltas_err_db")}
    eq_step = {m: scores(shipped, "eq_step", m) for m in ("lsd_db", "ltas_err_db")}
    n = len(names)
    print(f"{n} excerpts: {names[0]} .. {names[-1]}")
    print(f"input   LSD {inp['lsd_db'].mean():.3f}  LTAS {inp['ltas_err_db'].mean():.3f}")
    print(f"ltas_eq LSD {ltas_eq['lsd_db'].mean():.3f}  LTAS {ltas_eq['ltas_err_db'].mean():.3f}")

    def wins(s: dict, over: dict) -> str:
        """Excerpts where ``s`` beats ``over``, LSD / LTAS error."""
        lsd_wins = (s["lsd_db"] < over["lsd_db"]).sum()
        ltas_wins = (s["ltas_err_db"] < over["ltas_err_db"]).sum()
        return f"{lsd_wins}/{n} {ltas_wins}/{n}"

    print(f"eq_step LSD {eq_step['lsd_db'].mean():.3f}  LTAS {eq_step['ltas_err_db'].mean():.3f}  "
          f"wins vs LTAS-EQ {wins(eq_step, ltas_eq)}")

    def line(label: str, s: dict, fallbacks: int) -> None:
        print(f"{label:8s} LSD {s['lsd_db'].mean():.3f}  LTAS {s['ltas_err_db'].mean():.3f}  high band "
              f"{s['high_band_db'].mean():+.2f}  SI-SDR {s['si_sdr_db'].mean():.2f}  wins (LSD LTAS) vs "
              f"LTAS-EQ {wins(s, ltas_eq)}  vs input {wins(s, inp)}  fallbacks {fallbacks}")

    def fallbacks(report: dict) -> int:
        """The gate's fallbacks (the babe2 and babe2_gated scores differ in the last digits even when
        kept: the generative output is scored at the model's rate, the access copy from its file)."""
        return sum(1 for e in report["excerpts"] if e["gates"]["babe2"]["fallback"])

    line("shipped", base, fallbacks(shipped))
    passed = []
    for path in paths[1:]:
        cand = json.loads(path.read_text())
        assert [e["name"] for e in cand["excerpts"]] == names, f"{path}: other excerpts"
        overrides = cand["settings"]["overrides"]
        full, found = resumed_everywhere(cache, overrides)
        s = {m: scores(cand, ROW, m) for m in base}
        label = ",".join(f"{k}={v}" for o in overrides.values() for k, v in o.items())
        line(label[:8], s, fallbacks(cand))
        d_ltas = s["ltas_err_db"].mean() - base["ltas_err_db"].mean()
        d_lsd = s["lsd_db"].mean() - base["lsd_db"].mean()
        worst = float((s["ltas_err_db"] - base["ltas_err_db"]).max())
        high = float(s["high_band_db"].mean())
        bars = {"(1) LTAS down >= 0.02": d_ltas <= -0.02, "(2) LSD up <= 0.05": d_lsd <= 0.05,
                "(3) no excerpt LTAS up > 0.15": worst <= 0.15,
                "(4) high band within +-3 dB": abs(high) <= 3.0}
        print(f"   {label}: blocks resumed in {full} of {found} generative stages; dLTAS {d_ltas:+.3f} dLSD "
              f"{d_lsd:+.3f} worst excerpt LTAS {worst:+.3f} high band {high:+.2f}")
        for k, v in bars.items():
            print(f"      {k}: {'pass' if v else 'FAIL'}")
        if full != found or found != n:
            print("      INVALID: not every generative stage reused the shipped blocks")
        elif all(bars.values()):
            passed.append((float(s["ltas_err_db"].mean()), float(s["lsd_db"].mean()), label))
    print("verdict:", f"adopt {min(passed)[2]}" if passed else "no candidate passes: nothing changes")


if __name__ == "__main__":
    main()
