"""Experiment record (session 24): spectrograms of a voice excerpt's last second, shipped and candidate.

Not shipped code. For excerpt NAME prefix, plots the EQ step's output and the generative output of
the shipped and candidate caches over the last second (STFT 1024, hop 128, dB) into OUT.png.

Usage: python end_spectrogram.py SHIPPED_CACHE VARIANT_CACHE NAME OUT.png
"""
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import soundfile as sf  # noqa: E402
from scipy.signal import stft  # noqa: E402


def run_of(cache: Path, name: str) -> Path:
    """The voice run folder of excerpt ``name``."""
    return next(r for d in (cache / "excerpts").iterdir() if d.name.startswith(name + "-")
                for r in d.iterdir() if re.fullmatch(r"voice-[0-9a-f]{10}", r.name))


def main() -> None:
    """Draw the three panels."""
    shipped, variant, name, out = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], sys.argv[4]
    panels = [("EQ step (both)", run_of(shipped, name) / "02-ltas_eq"),
              ("generative, shipped", run_of(shipped, name) / "03-generative_eq"),
              ("generative, padding unobserved", run_of(variant, name) / "03-generative_eq")]
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.6), sharey=True)
    for ax, (title, folder) in zip(axes, panels):
        audio, sr = sf.read(folder / "audio.wav", always_2d=True)
        tail = audio[-sr:, 0]
        f, t, z = stft(tail, sr, nperseg=1024, noverlap=1024 - 128)
        image = ax.pcolormesh(t - 1.0, f, 20 * np.log10(np.abs(z) + 1e-9), vmin=-120, vmax=-20, shading="auto")
        ax.set_title(title)
        ax.set_xlabel("s before the end")
    axes[0].set_ylabel("Hz")
    fig.colorbar(image, ax=axes, label="dB")
    fig.suptitle(f"{name}: last second")
    fig.savefig(out, dpi=80)


if __name__ == "__main__":
    main()
