"""inpaint: fill the declicker's long gaps and detected dropouts with a diffusion prior."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from pydantic import Field

from shellac.engine.atomic import atomic_write_json
from shellac.engine.audio_io import read_audio, write_audio
from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import Operator
from shellac.engine.operators.inpainting import InpaintingOperator, find_dropouts
from shellac.stages.base import Stage, StageContext, StageOutput
from shellac.stages.declip import GuidedRestorationParams, model_fingerprint, restore_channel, stage_device


class InpaintParams(GuidedRestorationParams):
    """Which gaps to fill, and the restoration settings."""

    use_click_map: bool = Field(default=True,
                                description="Fill the click map's needs_inpainting gaps (from denoise).")
    detect_dropouts: bool = Field(default=True,
                                  description="Also find runs of exact zeros and sudden silences.")
    min_zero_ms: float = Field(default=1.0, gt=0, le=100, description="Shortest run of exact zeros, ms.")
    dropout_drop_db: float = Field(default=40.0, ge=10, le=120,
                                   description="A sudden silence is this far below its surroundings, dB.")
    max_gap_s: float = Field(default=2.0, gt=0, le=10, description="Longest gap filled, seconds.")
    margin_ms: float = Field(default=0.5, ge=0, le=20, description="Gaps widened by this much each side, ms.")


def click_map_from_history(ctx: StageContext) -> tuple[Path | None, list[tuple[int, int]], int | None]:
    """The latest earlier stage's ``click_map`` artifact and its needs_inpainting gaps (start, length)."""
    for record in reversed(ctx.history):
        art = (record.get("outputs") or {}).get("click_map")
        if art:
            path = ctx.recording_dir / art["path"]
            data = json.loads(path.read_text(encoding="utf-8"))
            gaps = [(int(c["start_sample"]), int(c["length_samples"])) for c in data.get("clicks", [])
                    if c.get("status") == "needs_inpainting"]
            return path, gaps, data.get("sample_rate")
    return None, [], None


def run(inputs: Mapping[str, Path], params: InpaintParams, ctx: StageContext) -> StageOutput:
    """Fill gaps in ``audio``; write ``audio.wav`` (float32, same rate) and ``gaps.json``."""
    started = time.monotonic()
    device = stage_device(ctx)
    audio, sr = read_audio(inputs["audio"])
    bundle = ctx.models.load(params.model, device=str(device))
    n = audio.shape[1]
    sources: dict[str, list[tuple[int, int]]] = {"click_map": [], "dropouts": []}
    map_path = None
    if params.use_click_map:
        map_path, gaps, map_sr = click_map_from_history(ctx)
        if map_path is not None and map_sr not in (None, sr):
            raise ParameterError(f"click map {map_path} is at {map_sr} Hz but the audio is at {sr} Hz")
        sources["click_map"] = gaps
    if params.detect_dropouts:
        sources["dropouts"] = find_dropouts(audio, sr, min_zero_ms=params.min_zero_ms,
                                            drop_db=params.dropout_drop_db, max_gap_s=params.max_gap_s)
    margin = int(round(params.margin_ms * sr / 1000))
    max_len = int(round(params.max_gap_s * sr))
    missing = np.zeros(n, dtype=bool)
    skipped = 0
    for start, length in sources["click_map"] + sources["dropouts"]:
        if length > max_len:
            skipped += 1
            continue
        missing[max(0, start - margin):min(n, start + length + margin)] = True

    out = audio.copy()
    if missing.any():
        def operator_for(block_missing: np.ndarray, gain: float) -> Operator:
            return InpaintingOperator(torch.from_numpy((~block_missing).astype(np.float32)).to(device))

        for ch in range(audio.shape[0]):
            out[ch] = restore_channel(audio[ch], sr, missing, bundle, params, operator_for, device,
                                      checkpoint_dir=ctx.stage_dir / "blocks" / f"channel{ch}",
                                      operator_key={"operator": "inpainting"})
    path = ctx.stage_dir / "audio.wav"
    write_audio(path, out, sr, bit_depth=32)
    edges = np.diff(np.concatenate([[0], missing.astype(np.int8), [0]]))
    filled = [(int(s), int(e - s)) for s, e in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1),
                                                   strict=True)]
    report: dict[str, Any] = {
        "sample_rate": sr, "method": params.method,
        "click_map": str(map_path.relative_to(ctx.recording_dir)) if map_path is not None else None,
        "from_click_map": len(sources["click_map"]), "dropouts_found": len(sources["dropouts"]),
        "too_long_skipped": skipped,
        "gaps": [{"start_sample": s, "length_samples": ln, "start_s": round(s / sr, 6),
                  "length_ms": round(1000 * ln / sr, 3)} for s, ln in filled],
    }
    report_path = ctx.stage_dir / "gaps.json"
    atomic_write_json(report_path, report)
    seconds = time.monotonic() - started
    return StageOutput(
        artifacts={"audio": path, "gaps": report_path},
        metrics={"gaps_filled": len(filled), "samples_filled": int(missing.sum()),
                 "from_click_map": len(sources["click_map"]), "dropouts_found": len(sources["dropouts"]),
                 "too_long_skipped": skipped, "method": params.method, "model_checksum": bundle.checksum,
                 "seconds": round(seconds, 2), "real_time_factor": round(seconds / (n / sr), 3)},
    )


STAGE = Stage(
    name="inpaint",
    version="1",
    params_cls=InpaintParams,
    consumes=("audio", "history"),
    run=run,
    fingerprint=model_fingerprint,
    gpu=True,
    description="inpainting of long clicks, skips and dropouts with a diffusion prior",
)
