"""Inpainting of a file: gaps and dropouts, short runs filled by LSAR, long ones by a diffusion prior."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from shellac.engine.audio_io import probe
from shellac.engine.dsp.dropouts import find_dropouts_in_file, flag_runs
from shellac.engine.dsp.lsar_file import LsarSettings, fillable, lsar_fill_file
from shellac.engine.dsp.runs import clusters
from shellac.engine.errors import ParameterError
from shellac.engine.models.loaded import LoadedBundle
from shellac.engine.operators.base import Operator
from shellac.engine.operators.inpainting import InpaintingOperator
from shellac.engine.restoration.known import GuidedSettings, restore_flagged

COLD_START_SIGMAS = 4.0
"""A run the prior fills from the zeros starts at no less than this many σ_data of the model: from
half σ_data the singer models' fills of 10-50 ms dropouts came out 5.9-13.9 dB too quiet, from 4 σ_data
within -4.9 / +4.5 dB (docs/heldout_benchmark.md, "Session 26")."""


@dataclass(frozen=True)
class InpaintSettings:
    """Restoration settings, which gaps to fill (dropout detection, longest gap, margin), which by LSAR.

    ``lsar_max_ms``: a stretch of flagged samples up to this long (margins included)
    with LSAR's order of intact samples on both sides is filled by least-squares
    AR interpolation (``lsar``). A stretch is a cluster of runs fewer than the order
    apart, measured from the first run's start to the last one's end, so a burst of
    short runs counts as the long stretch it damages: LSAR was chosen on stretches up
    to 50 ms (its one solve spans the burst, its memory the square of the burst's
    missing samples). Longer stretches, runs at the
    file's edges and runs within that order of one of them (LSAR would lean on
    its unfilled samples) go to the diffusion prior. 0 (the default): every run by
    the prior. The piano profiles set 50 ms (docs/heldout_benchmark.md, "Session 25").

    ``warm_max_ms``: a longer stretch up to this long that LSAR can fill is filled by
    it first and the prior then starts from that fill, at ``warm_sigma`` times the
    model's σ_data (it keeps LSAR's waveform and gives back the spectrum LSAR's decay
    loses); the rest start from the zeros at the sampler's ``sigma_start``, which for
    a from-scratch fill must be several σ_data. 0 (the default): no warm start. The
    piano profiles set 110 ms and 0.1 (docs/heldout_benchmark.md, "Session 26").
    """

    guided: GuidedSettings
    detect_dropouts: bool = True
    min_zero_ms: float = 1.0
    dropout_drop_db: float = 40.0
    max_gap_s: float = 2.0
    margin_ms: float = 0.5
    lsar_max_ms: float = 0.0
    warm_max_ms: float = 0.0
    warm_sigma: float = 0.25
    lsar: LsarSettings = LsarSettings()


@dataclass(frozen=True)
class InpaintResult:
    """The gaps given and found, those skipped as too long, the filled runs (start, length) in samples,
    the runs of them that LSAR filled, and those the prior restored from LSAR's fill (the rest: the
    prior from the zeros)."""

    given: int
    dropouts: int
    too_long_skipped: int
    filled: list[tuple[int, int]]
    by_lsar: list[tuple[int, int]]
    warm_started: list[tuple[int, int]]


def inpaint(
    source: Path,
    out_path: Path,
    bundle: LoadedBundle,
    gaps: Sequence[tuple[int, int]],
    settings: InpaintSettings,
    *,
    work: Path,
    device: torch.device | str = "cpu",
    checkpoints: Path | None = None,
    checkpoint_key: Mapping[str, Any] | None = None,
) -> InpaintResult:
    """Fill ``gaps`` (start, length in samples) and, if asked, detected dropouts; write ``out_path``.

    Gaps longer than ``max_gap_s`` are left alone; the rest are widened by
    ``margin_ms`` each side. Stretches up to ``lsar_max_ms`` are filled by LSAR
    (:func:`~shellac.engine.dsp.lsar_file.lsar_fill_file`), those up to ``warm_max_ms``
    by LSAR and then the prior from that fill, the others restored from the zeros in
    every channel with an :class:`InpaintingOperator`; all other samples are
    copied bit for bit. The ``inpaint`` stage and the bench call this. See
    :func:`~shellac.engine.restoration.known.restore_flagged` for ``work`` and ``checkpoints``.
    """
    sampler, sigma_data = settings.guided.sampler, bundle.config.sigma_data
    if sampler.sigma_start < COLD_START_SIGMAS * sigma_data:
        raise ParameterError(
            f"sigma_start {sampler.sigma_start:g} is {sampler.sigma_start / sigma_data:.2g} x this model's "
            f"sigma_data ({sigma_data:g}): gaps filled from the zeros would come out too quiet; use at least "
            f"{COLD_START_SIGMAS * sigma_data:g} (sigma_start is in the model's units)")
    warm_start = settings.warm_sigma * sigma_data
    if settings.warm_max_ms > 0 and not warm_start > sampler.sigma_min:
        raise ParameterError(f"warm_sigma {settings.warm_sigma:g} x sigma_data {sigma_data:g} is not above "
                             f"sigma_min {sampler.sigma_min:g}")
    device = torch.device(device)
    info = probe(Path(source))
    sr, n = info.sample_rate, info.frames
    work.mkdir(parents=True, exist_ok=True)
    dropouts: list[tuple[int, int]] = []
    if settings.detect_dropouts:
        dropouts = find_dropouts_in_file(source, work=work, min_zero_ms=settings.min_zero_ms,
                                         drop_db=settings.dropout_drop_db, max_gap_s=settings.max_gap_s)
    margin = int(round(settings.margin_ms * sr / 1000))
    max_len = int(round(settings.max_gap_s * sr))
    missing = np.lib.format.open_memmap(work / "missing.npy", mode="w+", dtype=bool, shape=(n,))
    skipped = 0
    for start, length in [*gaps, *dropouts]:
        if length > max_len:
            skipped += 1
            continue
        missing[max(0, start - margin):min(n, start + length + margin)] = True
    filled = flag_runs(missing)
    order = settings.lsar.samples(sr)[0]
    short = int(round(settings.lsar_max_ms * sr / 1000))
    warm_max = int(round(settings.warm_max_ms * sr / 1000))
    by_lsar: list[tuple[int, int]] = []
    warm: list[tuple[int, int]] = []
    for group in clusters(filled, order):
        span = sum(group[-1]) - group[0][0]
        if fillable(group[0][0], span, n, order):
            if span <= short:
                by_lsar += group
            elif span <= warm_max:
                warm += group
    if by_lsar or warm:
        lsar_path = work / "lsar.wav"
        chosen = set(by_lsar + warm)
        lsar_fill_file(source, by_lsar + warm, lsar_path, settings.lsar,
                       avoid=[r for r in filled if r not in chosen])
        for s, ln in by_lsar:
            missing[s:s + ln] = False
        source = lsar_path

    def operator_for(block_missing: np.ndarray, gain: float) -> Operator:
        return InpaintingOperator(torch.from_numpy((~block_missing).astype(np.float32)).to(device))

    key = {"operator": "inpainting", **(checkpoint_key or {})}
    if warm:
        # The warm-started runs first, from LSAR's fill at a fraction of σ_data; then the rest from the zeros.
        warm_missing = np.lib.format.open_memmap(work / "warm_missing.npy", mode="w+", dtype=bool, shape=(n,))
        for s, ln in warm:
            warm_missing[s:s + ln] = True
            missing[s:s + ln] = False
        warm_path = work / "warm.wav"
        guided = replace(settings.guided, sampler=replace(sampler, sigma_start=warm_start))
        restore_flagged(source, np.broadcast_to(warm_missing, (info.channels, n)), warm_path, bundle,
                        operator_for, guided,
                        work=work / "warm", device=device,
                        checkpoints=None if checkpoints is None else checkpoints / "warm",
                        checkpoint_key={**key, "start": "lsar"})
        source = warm_path
    restore_flagged(source, np.broadcast_to(missing, (info.channels, n)), out_path, bundle, operator_for,
                    settings.guided, work=work, device=device, checkpoints=checkpoints, checkpoint_key=key)
    return InpaintResult(len(gaps), len(dropouts), skipped, filled, by_lsar, warm)

