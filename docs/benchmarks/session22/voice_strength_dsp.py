"""Experiment record (session 22), stage A of voice_strength_rule.txt: the voice EQ step at strengths 1, 0.5, 0.

Not shipped code. For sung validation excerpts FIRST..N-1 it recomputes the `voice` profile's EQ step
from the cached denoised signal (as voice_error_map.py does) with ltas_eq.strength 1 (shipped), 0.5 and
0 (the denoised signal itself) and prints mean LSD / LTAS error per singer and over all.

Usage (from the repository root, PYTHONPATH=.):
    python docs/benchmarks/session22/voice_strength_dsp.py CACHE FIRST N
(the cache as voice_error_map.py's)
"""
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "session21"))
from voice_shape_variants import voice_settings  # noqa: E402

from shellac.engine.dsp.chain_eq import chain_equalize  # noqa: E402
from shellac.engine.models.bundle import read_reference_ltas  # noqa: E402
from shellac.lab.evaluation.metrics import lsd  # noqa: E402
from shellac.lab.evaluation.spectral_balance import ltas_error_db  # noqa: E402
from shellac.lab.heldout.material import load_heldout  # noqa: E402
from shellac.lab.heldout.runner import ChainRun, catalog_run, prepare_excerpts  # noqa: E402

SR, N_FFT = 22050, 4096
STRENGTHS = (1.0, 0.5, 0.0)


def main() -> None:
    """Print per-excerpt and mean scores of each strength."""
    cache, first, n = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    refs = {v: read_reference_ltas(Path("models") / v) for v in ("tenor", "soprano")}
    base = voice_settings()
    scores: dict[str, list[list[float]]] = {}
    for e in prepare_excerpts(load_heldout("validation", kind="voice"), n, 5.5, SR, 0, cache,
                              log=lambda s: None)[first:]:
        chain_dir = e.master.parent / catalog_run(ChainRun("voice-ltas", {"ltas_eq": {"method": "chain"}}),
                                                  e.voice).key()
        den, _ = sf.read(chain_dir / "01-denoise" / "audio.wav", dtype="float64")
        den = (den if den.ndim == 1 else den.mean(axis=1))[: e.clean.size]
        line = [e.name]
        for s in STRENGTHS:
            y, _, _ = chain_equalize(den, SR, refs[e.voice], n_fft=N_FFT, settings=replace(base, strength=s))
            if s == 0.0:
                assert np.allclose(y, den, atol=1e-9)
            v = [lsd(e.clean, y), ltas_error_db(e.clean, y, SR, e.response_freqs_hz, e.response_db)]
            for group in (e.voice, "all"):
                scores.setdefault(f"{group} s={s:g}", []).append(v)
            line.append(f"s={s:g} {v[0]:.2f}/{v[1]:.2f}")
        print("  ".join(line), flush=True)
    for key, values in scores.items():
        a = np.mean(np.array(values), axis=0)
        print(f"{key:14s} LSD {a[0]:.3f}  LTAS error {a[1]:.3f}  (n {len(values)})")


if __name__ == "__main__":
    main()
