"""separate: split the recording into vocals and accompaniment with HT-Demucs (local weights only)."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import Field

from shellac.engine.atomic import atomic_path
from shellac.engine.separation import find_model_files, load_separation_model
from shellac.engine.separation_stream import separate_file
from shellac.stages.base import Stage, StageContext, StageOutput, StageParams


class SeparateParams(StageParams):
    """HT-Demucs settings; the defaults are demucs's own for the published htdemucs."""

    model: str = Field(
        default="htdemucs",
        description="demucs model name: a <name>.yaml bag or a <name>.th file in model_dir.",
    )
    model_dir: str = Field(
        default="demucs",
        description="Folder holding the demucs weights, relative to the models directory "
        "(or absolute).",
    )
    segment_s: float | None = Field(
        default=None, gt=0.5, le=60,
        description="Chunk length in seconds (at most the model's training segment, 7.8 s for "
        "htdemucs); unset uses the model's.",
    )
    overlap: float = Field(default=0.25, ge=0, le=0.9, description="Overlap between chunks (fraction).")
    shifts: int = Field(
        default=0, ge=0, le=20,
        description="Random time shifts averaged (demucs's shift trick; each costs one more pass).",
    )
    seed: int = Field(default=0, ge=0, description="Seed of the shifts, for reproducible output.")


def model_dir(params: SeparateParams, ctx: StageContext) -> Path:
    """The directory the weights are read from."""
    path = Path(params.model_dir).expanduser()
    return path if path.is_absolute() else ctx.models.root / path


def fingerprint(params: SeparateParams, ctx: StageContext) -> str:
    """Checksum of the model's files (bag definition and weights)."""
    return find_model_files(model_dir(params, ctx), params.model).checksum()


def run(inputs: Mapping[str, Path], params: SeparateParams, ctx: StageContext) -> StageOutput:
    """Separate ``audio``; write ``vocals.wav``, ``accompaniment.wav`` and ``mix.wav``.

    The vocals become the main line (``audio``) so the following equalisation
    stages restore the voice; ``mix`` keeps this stage's input for ``remix``. The
    recording is separated a window at a time from memory-mapped files in ``work/``
    (removed when done), so memory follows the window, not the recording's length.
    """
    files = find_model_files(model_dir(params, ctx), params.model)
    model = load_separation_model(files)
    if ctx.progress is not None:
        ctx.progress(0.1, f"separating with {params.model}")
    vocals_path = ctx.stage_dir / "vocals.wav"
    accompaniment_path = ctx.stage_dir / "accompaniment.wav"
    mix_path = ctx.stage_dir / "mix.wav"
    work = ctx.stage_dir / "work"
    stems = separate_file(inputs["audio"], {"vocals": vocals_path, "accompaniment": accompaniment_path},
                          model, work=work, segment_s=params.segment_s, overlap=params.overlap,
                          device=ctx.device, shifts=params.shifts, seed=params.seed)
    work.rmdir()
    # A byte copy of the input, so remix still has it if an earlier stage's folder is redone.
    with atomic_path(mix_path) as tmp:
        shutil.copyfile(inputs["audio"], tmp)
    vocals_db, accompaniment_db = stems["vocals"].rms_dbfs(), stems["accompaniment"].rms_dbfs()
    balance = (round(vocals_db - accompaniment_db, 2)
               if vocals_db is not None and accompaniment_db is not None else None)
    return StageOutput(
        artifacts={"audio": vocals_path, "vocals": vocals_path,
                   "accompaniment": accompaniment_path, "mix": mix_path},
        metrics={
            "model": params.model,
            "model_sample_rate": int(model.samplerate),
            "sources": [str(s) for s in model.sources],
            "device": ctx.device,
            "vocals_rms_dbfs": vocals_db,
            "accompaniment_rms_dbfs": accompaniment_db,
            "balance_db": balance,
        },
    )


# Training segment of htdemucs, seconds: the chunk length separate uses when segment_s is unset.
HTDEMUCS_SEGMENT_S = 7.8


def smaller_chunks(params: Mapping[str, Any], attempt: int) -> dict[str, Any]:
    """Out-of-memory fallback: halve the chunk per retry, never below 1 s.

    Demucs holds one chunk's activations at a time, so halving the chunk roughly halves
    peak memory, at a small cost in separation quality near chunk borders.
    """
    segment = float(params.get("segment_s") or HTDEMUCS_SEGMENT_S)
    return {"segment_s": round(max(1.0, segment / 2 ** attempt), 3)}


STAGE = Stage(
    name="separate",
    version="1",
    params_cls=SeparateParams,
    consumes=("audio",),
    run=run,
    fingerprint=fingerprint,
    gpu=True,
    oom_fallback=smaller_chunks,
    description="HT-Demucs vocal/accompaniment separation",
)
