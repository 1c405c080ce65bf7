"""declip: estimate the clipping level, find clipped samples, restore them with a diffusion prior."""

from __future__ import annotations

import shutil
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field

from shellac.engine.atomic import atomic_write_json
from shellac.engine.audio_io import probe
from shellac.engine.device import resolve_device
from shellac.engine.restoration.declip import DeclipResult, DeclipSettings, declip
from shellac.stages.base import Stage, StageContext, StageOutput
from shellac.stages.guided import GuidedRestorationParams, model_fingerprint


class DeclipParams(GuidedRestorationParams):
    """Clip detection and the restoration settings."""

    clip_level: float | None = Field(default=None, gt=0, le=1,
                                     description="Known clipping level (full scale = 1); None: estimate it.")
    min_clipped_fraction: float = Field(default=1e-4, ge=0, le=0.5,
                                        description="Below this share of clipped samples, copy the audio.")

    def declip_settings(self) -> DeclipSettings:
        """The engine's declipping settings."""
        return DeclipSettings(guided=self.guided_settings(), clip_level=self.clip_level,
                              min_clipped_fraction=self.min_clipped_fraction)


def declip_report(result: DeclipResult, method: str) -> dict[str, Any]:
    """``clipping.json``: the estimate, whether and how samples were restored, peaks in and out."""
    return {"estimate": result.estimate.to_json(), "restored": result.restored, "method": method,
            "clipped_samples_per_channel": result.clipped_per_channel,
            "peak_in": result.peak_in, "peak_out": result.peak_out}


def run(inputs: Mapping[str, Path], params: DeclipParams, ctx: StageContext) -> StageOutput:
    """Declip ``audio``; write ``audio.wav`` (float32, same rate) and ``clipping.json``.

    The recording is streamed: the clipped-sample map and each restored channel
    at the model's rate are memory-mapped files in ``work/``.
    """
    started = time.monotonic()
    device = resolve_device(ctx.device)
    info = probe(inputs["audio"])
    # Load first: a missing model must fail the stage even when nothing is clipped.
    bundle = ctx.models.load(params.model, device=str(device))
    path, work = ctx.stage_dir / "audio.wav", ctx.stage_dir / "work"
    result = declip(inputs["audio"], path, bundle, params.declip_settings(), work=work, device=device,
                    checkpoints=ctx.stage_dir / "blocks",
                    checkpoint_key={"params": params.model_dump(mode="json"), "code": ctx.code_hash})
    shutil.rmtree(work)
    report_path = ctx.stage_dir / "clipping.json"
    atomic_write_json(report_path, declip_report(result, params.method))
    seconds = time.monotonic() - started
    estimate = result.estimate
    return StageOutput(
        artifacts={"audio": path, "clipping": report_path},
        metrics={"clip_level": round(estimate.level, 6), "clipping_detected": estimate.detected,
                 "clipped_fraction": round(estimate.clipped_fraction, 6), "restored": result.restored,
                 "method": params.method, "model_checksum": bundle.checksum, "seconds": round(seconds, 2),
                 "real_time_factor": round(seconds / info.duration_s, 3)},
    )


STAGE = Stage(
    name="declip",
    version="1",
    params_cls=DeclipParams,
    consumes=("audio",),
    run=run,
    fingerprint=model_fingerprint,
    gpu=True,
    description="declipping: clip-level estimation, diffusion restoration of clipped samples",
)
