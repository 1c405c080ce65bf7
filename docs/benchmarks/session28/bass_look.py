"""Experiment record (session 28): look at the withheld bass boost, not only its means.

Not shipped code. For validation excerpts of a bench-heldout cache: third-octave LTAS of the untouched
input and of the access copies (shipped and the candidates) minus the clean render's (each levelled to
the clean one over 500-4000 Hz, as a listener would set the volume), plotted per excerpt; and the
bass floor (the 10th percentile over 46 ms frames of the power in 60-250 Hz, levelled the same way), in
dB against the untouched input's: what a listener hears in the bass between notes.
Usage (from the repository root):
    python bass_look.py CACHE OUT.png FIRST LAST INDEX [INDEX ...] \
        --runs LABEL=KEY [LABEL=KEY ...]
"""
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
from scipy.signal import stft  # noqa: E402

from shellac.engine.dsp.ltas import third_octave_smooth  # noqa: E402
from shellac.lab.heldout.material import load_heldout  # noqa: E402
from shellac.lab.heldout.runner import prepare_excerpts  # noqa: E402

SR, N_FFT = 22050, 2048


def mean_power(x: np.ndarray) -> np.ndarray:
    spec = np.abs(stft(x, fs=SR, nperseg=N_FFT, noverlap=N_FFT * 3 // 4)[2]) ** 2
    return third_octave_smooth(spec.mean(axis=1), SR, N_FFT)


def bass_floor_db(x: np.ndarray) -> float:
    freqs, _, spec = stft(x, fs=SR, nperseg=1024, noverlap=768)
    band = (np.abs(spec[(freqs >= 60) & (freqs <= 250)]) ** 2).sum(axis=0)
    return float(10 * np.log10(np.percentile(band, 10) + 1e-30))


def main() -> None:
    args = sys.argv[1:]
    runs = dict(a.split("=", 1) for a in args[args.index("--runs") + 1:])
    cache, out, first, last, *indices = args[: args.index("--runs")]
    wanted = [int(i) for i in indices]
    excerpts = prepare_excerpts(load_heldout("validation"), int(last) + 1, 5.5, SR, 0, Path(cache),
                                first=int(first), log=lambda _: None)
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / SR)
    band = (freqs >= 500) & (freqs <= 4000)
    fig, axes = plt.subplots(len(wanted), 1, figsize=(9, 3.2 * len(wanted)), squeeze=False)
    for ax, index in zip(axes[:, 0], wanted, strict=True):
        ex = next(e for e in excerpts if e.name.startswith(f"{index:02d}-"))
        folder = ex.master.parent
        clean = mean_power(ex.clean)
        signals = {"input": ex.degraded}
        for label, key in runs.items():
            signals[label] = sf.read(folder / key / "03-generative_eq" / "audio.wav", dtype="float64",
                                     always_2d=True)[0].mean(axis=1)[: ex.clean.size]
        floors, reference_floor = [], None
        for label, x in signals.items():
            p = mean_power(x)
            p *= clean[band].sum() / p[band].sum()
            keep = freqs >= 30
            ax.semilogx(freqs[keep], 10 * np.log10(p[keep] / clean[keep]), label=label)
            floor = bass_floor_db(x) + 10 * np.log10(clean[band].sum() / mean_power(x)[band].sum())
            reference_floor = floor if reference_floor is None else reference_floor
            floors.append(f"{label} {floor - reference_floor:+.1f}")
        ax.axvline(ex.params.highpass_hz, color="grey", ls=":")
        ax.axvline(ex.params.lowpass_hz, color="grey", ls=":")
        ax.axhline(0, color="black", lw=0.5)
        ax.set_ylim(-25, 25)
        ax.set_ylabel("dB vs clean")
        ax.set_title(f"{ex.name}: third-octave LTAS minus clean (cut-offs dotted)", fontsize=9)
        ax.legend(fontsize=7, loc="lower left")
        print(f"{ex.name}: bass floor (10th pct, 60-250 Hz) vs the input's, dB: " + ", ".join(floors[1:]))
    axes[-1, 0].set_xlabel("Hz")
    fig.tight_layout()
    fig.savefig(out, dpi=80)


if __name__ == "__main__":
    main()
