"""Experiment record (session 21): the voice EQ step with an instrument-shape prior in the singers' references.

Not shipped code. For sung validation excerpts FIRST..N-1 it takes the denoised signal of the cached
voice-ltas chain run (the `voice` profile's denoise step has the same settings, so this is the voice EQ
step's input), designs the `voice` profile's chain EQ (max boost 6 dB, no hiss cut, no resonance
spacing) against the singer's reference (models/tenor or models/soprano, as the catalog binds a sung
row) as shipped and with each variant of voice_shape_rule.txt, and scores LSD and third-octave LTAS
error against the clean render, beside the untouched input, LTAS-EQ and the cached chain run.

A variant adds `shape_basis_db` to the singer's reference, its power unchanged: the principal directions
(each one standard deviation) of how single clips of that singer (scripts/make_training_data.py, never a
held-out work) depart from the reference, computed as scripts/build_reference_ltas.py does.

Usage (from the repository root):
    python voice_shape_variants.py CACHE FIRST N OUT.json TENOR_DIR... -- SOPRANO_DIR...
The cache must hold the runs of
    shellac bench-heldout --kind voice --part validation --excerpts N \\
        --rows input,ltas_eq,chain_eq --visqol off --plots 0 --cache CACHE
"""
import json
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import soundfile as sf

sys.path.insert(0, "scripts")
from build_reference_ltas import clips_from_dir, source_shape_basis  # noqa: E402

from shellac.engine.dsp.chain_eq import ChainEqSettings, chain_equalize  # noqa: E402
from shellac.engine.dsp.ltas import compute_ltas  # noqa: E402
from shellac.engine.models.bundle import read_reference_ltas  # noqa: E402
from shellac.lab.evaluation.metrics import lsd  # noqa: E402
from shellac.lab.evaluation.spectral_balance import ltas_error_db  # noqa: E402
from shellac.lab.heldout.material import load_heldout  # noqa: E402
from shellac.lab.heldout.runner import ChainRun, catalog_run, prepare_excerpts  # noqa: E402
from shellac.stages.profiles import load_plan  # noqa: E402

SR, N_FFT = 22050, 4096
VARIANTS = {"shipped": None, "b8": (8, 4.0), "b4": (4, 4.0), "b8w1": (8, 1.0)}
"""name: (shape directions, prior weight λ); None: the reference as shipped."""


def voice_settings() -> ChainEqSettings:
    """The `voice` profile's ltas_eq parameters as the ltas_eq stage turns them into chain settings."""
    p = next(s.params for s in load_plan("voice").steps if s.stage == "ltas_eq")
    return ChainEqSettings(max_boost_db=p.max_boost_db, edge_boost_db=p.edge_boost_db,
                           snr_margin_db=p.snr_margin_db, min_snr_db=p.min_snr_db,
                           boost_per_snr_db=p.boost_per_snr_db, hiss_cut=p.hiss_cut,
                           spread_floor_db=p.spread_floor_db, shape_components=p.shape_components,
                           shape_prior_weight=p.shape_prior_weight,
                           resonance_spacing_octaves=p.resonance_spacing_octaves)


def with_basis(singer: str, folders: list[Path]):  # noqa: ANN201
    """The singer's shipped reference and the same with 8 shape directions of ``folders``' clips."""
    ref = read_reference_ltas(Path("models") / singer)
    clips = [c for folder in folders for c in clips_from_dir(folder, SR, [])[0]]
    powers = [compute_ltas(c, SR, ref.n_fft).power for c in clips]
    basis = source_shape_basis(powers, [singer] * len(powers), ref.power, SR, ref.n_fft, 8)
    print(f"{singer}: {len(clips)} clips; basis std (dB) of the 8 directions at 125 Hz-8 kHz:",
          [round(float(np.sqrt(np.mean(row ** 2))), 2) for row in basis], flush=True)
    return ref, replace(ref, shape_basis_db=basis)


def main() -> None:
    """Score every variant on every excerpt; write OUT.json in session 19's summarise_variants format."""
    cache, first, n, out = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), Path(sys.argv[4])
    split = sys.argv.index("--")
    refs = {"tenor": with_basis("tenor", [Path(p) for p in sys.argv[5:split]]),
            "soprano": with_basis("soprano", [Path(p) for p in sys.argv[split + 1:]])}
    base = voice_settings()
    part = load_heldout("validation", kind="voice")
    rows = []
    for e in prepare_excerpts(part, n, 5.5, SR, 0, cache, log=lambda s: None)[first:]:
        size = e.clean.size

        def mono(path: Path, size: int = size) -> np.ndarray:
            x, _ = sf.read(path, dtype="float64")
            return (x if x.ndim == 1 else x.mean(axis=1))[:size]

        def score(y: np.ndarray, e=e) -> list[float]:  # noqa: ANN001
            return [lsd(e.clean, y), ltas_error_db(e.clean, y, e.sample_rate, e.response_freqs_hz, e.response_db)]

        chain_dir = e.master.parent / catalog_run(ChainRun("voice-ltas", {"ltas_eq": {"method": "chain"}}),
                                                  e.voice).key()
        ltas_dir = e.master.parent / catalog_run(ChainRun("voice-ltas"), e.voice).key()
        den = mono(chain_dir / "01-denoise" / "audio.wav")
        row: dict[str, object] = {"name": e.name, "input": score(e.degraded[:size]),
                                  "ltas_eq": score(mono(ltas_dir / "02-ltas_eq" / "audio.wav")),
                                  "cached_chain": score(mono(chain_dir / "02-ltas_eq" / "audio.wav"))}
        shipped, shaped = refs[e.voice]
        for name, variant in VARIANTS.items():
            if variant is None:
                ref, settings = shipped, base
            else:
                ref, settings = shaped, replace(base, shape_components=variant[0], shape_prior_weight=variant[1])
            y, _, _ = chain_equalize(den, SR, ref, n_fft=N_FFT, settings=settings)
            row[name] = score(y)
        rows.append(row)
        print(e.name, {k: [round(v, 3) for v in row[k]] for k in ("input", "ltas_eq", "cached_chain", *VARIANTS)},
              flush=True)
    out.write_text(json.dumps({"font": "voice", "first": first, "excerpts": rows}, indent=1))


if __name__ == "__main__":
    main()
