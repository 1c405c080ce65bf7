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
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.ticker import FixedLocator, FuncFormatter, NullFormatter  # noqa: E402
from scipy.signal import spectrogram  # noqa: E402

from shellac.engine.audio_io import probe, read_audio  # noqa: E402
from shellac.report.passband import pass_band, recorded_responses, typical_response  # noqa: E402

# Long recordings are shown by their first part: the page stays small and quick to draw.
MAX_SPECTROGRAM_S = 30.0
DPI = 96
DB_FLOOR = -100.0
# The filter plot shows this many dB below the pass-band level: the pass band's shape stays
# readable and the stop band's slopes run off the bottom instead of flattening it.
FILTER_VIEW_DB = 30.0
FILTER_VIEW_OCTAVES = 3.0  # and this many octaves either side of the pass band


def png_data_uri(fig: Figure) -> str:
    """Render ``fig`` as PNG and return it as a ``data:image/png;base64,...`` URI (closes the figure)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=DPI, bbox_inches="tight")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _mono_excerpt(path: Path, max_s: float) -> tuple[np.ndarray, int]:
    info = probe(path)
    audio, sr = read_audio(path, frames=min(info.frames, int(max_s * info.sample_rate)))
    return audio.mean(axis=0), sr


def _spectrogram_db(mono: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n_fft = 1024 if sr <= 24_000 else 2048
    freqs, times, power = spectrogram(mono, fs=sr, window="hann", nperseg=n_fft, noverlap=n_fft * 3 // 4,
                                      scaling="spectrum", mode="psd")
    return freqs, times, np.maximum(10.0 * np.log10(power + 1e-20), DB_FLOOR)


def spectrogram_pair(before: Path, after: Path, max_s: float = MAX_SPECTROGRAM_S) -> str:
    """Before (ingest's working copy) and after (access copy) spectrograms on one colour scale, dB."""
    panels = [("before (master)", *_mono_excerpt(before, max_s)),
              ("after (access copy)", *_mono_excerpt(after, max_s))]
    spectra = [(label, *_spectrogram_db(mono, sr)) for label, mono, sr in panels]
    top = max(float(s[3].max()) for s in spectra)
    fig, axes = plt.subplots(1, 2, figsize=(15, 5), sharey=True)
    for ax, (label, freqs, times, db) in zip(axes, spectra, strict=True):
        mesh = ax.pcolormesh(times, freqs / 1000.0, db, shading="auto", cmap="magma",
                             vmin=top - 90.0, vmax=top)
        ax.set_title(label)
        ax.set_xlabel("time (s)")
    axes[0].set_ylabel("frequency (kHz)")
    fig.colorbar(mesh, ax=axes, label="power (dB)")
    return png_data_uri(fig)


def _hz_ticks(ax: Axes) -> None:
    """Label a log frequency axis at the usual audio frequencies (50, 100, 200, 500, 1k, ...)."""
    ticks = [m * 10**e for e in range(1, 5) for m in (1, 2, 5)]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda f, _: f"{f / 1000:g}k" if f >= 1000 else f"{f:g}"))
    ax.xaxis.set_minor_formatter(NullFormatter())


def ltas_curves(curves: Mapping[str, Mapping[str, Any]]) -> str:
    """LTAS curves (dB) per stage that wrote them: observed, reference, and the result."""
    fig, axes = plt.subplots(1, len(curves), figsize=(max(12.0, 7.5 * len(curves)), 4.5),
                             squeeze=False)
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
        _hz_ticks(ax)
        ax.set_title(f"LTAS ({stage})")
        ax.set_xlabel("frequency (Hz)")
        ax.set_ylabel("level (dB)")
        ax.legend(fontsize=7)
    return png_data_uri(fig)


def filter_responses(filters: Mapping[str, Any]) -> str:
    """The fitted degradation filter's magnitude response (dB over Hz), scaled to its pass band.

    Every recorded response is drawn (one per block, or one for the recording); the
    axes span ``FILTER_VIEW_DB`` below the pass-band level and ``FILTER_VIEW_OCTAVES`` either side
    of the pass band of the typical response (median over blocks), which is shaded with
    its cut-offs marked.
    """
    freqs, curves = recorded_responses(filters)
    fig, ax = plt.subplots(figsize=(12, 4.5))
    cmap = plt.get_cmap("viridis", max(2, len(curves)))
    for i, (label, response) in enumerate(curves):
        ax.semilogx(freqs[: response.size], response, color=cmap(i), lw=1, label=label)
    typical = typical_response(freqs, curves)
    if typical is not None:
        band = pass_band(freqs, typical)
        ax.axvspan(band.low_hz, band.high_hz, color="tab:blue", alpha=0.08,
                   label=f"pass band (within {band.drop_db:.0f} dB of its level)")
        ax.axhline(band.level_db, color="tab:blue", ls=":", lw=1)
        for edge, side, dx in ((band.low_hz, "right", -4), (band.high_hz, "left", 4)):
            ax.axvline(edge, color="tab:blue", ls="--", lw=1)
            ax.annotate(f"{edge:.0f} Hz", (edge, band.level_db - band.drop_db), fontsize=9, ha=side,
                        xytext=(dx, -14), textcoords="offset points", color="tab:blue")
        ax.set_ylim(band.level_db - FILTER_VIEW_DB, max(float(r.max()) for _, r in curves) + 3.0)
        ax.set_xlim(max(float(freqs[0]), band.low_hz / 2**FILTER_VIEW_OCTAVES),
                    min(float(freqs[-1]), band.high_hz * 2**FILTER_VIEW_OCTAVES))
    _hz_ticks(ax)
    ax.set_title(f"estimated degradation filter, {len(curves)} response(s)")
    ax.set_xlabel("frequency (Hz)")
    ax.set_ylabel("gain (dB)")
    ax.grid(True, which="both", alpha=0.3)
    if 0 < len(curves) <= 8:
        ax.legend(fontsize=8)
    return png_data_uri(fig)
