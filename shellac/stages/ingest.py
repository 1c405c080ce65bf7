"""ingest: verify the master is readable audio, record its fixity and probe, make a float working copy."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import numpy as np
from pydantic import Field

from shellac.engine.atomic import atomic_write_json
from shellac.engine.audio_io import probe
from shellac.engine.errors import AudioLoadError
from shellac.engine.stream import ChannelStats, map_file
from shellac.stages.base import Stage, StageContext, StageOutput, StageParams, no_fingerprint


class IngestParams(StageParams):
    """Limits that decide whether a master is worth restoring."""

    max_duration_s: float = Field(
        default=4 * 3600.0, gt=0, description="Longest accepted recording, in seconds."
    )
    min_duration_s: float = Field(
        default=1.0, ge=0, description="Shortest accepted recording, in seconds."
    )
    max_clipped_fraction: float = Field(
        default=0.5, gt=0, le=1,
        description="Fail when more than this fraction of samples sit at full scale.",
    )
    silence_dbfs: float = Field(
        default=-90.0, le=0, description="A recording whose peak is below this is silent (dBFS)."
    )


def _db(x: float) -> float:
    return float(20.0 * np.log10(max(x, 1e-12)))


def run(inputs: Mapping[str, Path], params: IngestParams, ctx: StageContext) -> StageOutput:
    """Probe and decode the master chunk by chunk, reject unusable audio, write ``audio.wav`` (float32)."""
    master = inputs["master"]
    info = probe(master)
    if info.duration_s > params.max_duration_s:
        raise AudioLoadError(
            f"{master.name} lasts {info.duration_s:.0f} s, over the {params.max_duration_s:.0f} s "
            "limit (raise ingest.max_duration_s to accept it)"
        )
    if info.duration_s < params.min_duration_s:
        raise AudioLoadError(
            f"{master.name} lasts {info.duration_s:.3f} s, shorter than the "
            f"{params.min_duration_s} s minimum"
        )
    ctx.stage_dir.mkdir(parents=True, exist_ok=True)
    out = ctx.stage_dir / "audio.wav"
    stats = map_file(master, out, lambda chunk: chunk.centre(chunk.data))
    try:
        _check_content(master.name, stats, params)
    except AudioLoadError:
        out.unlink(missing_ok=True)
        raise
    rms = float(np.sqrt(np.mean(stats.squares / max(1, stats.count))))
    metrics = {
        **info.to_dict(),
        "frames_decoded": stats.count,
        "peak_dbfs": round(_db(stats.peak), 2),
        "rms_dbfs": round(_db(rms), 2),
        "clipped_fraction": round(stats.clipped / max(1, stats.count * info.channels), 6),
        "dc_offset": round(float(np.mean(stats.mean)), 6),
        "master_sha256": ctx.master.sha256,
    }
    probe_path = ctx.stage_dir / "probe.json"
    atomic_write_json(probe_path, metrics)
    return StageOutput(artifacts={"audio": out, "probe": probe_path}, metrics=json.loads(json.dumps(metrics)))


def _check_content(name: str, stats: ChannelStats, params: IngestParams) -> None:
    threshold = 10.0 ** (params.silence_dbfs / 20.0)
    if stats.peak < threshold:
        raise AudioLoadError(f"{name} is silent (peak {_db(stats.peak):.1f} dBFS): nothing to restore")
    if float(np.max(stats.std)) < threshold:
        raise AudioLoadError(f"{name} holds only a DC offset ({float(np.mean(stats.mean)):+.4f}), no signal")
    clipped = stats.clipped / max(1, stats.count * stats.total.size)
    if clipped > params.max_clipped_fraction:
        raise AudioLoadError(
            f"{name} is clipped on {100 * clipped:.0f}% of its samples; this is not a usable transfer"
        )


STAGE = Stage(
    name="ingest",
    version="2",
    params_cls=IngestParams,
    consumes=("master",),
    run=run,
    fingerprint=no_fingerprint,
    description="fixity (SHA-256), audio probe, validation, float working copy",
)
