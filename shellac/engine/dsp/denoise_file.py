"""Declicking then hiss gating of a file, chunk by chunk with the context each needs."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from shellac.engine.audio_io import probe
from shellac.engine.dsp.declick import Click, ClickMap, LongGaps, declick
from shellac.engine.dsp.denoise import gate
from shellac.engine.stream import Chunk, map_file

# Audio either side of each processed chunk, seconds: covers the AR blocks of the declicker
# and the STFT frames and time constant of the gate.
CONTEXT_S = 2.0


@dataclass(frozen=True)
class DeclickSettings:
    """Keywords of :func:`~shellac.engine.dsp.declick.declick` (threshold in robust stds, times in ms),
    with its defaults (the settings benchmarked in docs/benchmarks.md; the denoise stage's defaults)."""

    threshold: float = 5.0
    order: int = 128
    max_gap_ms: float = 3.0
    block_ms: float = 150.0
    pad_ms: float = 0.1
    click_ms: float = 1.5
    long_gaps: LongGaps = "lsar"


@dataclass(frozen=True)
class GateSettings:
    """Keywords of :func:`~shellac.engine.dsp.denoise.gate` (n_fft in samples)."""

    stationary: bool = True
    prop_decrease: float = 0.8
    n_std_thresh: float = 1.5
    n_fft: int = 2048
    mask_smooth_hz: float | None = None
    mask_smooth_ms: float | None = None


@dataclass(frozen=True)
class DenoiseResult:
    """What :func:`denoise_file` found and did."""

    click_map: ClickMap
    removed_energy_db: float
    """Energy removed relative to the input's, dB."""


def denoise_file(
    in_path: Path,
    out_path: Path,
    noise: np.ndarray | None,
    *,
    declick_settings: DeclickSettings | None,
    gate_settings: GateSettings,
    chunk_s: float = 30.0,
) -> DenoiseResult:
    """Declick (unless ``declick_settings`` is None) then gate ``in_path`` into ``out_path``.

    Each chunk is processed with ``CONTEXT_S`` of audio either side, so memory
    follows the chunk size, not the recording's length; chunks lie on the gate's
    hop grid (noisereduce: n_fft/4), so they see the frames a one-shot run would.

    Parameters
    ----------
    noise:
        The gate's noise sample (None: non-stationary gating).
    chunk_s:
        Length of the chunks processed at once, seconds (before the context is added).

    Returns every click found (sample positions in the file) with the declicker's
    settings, and the energy removed.
    """
    sr = probe(in_path).sample_rate
    clicks: list[Click] = []
    settings: dict[str, object] = {}
    energy = np.zeros(2)  # input energy, removed energy

    def process(chunk: Chunk) -> np.ndarray:
        audio = chunk.data
        if declick_settings is not None:
            audio, click_map = declick(audio, sr, **dataclasses.asdict(declick_settings))
            settings.update(click_map.settings)
            centre_end = chunk.left + chunk.stop - chunk.start
            offset = chunk.start - chunk.left
            clicks.extend(dataclasses.replace(c, start=c.start + offset)
                          for c in click_map.clicks if chunk.left <= c.start < centre_end)
        out = gate(audio, sr, noise, **dataclasses.asdict(gate_settings))
        before, after = chunk.centre(chunk.data).astype(np.float64), chunk.centre(out)
        energy[0] += float(np.sum(before**2))
        energy[1] += float(np.sum((before - after) ** 2))
        return after

    map_file(in_path, out_path, process, chunk_s=chunk_s, margin_s=CONTEXT_S, align=gate_settings.n_fft // 4)
    removed_db = float(10 * np.log10(energy[1] / max(energy[0], 1e-20) + 1e-20))
    click_map = ClickMap(sample_rate=sr, clicks=tuple(clicks), settings=settings)
    return DenoiseResult(click_map, removed_db)
