"""Session 21: means per singer and pooled of voice_shape_variants.py or voice_balance.py outputs, and the
rules' checks (voice_shape_rule.txt, voice_balance_rule.txt, voice_balance_rule3.txt).

Usage: python voice_summarise.py decide|replicate OUT.json [OUT.json ...]"""
import json
import sys

BASELINES = ("input", "ltas_eq", "cached_chain", "eq_step", "shipped")
mode, rows = sys.argv[1], []
for path in sys.argv[2:]:
    data = json.load(open(path))
    rows += data["excerpts"] if isinstance(data, dict) else data  # variant script: a dict; balance: a list
names = [k for k in rows[0] if isinstance(rows[0][k], list)]
groups = {"tenor": [r for r in rows if r["name"].endswith("-tenor")],
          "soprano": [r for r in rows if r["name"].endswith("-soprano")], "pooled": rows}


def mean(rs: list, k: str, i: int) -> float:
    return sum(r[k][i] for r in rs) / len(rs)


for g, rs in groups.items():
    print(f"{g} ({len(rs)})", " ".join(f"{k} {mean(rs, k, 0):.3f}/{mean(rs, k, 1):.3f}" for k in names))
best = None
for k in [k for k in names if k not in BASELINES and not k.endswith("_access")]:
    d_ltas = mean(rows, k, 1) - mean(rows, "shipped", 1)
    d_lsd = mean(rows, k, 0) - mean(rows, "shipped", 0)
    worst = max(mean(groups[g], k, 1) - mean(groups[g], "shipped", 1) for g in ("tenor", "soprano"))
    ok = (d_ltas <= -0.10 and d_lsd <= 0.05 and worst <= 0.15) if mode == "decide" else (
        d_ltas <= -0.05 and d_lsd <= 0.05)
    print(f"{k}: LTAS {d_ltas:+.3f} LSD {d_lsd:+.3f} worst singer {worst:+.3f} -> {'passes' if ok else 'fails'}")
    if ok and (best is None or d_ltas < best[1]):
        best = (k, d_ltas)
print("chosen:", best[0] if best else "none")
