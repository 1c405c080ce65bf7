"""Experiment record (session 22): stage B and the replication of voice_strength_rule.txt, from two bench reports.

Not shipped code. SHIPPED.json and VARIANT.json are `shellac bench-heldout --kind voice --part validation`
reports (the shipped voice profile, and the same with --set ltas_eq.strength=S); for the excerpts both
hold, it prints each access copy (babe2_gated) and EQ step beside the untouched input and LTAS-EQ, the
means per singer and over all, and the rule's verdict.

Usage: python voice_strength_summarise.py decide|replicate SHIPPED.json VARIANT.json
"""
import json
import sys

import numpy as np

BARS = {"decide": (0.10, 0.05, 0.15), "replicate": (0.05, 0.05, None)}
"""mode: (LTAS error must fall by at least, LSD may rise by at most, no singer's LTAS error may rise by more)."""


def main() -> None:
    """Print the table and the verdict."""
    mode, shipped_path, variant_path = sys.argv[1:4]
    shipped = {e["name"]: e for e in json.load(open(shipped_path))["excerpts"]}
    variant = {e["name"]: e for e in json.load(open(variant_path))["excerpts"]}
    names = [n for n in shipped if n in variant]
    rows: dict[str, dict[str, list[list[float]]]] = {}
    for name in names:
        s, v = shipped[name]["scores"], variant[name]["scores"]
        got = {"input": s["input"], "ltas_eq": s["ltas_eq"], "eq_step": s["eq_step"], "shipped": s["babe2_gated"],
               "variant_eq": v["eq_step"], "variant": v["babe2_gated"]}
        voice = shipped[name]["voice"]
        gate = variant[name]["gates"]["babe2_gated"]["decision"]
        print(f"{name[:40]:40s} " + "  ".join(f"{k} {x['lsd_db']:.2f}/{x['ltas_err_db']:.2f}" for k, x in got.items())
              + f"  gate {shipped[name]['gates']['babe2_gated']['decision']}->{gate}")
        for group in (voice, "all"):
            for k, x in got.items():
                rows.setdefault(group, {}).setdefault(k, []).append([x["lsd_db"], x["ltas_err_db"]])
    means = {g: {k: np.mean(np.array(v), axis=0) for k, v in r.items()} for g, r in rows.items()}
    for group, m in means.items():
        print(f"{group:8s} n {len(rows[group]['shipped']):2d}  " + "  ".join(f"{k} {v[0]:.3f}/{v[1]:.3f}" for k, v in m.items()))
    ltas_bar, lsd_bar, singer_bar = BARS[mode]
    d_ltas = means["all"]["variant"][1] - means["all"]["shipped"][1]
    d_lsd = means["all"]["variant"][0] - means["all"]["shipped"][0]
    singers = {g: means[g]["variant"][1] - means[g]["shipped"][1] for g in means if g != "all"}
    ok = d_ltas <= -ltas_bar and d_lsd <= lsd_bar
    if singer_bar is not None:
        ok = ok and all(d <= singer_bar for d in singers.values())
    print(f"{mode}: LTAS error {d_ltas:+.3f} (bar -{ltas_bar}), LSD {d_lsd:+.3f} (bar +{lsd_bar}), "
          f"per singer LTAS {', '.join(f'{g} {d:+.3f}' for g, d in singers.items())}"
          + (f" (bar +{singer_bar})" if singer_bar is not None else "") + f" -> {'PASSES' if ok else 'FAILS'}")


if __name__ == "__main__":
    main()
