"""Experiment record (session 33): a reference matched to the sung line's register, in the voice EQ step.

Not shipped code, no sampling. The `voice` profile's EQ step (the chain EQ against the singer bundle's
reference, strength 0.5) loses to the untouched input on LTAS error on ~40 % of excerpts; session 31 read its
error as the singer reference's balance laid over a line that sings lower or higher than it. Here the EQ step
runs through the production chain (profile `voice-ltas` with the `voice` profile's chain-EQ settings, so
the denoise step is the voice profile's) against four references per excerpt:

* shipped: the singer bundle's reference LTAS (reproduces the reports' eq_step row);
* register: the same pitches and timing sung again by K other random singers with fresh vowels
  (what a reference could know from the line's notes alone: an oracle of the pitch track);
* tracked: what can be built without the truth: the line's pitches tracked on the denoised input
  (shellac.engine.dsp.pitch) mixing a register table built from the singer bundle's training material
  (shellac.engine.dsp.register; TABLES/register-<voice>.json);
* self: the clean excerpt's own LTAS (the upper bound of any reference).

Each at strength 0.5 (shipped) and 1.0; and the denoise step's output alone (strength 0).
Prints per excerpt and the means, and the excerpts won against the untouched input and against LTAS-EQ
(`voice-ltas`) on LTAS error.

Usage (PYTHONPATH=.): python register_oracle.py FIRST END CACHE TABLES [K]
"""
import json
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

from shellac.engine.dsp.ltas import compute_ltas
from shellac.engine.dsp.register import RegisterTable, register_reference
from shellac.lab.evaluation.spectral_balance import ltas_error_db
from shellac.lab.heldout.material import load_heldout
from shellac.lab.heldout.runner import (
    ChainRun,
    HeldoutExcerpt,
    catalog_run,
    hashing_seed,
    prepare_excerpts,
    run_chain,
)
from shellac.lab.heldout.sung import SungSpec, sung_line
from shellac.lab.synthesis import render_melody
from shellac.lab.synthesis.singers import random_singer, sung_notes

SR = 22050
N_FFT = 4096
EQ = {"method": "chain", "max_boost_db": 6.0, "hiss_cut": False, "resonance_spacing_octaves": 0.0}


def notes_of(e: HeldoutExcerpt, index: int) -> list:
    """The excerpt's sung notes, drawn as sing_excerpt draws them (first draw)."""
    spec = SungSpec(e.score, e.voice, SR, 5.5, int(hashing_seed(0, index)))
    return sung_line(spec, np.random.default_rng(spec.seed))


def resung_reference(e: HeldoutExcerpt, index: int, k: int, folder: Path) -> Path:
    """LTAS JSON of the excerpt's pitches and timing sung by ``k`` other singers, fresh vowels."""
    notes = notes_of(e, index)
    spans = [(n.start_s, n.start_s + n.duration_s, n.midi) for n in notes]
    power = []
    for j in range(k):
        rng = np.random.default_rng([index, 33, j])
        again = sung_notes(spans, rng)
        audio = render_melody(again, random_singer(e.voice, rng), sample_rate=SR,
                              seed=int(rng.integers(2**31)), tail_s=0.0)
        power.append(compute_ltas(audio / max(float(np.std(audio)), 1e-12), SR, N_FFT).power)
    ltas = compute_ltas(e.clean, SR, N_FFT)
    ref = type(ltas)(SR, N_FFT, np.mean(power, axis=0))
    path = folder / f"{e.name}-register.json"
    path.write_text(json.dumps(ref.to_json_dict()))
    return path


def self_reference(e: HeldoutExcerpt, folder: Path) -> Path:
    path = folder / f"{e.name}-self.json"
    path.write_text(json.dumps(compute_ltas(e.clean, SR, N_FFT).to_json_dict()))
    return path


def denoised(e: HeldoutExcerpt, run: ChainRun) -> np.ndarray:
    """The run's denoise step output (mono, the excerpt's length)."""
    work = e.master.parent / catalog_run(run, e.voice).key()
    audio = sf.read(next(work.glob("0*-denoise")) / "audio.wav", dtype="float64")[0]
    return (audio.mean(axis=1) if audio.ndim > 1 else audio)[: e.clean.size]


def tracked_reference(e: HeldoutExcerpt, run: ChainRun, table: RegisterTable, folder: Path) -> Path:
    """LTAS JSON of the register table mixed by the pitches tracked on the run's denoised input."""
    ref, summary = register_reference(table, denoised(e, run), SR)
    path = folder / f"{e.name}-tracked.json"
    path.write_text(json.dumps(ref.to_json_dict()))
    print(f"  {e.name}: tracked {summary}", flush=True)
    return path


def main() -> None:
    first, end, cache, tables = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4])
    k = int(sys.argv[5]) if len(sys.argv) > 5 else 4
    tables_of = {v: RegisterTable.from_json_dict(json.loads((tables / f"register-{v}.json").read_text()))
             for v in ("tenor", "soprano")}
    refs = cache / "refs"
    refs.mkdir(parents=True, exist_ok=True)
    excerpts = prepare_excerpts(load_heldout("validation", kind="voice"), end, 5.5, SR, 0, cache, first=first,
                                log=lambda s: None)
    refs_named = ("shipped", "register", "tracked", "self")
    names = ["input", "ltas_eq", "denoise"] + [f"{r}@{s}" for r in refs_named for s in (0.5, 1.0)]
    rows = []
    for i, e in zip(range(first, end), excerpts, strict=True):
        row = {"input": ltas_error_db(e.clean, e.degraded[: e.clean.size], SR, e.response_freqs_hz,
                                      e.response_db)}
        out = run_chain(e, ChainRun("voice-ltas"), Path("models"))
        row["ltas_eq"] = ltas_error_db(e.clean, out.access, SR, e.response_freqs_hz, e.response_db)
        paths = {"shipped": None, "register": resung_reference(e, i, k, refs), "tracked": None,
                 "self": self_reference(e, refs)}
        for ref, path in paths.items():
            if ref == "tracked":
                shipped = ChainRun("voice-ltas", {"ltas_eq": {**EQ, "strength": 0.5}})
                path = tracked_reference(e, shipped, tables_of[e.voice], refs)
                row["denoise"] = ltas_error_db(e.clean, denoised(e, shipped), SR, e.response_freqs_hz,
                                               e.response_db)
            for strength in (0.5, 1.0):
                over = {**EQ, "strength": strength}
                if path is not None:
                    over["reference"] = str(path.resolve())
                eq = run_chain(e, ChainRun("voice-ltas", {"ltas_eq": over}), Path("models")).eq
                row[f"{ref}@{strength}"] = ltas_error_db(e.clean, eq, SR, e.response_freqs_hz, e.response_db)
        rows.append([row[n] for n in names])
        print(f"{e.name[:44]:44s} " + " ".join(f"{row[n]:6.2f}" for n in names), flush=True)
    m = np.array(rows)
    print(f"\n{'mean':44s} " + " ".join(f"{v:6.2f}" for v in m.mean(axis=0)))
    print(f"{'beats input':44s} " + " ".join(f"{int(v):6d}" for v in (m < m[:, :1]).sum(axis=0)))
    print(f"{'beats LTAS-EQ':44s} " + " ".join(f"{int(v):6d}" for v in (m < m[:, 1:2]).sum(axis=0)))
    print("columns: " + " ".join(names) + f"; {m.shape[0]} excerpts, K = {k}")


if __name__ == "__main__":
    main()
