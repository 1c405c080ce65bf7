"""Session 19: means of hpslope_variants.py outputs per font and pooled, and the rule's three conditions.

Usage: python summarise_variants.py OUT.json [OUT.json ...]"""
import json
import sys

files = [json.load(open(p)) for p in sys.argv[1:]]
names = [k for k in files[0]["excerpts"][0] if not k.endswith("_fit") and k != "name"]
pooled = {k: [] for k in names}
per_font = {}
for f in files:
    per_font[f["font"]] = {k: [r[k] for r in f["excerpts"]] for k in names}
    for k in names:
        pooled[k] += per_font[f["font"]][k]


def mean(rows: list, i: int) -> float:
    return sum(r[i] for r in rows) / len(rows)


for font, table in per_font.items():
    print(font.split("/")[-1], " ".join(f"{k} {mean(v, 0):.3f}/{mean(v, 1):.3f}" for k, v in table.items()))
print("pooled", len(pooled["shipped"]), " ".join(f"{k} {mean(v, 0):.3f}/{mean(v, 1):.3f}" for k, v in pooled.items()))
for k in names:
    if k in ("input", "ltas_eq", "cached_chain", "shipped"):
        continue
    d_ltas = mean(pooled[k], 1) - mean(pooled["shipped"], 1)
    d_lsd = mean(pooled[k], 0) - mean(pooled["shipped"], 0)
    worst_font = max(mean(t[k], 1) - mean(t["shipped"], 1) for t in per_font.values())
    ok = d_ltas <= -0.10 and d_lsd <= 0.05 and worst_font <= 0.15
    print(f"{k}: LTAS {d_ltas:+.3f} LSD {d_lsd:+.3f} worst font {worst_font:+.3f} -> {'passes' if ok else 'fails'}")
