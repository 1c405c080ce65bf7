"""Experiment record (session 23): tail_rule.txt's verdict for one kind, from two bench reports and caches.

Not shipped code. SHIPPED.json / VARIANT.json are `shellac bench-heldout --part validation` reports;
SHIPPED_CACHE / VARIANT_CACHE their `--cache` folders. For every excerpt both reports hold it prints the
access copy's (babe2_gated) LSD / LTAS error and the tail excess (the generative output's level over
its last 50 ms less the EQ step output's over the same 50 ms, dB) of each, then the means and the
rule's verdict for that kind. PROFILE is the generative profile whose run folders hold the audio
(`voice`, `piano`).

Rule 3 (appended to tail_rule.txt) adds the end rise: the generative output's level over its last 50 ms
less its level from 250 to 200 ms before the end, less the same of the EQ step's output. Rule 4 adds the
end excess: (gen - eq) over the last 50 ms less (gen - eq) over the EQ step's three quietest 50 ms windows
before the last 300 ms.

Usage: python tail_summarise.py voice|piano SHIPPED.json SHIPPED_CACHE VARIANT.json VARIANT_CACHE
"""
import json
import re
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

TAIL_S = 0.05
RISE_FROM_S = (0.25, 0.2)
"""Rule 3's end rise compares the last 50 ms with the 50 ms from 250 to 200 ms before the end."""
LAST_S = 0.5
"""Diagnostic only (not one of the rule's measures; added before any variant output was seen): the same
excess over the last 0.5 s, which lies within the last block, so a louder last block shows."""


def level_db(x: np.ndarray) -> float:
    """RMS level in dB (floored at -200 for digital silence)."""
    return float(10 * np.log10(np.mean(np.square(x, dtype=np.float64)) + 1e-20))


def tail_excess(cache: Path, name: str, profile: str, seconds: float = TAIL_S) -> float:
    """Generative output's level less the EQ step output's over the last ``seconds``, in ``profile``'s run."""
    folders = [d for d in (cache / "excerpts").iterdir() if d.name.startswith(name + "-")]
    runs = [r for d in folders for r in d.iterdir() if re.fullmatch(rf"{profile}-[0-9a-f]{{10}}", r.name)]
    if len(runs) != 1:
        raise SystemExit(f"{cache}: expected one {profile} run of {name}, found {[str(r) for r in runs]}")
    levels = []
    for stage in ("03-generative_eq", "02-ltas_eq"):
        audio, sr = sf.read(runs[0] / stage / "audio.wav", always_2d=True)
        levels.append(level_db(audio[-int(seconds * sr):]))
    return levels[0] - levels[1]


def end_rise(cache: Path, name: str, profile: str) -> float:
    """Rule 3: the generative output's rise (last 50 ms against 250..200 ms before the end) less the EQ's."""
    runs = [r for d in (cache / "excerpts").iterdir() if d.name.startswith(name + "-") for r in d.iterdir()
            if re.fullmatch(rf"{profile}-[0-9a-f]{{10}}", r.name)]
    rises = []
    for stage in ("03-generative_eq", "02-ltas_eq"):
        audio, sr = sf.read(runs[0] / stage / "audio.wav", always_2d=True)
        a, b = (int(s * sr) for s in RISE_FROM_S)
        rises.append(level_db(audio[-int(TAIL_S * sr):]) - level_db(audio[-a:-b]))
    return rises[0] - rises[1]


def end_excess(cache: Path, name: str, profile: str) -> float:
    """Rule 4: (gen - eq) over the last 50 ms less (gen - eq) over the EQ step's 3 quietest body windows."""
    runs = [r for d in (cache / "excerpts").iterdir() if d.name.startswith(name + "-") for r in d.iterdir()
            if re.fullmatch(rf"{profile}-[0-9a-f]{{10}}", r.name)]
    gen, sr = sf.read(runs[0] / "03-generative_eq" / "audio.wav", always_2d=True)
    eq, _ = sf.read(runs[0] / "02-ltas_eq" / "audio.wav", always_2d=True)
    w, body_end = int(TAIL_S * sr), gen.shape[0] - int(0.3 * sr)
    starts = sorted(range(0, body_end - w + 1, w), key=lambda i: level_db(eq[i:i + w]))[:3]
    quiet = (level_db(np.concatenate([gen[i:i + w] for i in starts]))
             - level_db(np.concatenate([eq[i:i + w] for i in starts])))
    return level_db(gen[-w:]) - level_db(eq[-w:]) - quiet


