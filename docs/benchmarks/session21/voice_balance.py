"""Experiment record (session 21): give the voice generative output back its EQ step's long-term balance.

Not shipped code; the rule is voice_balance_rule.txt. Session 18's piano candidate (balance_validation.py),
applied to the `voice` profile: for each sung validation excerpt FIRST..N-1 whose shipped run is finished in
CACHE (this record samples nothing), the generative output gets a fixed gain per STFT bin of the
consistency step so that, in the bins where the EQ step's output Y holds signal (3 dB above its noise
floor), its third-octave-smoothed mean power equals Y's ("observed") or Y's less its noise ("signal"),
within +-6 dB. Scores (LSD, LTAS error) of the generative output and of the access copy (the rebalanced
output where the shipped gate kept the generative output, the shipped fallback where it did not)
against the clean render, beside the input, LTAS-EQ and the EQ step.

Usage (from the repository root of a clone at the record's commit):
    python voice_balance.py CACHE FIRST N OUT.json [rule2|rule3]
(rule2, the default: voice_balance_rule.txt's variants; rule3: voice_balance_rule3.txt's.)
"""
import json
import sys
from pathlib import Path

import numpy as np
from scipy.signal import istft, stft

from shellac.engine.dsp.ltas import third_octave_smooth
from shellac.engine.restoration import consistency as cons
from shellac.lab.heldout.bench import select_rows
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import catalog_run, prepare_excerpts, run_chain, score

VARIANT_SETS = {
    "rule2": {"observed": ("observed", 6.0, 1.0), "signal": ("signal", 6.0, 1.0)},
    "rule3": {"observed": ("observed", 6.0, 1.0), "half": ("observed", 6.0, 0.5), "lim3": ("observed", 3.0, 1.0)},
}
"""name: (target, limit of the power gain in dB, share of the gain in dB applied)."""


def rebalanced(y: np.ndarray, g: np.ndarray, sr: int, target: str, limit_db: float = 6.0,
               share: float = 1.0) -> np.ndarray:
    """``g`` with a fixed gain per bin that moves it (by ``share`` of the dB difference) towards ``target``'s
    smoothed mean power where y holds signal, the full gain limited to +-``limit_db``."""
    stats = cons._statistics(y, g)
    holds_signal = cons._above_noise(stats)
    want = stats.observed_power if target == "observed" else np.maximum(stats.observed_power - stats.noise, 0)
    have = third_octave_smooth(stats.generated_power, sr, cons.N_FFT)
    ratio = third_octave_smooth(want, sr, cons.N_FFT) / np.maximum(have, 1e-30)
    limit = 10 ** (limit_db / 10)
    gain = np.sqrt(np.where(holds_signal & (have > 0), np.clip(ratio, 1 / limit, limit), 1.0)) ** share
    frames = {"window": "hann", "nperseg": cons.N_FFT, "noverlap": cons.N_FFT - cons.HOP}
    return istft(gain[:, None] * stft(g, **frames)[2], **frames)[1][: g.size]


def main() -> None:
    """Score every excerpt; write OUT.json (a list of rows: name, then [LSD, LTAS error] per estimate)."""
    cache, first, n, out = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    variants = VARIANT_SETS[sys.argv[5] if len(sys.argv) > 5 else "rule2"]
    runs = {r.key: r.run for r in select_rows(["ltas_eq", "babe2"], kind="voice")}
    rows = []
    for e in prepare_excerpts(load_heldout("validation", kind="voice"), n, 5.5, 22050, 0, cache,
                              log=lambda s: None)[first:]:
        folder = e.master.parent / catalog_run(runs["babe2"], e.voice).key()
        if not (folder / "03-generative_eq" / "audio.wav").exists():
            print(e.name, "not run: skipped", flush=True)
            continue
        run = run_chain(e, runs["babe2"], Path("models").resolve())
        kept = not (run.gate or {}).get("fallback", False)
        estimates = {"input": e.degraded[: e.clean.size], "ltas_eq": run_chain(e, runs["ltas_eq"],
                                                                               Path("models").resolve()).access,
                     "eq_step": run.eq, "shipped": run.generative, "shipped_access": run.access}
        for name, (target, limit_db, share) in variants.items():
            estimates[name] = rebalanced(run.eq, run.generative, e.sample_rate, target, limit_db, share)
            estimates[name + "_access"] = estimates[name] if kept else run.access
        row = {"name": e.name, "gate_kept": kept,
               **{k: [score(e, v)[m] for m in ("lsd_db", "ltas_err_db")] for k, v in estimates.items()}}
        rows.append(row)
        print(e.name, {k: [round(a, 3) for a in v] for k, v in row.items() if isinstance(v, list)}, flush=True)
    out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
