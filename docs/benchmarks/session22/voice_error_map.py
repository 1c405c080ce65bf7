"""Experiment record (session 22): where the voice EQ step's LSD and LTAS error lie, against the input.

Not shipped code. For sung validation excerpts FIRST..N-1 it takes, from the cached voice-ltas chain
runs, the untouched input, the denoised signal (the `voice` profile's denoise step has the same
settings), LTAS-EQ, and recomputes the `voice` profile's EQ step from the denoised signal exactly as
session 21's voice_shape_variants.py does ("shipped"). Per row and frequency region (relative to
the true chain's cut-offs: below the high-pass, the pass band, above the low-pass) it prints:
  - LSD: the region's share of the per-frame mean-square dB difference (shares add up to the
    mean over frames of LSD's squared per-frame distance) and the region's mean signed dB
    difference (row minus clean, after LSD's level alignment; + means too loud);
  - LTAS error (pass band only, as `ltas_error_db`): its mean square per region and signed mean.

With STRENGTH it also maps the `voice` profile run with `ltas_eq.strength` = STRENGTH as bench-heldout
`--set ltas_eq.strength=STRENGTH` ran it (read from the cache through the chain executor, which reuses
its finished steps): its EQ step ("eq_s"), generative output ("babe2") and access copy ("access").

Usage (from the repository root, PYTHONPATH=.):
    python docs/benchmarks/session22/voice_error_map.py CACHE FIRST N [STRENGTH]
The cache must hold the runs of
    shellac bench-heldout --kind voice --part validation --excerpts N \\
        --rows input,ltas_eq,chain_eq --visqol off --plots 0 --cache CACHE
(and, with STRENGTH, of `--rows eq_step,babe2,babe2_gated --set ltas_eq.strength=STRENGTH`)
"""
import sys
from pathlib import Path

import numpy as np
import soundfile as sf
from scipy.signal import stft

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "session21"))
from voice_shape_variants import voice_settings  # noqa: E402

from shellac.engine.dsp.chain_eq import chain_equalize  # noqa: E402
from shellac.engine.models.bundle import read_reference_ltas  # noqa: E402
from shellac.lab.evaluation.metrics import interp_log_freq, least_squares_gain, log_grid, lsd, pass_band  # noqa: E402
from shellac.lab.evaluation.spectral_balance import BALANCE_N_FFT, ltas_error_db, smoothed_ltas_db  # noqa: E402
from shellac.lab.heldout.material import load_heldout  # noqa: E402
from shellac.lab.heldout.runner import ChainRun, catalog_run, prepare_excerpts, run_chain  # noqa: E402

SR, N_FFT = 22050, 4096
REGIONS = ("below hp", "pass", "above lp")
FLOOR = 1e-10  # LSD's power floor


def frame_db(x: np.ndarray) -> np.ndarray:
    """LSD's STFT power in dB (2048 / 512, Hann), bins x frames."""
    setup = {"window": "hann", "nperseg": 2048, "noverlap": 1536, "boundary": None, "padded": False}
    _, _, spec = stft(np.asarray(x, dtype=np.float64), **setup)
    return 10.0 * np.log10(np.abs(spec) ** 2 + FLOOR)