def main() -> None:
    """Print the per-excerpt table, the means and the verdict."""
    kind, shipped_json, shipped_cache, variant_json, variant_cache = sys.argv[1:6]
    shipped, variant = ({e["name"]: e for e in json.loads(Path(p).read_text())["excerpts"]}
                        for p in (shipped_json, variant_json))
    rows = []
    for name in [n for n in shipped if n in variant]:
        s, v = shipped[name]["scores"]["babe2_gated"], variant[name]["scores"]["babe2_gated"]
        ts = tail_excess(Path(shipped_cache), name, kind)
        tv = tail_excess(Path(variant_cache), name, kind)
        ls, lv = (tail_excess(Path(c), name, kind, LAST_S) for c in (shipped_cache, variant_cache))
        rs, rv = (end_rise(Path(c), name, kind) for c in (shipped_cache, variant_cache))
        es, ev = (end_excess(Path(c), name, kind) for c in (shipped_cache, variant_cache))
        rows.append([s["lsd_db"], s["ltas_err_db"], ts, v["lsd_db"], v["ltas_err_db"], tv,
                     ls, lv, rs, rv, es, ev])
        gates = [r[name]["gates"]["babe2_gated"]["decision"] for r in (shipped, variant)]
        print(f"{name[:44]:44s} shipped {s['lsd_db']:.2f} / {s['ltas_err_db']:.2f} tail {ts:+6.1f}   "
              f"variant {v['lsd_db']:.2f} / {v['ltas_err_db']:.2f} tail {tv:+6.1f}   "
              f"gate {gates[0]}->{gates[1]}   last 0.5 s {ls:+.1f} -> {lv:+.1f}   "
              f"end rise {rs:+.1f} -> {rv:+.1f}   end excess {es:+.1f} -> {ev:+.1f}")
    a = np.array(rows)
    m = a.mean(axis=0)
    print(f"means, {len(a)} excerpts: shipped {m[0]:.3f} / {m[1]:.3f} tail {m[2]:+.2f}   "
          f"variant {m[3]:.3f} / {m[4]:.3f} tail {m[5]:+.2f}   last 0.5 s {m[6]:+.2f} -> {m[7]:+.2f}   "
          f"end rise {m[8]:+.2f} -> {m[9]:+.2f}   end excess {m[10]:+.2f} -> {m[11]:+.2f}")
    d_lsd, d_ltas, d_tail = m[3] - m[0], m[4] - m[1], m[5] - m[2]
    worst = float(np.max(a[:, 4] - a[:, 1]))
    top_tail = float(np.max(a[:, 5]))
    ok_a = top_tail <= 6.0 and (kind != "voice" or d_tail <= -3.0)
    ok_b = d_lsd <= 0.05 and d_ltas <= 0.10 and worst <= 0.30
    print(f"{kind}: (a) mean tail {d_tail:+.2f} dB" + (" (bar <= -3)" if kind == "voice" else "")
          + f", largest variant tail {top_tail:+.2f} (bar <= +6); (b) LSD {d_lsd:+.3f} (bar <= +0.05), "
          f"LTAS error {d_ltas:+.3f} (bar <= +0.10), largest excerpt rise {worst:+.3f} (bar <= +0.30) -> "
          f"{'PASSES' if ok_a and ok_b else 'FAILS'} (rules 1 and 2)")
    d_rise, top_rise = m[9] - m[8], float(np.max(a[:, 9]))
    ok_3 = top_rise <= 3.0 and (kind != "voice" or d_rise <= -3.0)
    print(f"{kind}, rule 3: (a) mean end rise {d_rise:+.2f} dB" + (" (bar <= -3)" if kind == "voice" else "")
          + f", largest variant end rise {top_rise:+.2f} (bar <= +3); (b) as above -> "
          f"{'PASSES' if ok_3 and ok_b else 'FAILS'}")
    d_exc, top_exc = m[11] - m[10], float(np.max(a[:, 11]))
    ok_4 = top_exc <= 3.0 and (kind != "voice" or d_exc <= -3.0)
    print(f"{kind}, rule 4: (a) mean end excess {d_exc:+.2f} dB" + (" (bar <= -3)" if kind == "voice" else "")
          + f", largest variant end excess {top_exc:+.2f} (bar <= +3); (b) as above -> "
          f"{'PASSES' if ok_4 and ok_b else 'FAILS'}")


if __name__ == "__main__":
    main()
