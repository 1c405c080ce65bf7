"""The report's figures, drawn with matplotlib (Agg) into inline base64 PNG data URIs."""

from __future__ import annotations

import base64
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers and CI

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from scipy.signal import spectrogram  # noqa: E402

from shellac.engine.audio_io import read_audio  # noqa: E402

# Long recordings are shown by their first part: the page stays small and quick to draw.
MAX_SPECTROGRAM_S = 30.0
DPI = 72
DB_FLOOR = -100.0


def png_data_uri(fig: Figure) -> str:
    """Render ``fig`` as PNG and return it as a ``data:image/png;base64,...`` URI (closes the figure)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _mono_excerpt(path: Path, max_s: float) -> tuple[np.ndarray, int]:
    audio, sr = read_audio(path, frames=-1)
    return audio[:, : int(max_s * sr)].mean(axis=0), sr


def _spectrogram_db(mono: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_fft = 1024 if sr <= 24_000 else 2048
    freqs, times, power = spectrogram(mono, fs=sr, window="hann", nperseg=n_fft, noverlap=n_fft * 3 // 4,
                                      scaling="spectrum", mode="psd")
    return freqs, times, np.maximum(10.0 * np.log10(power + 1e-20), DB_FLOOR)


def spectrogram_pair(before: Path, after: Path, max_s: float = MAX_SPECTROGRAM_S) -> str:
    """Before (ingest's working copy) and after (access copy) spectrograms on one colour scale, dB."""
    panels = [("before (master)", *_mono_excerpt(before, max_s)), ("after (access copy)",
                                                                   *_mono_excerpt(after, max_s))]
    spectra = [(label, *_spectrogram_db(mono, sr)) for label, mono, sr in panels]
    top = max(float(s[3].max()) for s in spectra)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3), sharey=True)
    for ax, (label, freqs, times, db) in zip(axes, spectra, strict=True):
        mesh = ax.pcolormesh(times, freqs / 1000.0, db, shading="auto", cmap="magma",
                             vmin=top - 90.0, vmax=top)
        ax.set_title(label)
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("frequency (kHz)")
    fig.colorbar(mesh, ax=axes, label="power (dB)")
    return png_data_uri(fig)


def ltas_curves(curves: Mapping[str, Mapping[str, Any]]) -> str:
    """LTAS curves (dB) per stage that wrote them: observed, reference, and the result."""
    fig, axes = plt.subplots(1, len(curves), figsize=(5 * len(curves), 3), squeeze=False)
    for ax, (stage, data) in zip(axes[0], curves.items(), strict=True):
        freqs = np.asarray(data["freqs_hz"], dtype=float)
        keep = freqs > 0  # log axis
        if stage == "ltas_eq":
            observed = np.asarray(data["observed_db"], dtype=float)
            lines = {"observed": observed, "reference": data.get("reference_db"),
                     "after EQ": observed + np.asarray(data["applied_gain_db"], dtype=float)}
        else:
            lines = {"input": data.get("input_db"), "reference": data.get("reference_db"),
                     "output": data.get("output_db")}
        for label, values in lines.items():
            if values is not None and len(values) == len(freqs):
                ax.semilogx(freqs[keep], np.asarray(values, dtype=float)[keep], label=label, lw=1)
        for index, (lo, hi) in enumerate(data.get("generated_bands_hz") or []):
            ax.axvspan(lo, hi, color="tab:green", alpha=0.12, label="generated" if index == 0 else None)
        ax.set_title(f"LTAS ({stage})")
        ax.set_xlabel("frequency (Hz)")
        ax.set_ylabel("level (dB)")
        ax.legend(fontsize=7)
    return png_data_uri(fig)


def filter_responses(filters: Mapping[str, Any]) -> str:
    """The blind filter's estimated magnitude response of every block (dB over frequency in Hz)."""
    freqs = np.asarray(filters["freqs_hz"], dtype=float)
    fig, ax = plt.subplots(figsize=(6, 3))
    blocks = [b for b in filters.get("blocks", []) if b.get("filter_response_db")]
    cmap = plt.get_cmap("viridis", max(2, len(blocks)))
    for i, block in enumerate(blocks):
        response = np.asarray(block["filter_response_db"], dtype=float)
        ax.semilogx(freqs[: response.size], response, color=cmap(i), lw=1,
                    label=f"block {block.get('index', i)}")
    ax.set_title(f"estimated degradation filter, {len(blocks)} block(s)")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("gain (dB)")
    if 0 < len(blocks) <= 8:
        ax.legend(fontsize=7)
    return png_data_uri(fig)