def main() -> None:
    """Print per-excerpt figures, then per-voice and overall region tables."""
    cache, first, n = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    strength = float(sys.argv[4]) if len(sys.argv) > 4 else None
    refs = {v: read_reference_ltas(Path("models") / v) for v in ("tenor", "soprano")}
    settings = voice_settings()
    freqs_lsd = np.fft.rfftfreq(2048, 1.0 / SR)
    freqs_bal = np.fft.rfftfreq(BALANCE_N_FFT, 1.0 / SR)
    acc: dict[tuple[str, str], list[np.ndarray]] = {}
    for e in prepare_excerpts(load_heldout("validation", kind="voice"), n, 5.5, SR, 0, cache,
                              log=lambda s: None)[first:]:
        size, p = e.clean.size, e.params

        def mono(path: Path, size: int = size) -> np.ndarray:
            x, _ = sf.read(path, dtype="float64")
            return (x if x.ndim == 1 else x.mean(axis=1))[:size]

        chain_dir = e.master.parent / catalog_run(ChainRun("voice-ltas", {"ltas_eq": {"method": "chain"}}),
                                                  e.voice).key()
        ltas_dir = e.master.parent / catalog_run(ChainRun("voice-ltas"), e.voice).key()
        den = mono(chain_dir / "01-denoise" / "audio.wav")
        eq, _, _ = chain_equalize(den, SR, refs[e.voice], n_fft=N_FFT, settings=settings)
        rows = {"input": e.degraded[:size], "denoise": den, "eq_step": eq,
                "ltas_eq": mono(ltas_dir / "02-ltas_eq" / "audio.wav")}
        if strength is not None:
            out = run_chain(e, ChainRun("voice", {"ltas_eq": {"strength": strength}}), Path("models"))
            assert out.eq is not None and out.generative is not None
            rows.update({"eq_s": out.eq, "babe2": out.generative, "access": out.access})
        clean_db = frame_db(e.clean)
        lsd_region = np.select([freqs_lsd < p.highpass_hz, freqs_lsd < p.lowpass_hz], [0, 1], 2)
        grid = log_grid(SR / 2.0)
        band = pass_band(grid, interp_log_freq(grid, e.response_freqs_hz, e.response_db), SR / 2.0)
        g = grid[band]
        bal_region = np.select([g < 2 * p.highpass_hz, g < p.lowpass_hz / 2], [0, 1], 2)
        line = [e.name]
        for name, y in rows.items():
            y = np.asarray(y, dtype=np.float64)
            diff = frame_db(y * least_squares_gain(e.clean, y)) - clean_db
            ms = np.mean(diff ** 2, axis=0)
            assert abs(float(np.mean(np.sqrt(ms))) - lsd(e.clean, y)) < 1e-9
            share = np.array([np.mean(np.sum(diff[lsd_region == r] ** 2, axis=0) / diff.shape[0])
                              for r in range(3)])
            sign = np.array([float(np.mean(diff[lsd_region == r])) for r in range(3)])
            d = interp_log_freq(grid, freqs_bal, smoothed_ltas_db(y, SR) - smoothed_ltas_db(e.clean, SR))[band]
            d = d - d.mean()
            err = float(np.sqrt(np.mean(d ** 2)))
            assert abs(err - ltas_error_db(e.clean, y, SR, e.response_freqs_hz, e.response_db)) < 1e-9
            bal = np.array([np.sum(d[bal_region == r] ** 2) / d.size for r in range(3)])
            bsign = np.array([float(d[bal_region == r].mean()) if (bal_region == r).any() else np.nan
                              for r in range(3)])
            for key in ((e.voice, name), ("all", name)):
                acc.setdefault(key, []).append(np.concatenate([[lsd(e.clean, y), err], share, sign, bal, bsign]))
            line.append(f"{name} {lsd(e.clean, y):.2f}/{err:.2f}")
        print("  ".join(line), f"(hp {p.highpass_hz:.0f}, lp {p.lowpass_hz:.0f}, hiss {p.hiss_snr_db:.1f} dB)",
              flush=True)
    print("\nLSD / LTAS error, then LSD mean-square share and signed dB per region (below hp, pass, above lp);")
    print("then LTAS-error mean square and signed dB per region (< 2 hp, 2 hp..lp/2, > lp/2; pass band only)")
    for group in ("tenor", "soprano", "all"):
        for name in dict.fromkeys(name for g, name in acc if g == group):
            a = np.nanmean(np.array(acc[(group, name)]), axis=0)
            print(f"{group:8s}{name:9s} {a[0]:6.2f}/{a[1]:5.2f} | ms " + " ".join(f"{v:7.1f}" for v in a[2:5])
                  + " | dB " + " ".join(f"{v:+6.1f}" for v in a[5:8])
                  + " || ms " + " ".join(f"{v:6.2f}" for v in a[8:11]) + " | dB "
                  + " ".join(f"{v:+5.2f}" for v in a[11:14]))


if __name__ == "__main__":
    main()
