"""Session 21: means of voice_balance.py outputs per singer and pooled, and voice_balance_rule.txt's checks.

Usage: python voice_balance_summarise.py decide|replicate OUT.json [OUT.json ...]"""
import json
import sys

mode = sys.argv[1]
rows = [r for p in sys.argv[2:] for r in json.load(open(p))]
names = [k for k in rows[0] if isinstance(rows[0][k], list)]
groups = {"tenor": [r for r in rows if r["name"].endswith("-tenor")],
          "soprano": [r for r in rows if r["name"].endswith("-soprano")], "pooled": rows}


def mean(rs: list, k: str, i: int) -> float:
    return sum(r[k][i] for r in rs) / len(rs)


for g, rs in groups.items():
    print(f"{g} ({len(rs)})", " ".join(f"{k} {mean(rs, k, 0):.3f}/{mean(rs, k, 1):.3f}" for k in names))
best = None
for k in [k for k in names if k not in ("input", "ltas_eq", "eq_step", "shipped") and not k.endswith("_access")]:
    d_ltas = mean(rows, k, 1) - mean(rows, "shipped", 1)
    d_lsd = mean(rows, k, 0) - mean(rows, "shipped", 0)
    worst = max(mean(groups[g], k, 1) - mean(groups[g], "shipped", 1) for g in ("tenor", "soprano"))
    ok = (d_ltas <= -0.10 and d_lsd <= 0.05 and worst <= 0.15) if mode == "decide" else (
        d_ltas <= -0.05 and d_lsd <= 0.05)
    print(f"{k}: LTAS {d_ltas:+.3f} LSD {d_lsd:+.3f} worst singer {worst:+.3f} -> {'passes' if ok else 'fails'}")
    if ok and (best is None or d_ltas < best[1]):
        best = (k, d_ltas)
print("chosen:", best[0] if best else "none")
