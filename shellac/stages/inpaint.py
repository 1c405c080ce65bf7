"""inpaint: fill long gaps and dropouts (short ones by LSAR, longer by a prior, some from LSAR's fill)."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field

from shellac.engine.atomic import atomic_write_json
from shellac.engine.audio_io import probe
from shellac.engine.device import resolve_device
from shellac.engine.errors import ParameterError
from shellac.engine.restoration.inpaint import InpaintSettings, inpaint
from shellac.stages.base import Stage, StageContext, StageOutput
from shellac.stages.guided import GuidedRestorationParams, model_fingerprint


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
    lsar_max_ms: float = Field(
        default=0.0, ge=0, le=100,
        description="Stretches up to this long (ms, margins included; runs under LSAR's 23 ms order "
                    "apart count as one, first start to last end) are filled by least-squares AR "
                    "interpolation (LSAR), longer ones by the diffusion prior; 0: all by the prior "
                    "(the piano profiles: 50).")
    lsar_warm_max_ms: float = Field(
        default=0.0, ge=0, le=2000,
        description="Longer stretches up to this long (ms) that LSAR can fill are filled by it first and "
                    "the prior restores them from that fill, starting at lsar_warm_sigma; 0: the prior "
                    "fills them from the zeros at sigma_start.")
    lsar_warm_sigma: float = Field(
        default=0.25, gt=0, le=4,
        description="Noise level the prior starts from on LSAR's fill, in units of the model's σ_data "
                    "(sigma_start is in the model's amplitude units; σ_data is 0.063 for piano, 1 for "
                    "voice).")


    def inpaint_settings(self) -> InpaintSettings:
        """The engine's inpainting settings."""
        return InpaintSettings(guided=self.guided_settings(), detect_dropouts=self.detect_dropouts,
                               min_zero_ms=self.min_zero_ms, dropout_drop_db=self.dropout_drop_db,
                               max_gap_s=self.max_gap_s, margin_ms=self.margin_ms,
                               lsar_max_ms=self.lsar_max_ms, warm_max_ms=self.lsar_warm_max_ms,
                               warm_sigma=self.lsar_warm_sigma)


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
    """Fill gaps in ``audio``; write ``audio.wav`` (float32, same rate) and ``gaps.json``.

    The recording is streamed: the dropout and gap maps and each restored
    channel at the model's rate are memory-mapped files in ``work/``.
    """
    started = time.monotonic()
    device = resolve_device(ctx.device)
    info = probe(inputs["audio"])
    sr = info.sample_rate
    bundle = ctx.models.load(params.model, device=str(device))
    map_path, gaps = None, []
    if params.use_click_map:
        map_path, gaps, map_sr = click_map_from_history(ctx)
        if map_path is not None and map_sr not in (None, sr):
            raise ParameterError(f"click map {map_path} is at {map_sr} Hz but the audio is at {sr} Hz")
    path, work = ctx.stage_dir / "audio.wav", ctx.stage_dir / "work"
    result = inpaint(inputs["audio"], path, bundle, gaps, params.inpaint_settings(), work=work, device=device,
                     checkpoints=ctx.stage_dir / "blocks",
                     checkpoint_key={"params": params.model_dump(mode="json"), "code": ctx.code_hash})
    shutil.rmtree(work)
    by_lsar, warm = set(result.by_lsar), set(result.warm_started)
    report: dict[str, Any] = {
        "sample_rate": sr, "method": params.method,
        "click_map": str(map_path.relative_to(ctx.recording_dir)) if map_path is not None else None,
        "from_click_map": result.given, "dropouts_found": result.dropouts,
        "too_long_skipped": result.too_long_skipped,
        "gaps": [{"start_sample": s, "length_samples": ln, "start_s": round(s / sr, 6),
                  "length_ms": round(1000 * ln / sr, 3),
                  "filled_by": "lsar" if (s, ln) in by_lsar else "lsar+prior" if (s, ln) in warm else "prior"}
                 for s, ln in result.filled],
    }
    report_path = ctx.stage_dir / "gaps.json"
    atomic_write_json(report_path, report)
    seconds = time.monotonic() - started
    return StageOutput(
        artifacts={"audio": path, "gaps": report_path},
        metrics={"gaps_filled": len(result.filled), "samples_filled": sum(ln for _, ln in result.filled),
                 "gaps_filled_by_lsar": len(result.by_lsar), "gaps_warm_started": len(result.warm_started),
                 "from_click_map": result.given, "dropouts_found": result.dropouts,
                 "too_long_skipped": result.too_long_skipped, "method": params.method,
                 "model_checksum": bundle.checksum, "seconds": round(seconds, 2),
                 "real_time_factor": round(seconds / info.duration_s, 3)},
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
