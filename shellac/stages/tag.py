"""tag: write the access copy (FLAC with provenance tags) and its PREMIS-style JSON sidecar."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from mutagen.flac import FLAC
from pydantic import Field

from shellac import __version__
from shellac.engine.atomic import atomic_path, atomic_write_json
from shellac.engine.audio_io import read_audio, write_audio
from shellac.engine.dsp.resample import resample
from shellac.engine.errors import FixityError
from shellac.engine.fixity import sha256_file
from shellac.stages.base import Stage, StageContext, StageOutput, StageParams, no_fingerprint
from shellac.stages.state import utc_now

AGENT = "Shellac"
# PREMIS 3 event types (Library of Congress vocabulary) for each stage.
EVENT_TYPES = {
    "ingest": "ingestion", "tag": "creation", "denoise": "modification",
    "ltas_eq": "modification", "separate": "modification", "generative_eq": "modification",
    "remix": "modification",
}
# Vorbis comment field for each catalog metadata key.
VORBIS_FIELDS = {
    "title": "TITLE", "performer": "ARTIST", "year": "DATE", "label": "LABEL",
    "matrix": "MATRIX", "notes": "COMMENT", "content": "SHELLAC_CONTENT", "voice": "VOICETYPE",
}


class TagParams(StageParams):
    """Deliverable format of the access copy."""

    format: Literal["flac"] = Field(default="flac", description="Container of the access copy.")
    bit_depth: Literal[16, 24] = Field(default=24, description="Integer bits per sample.")
    sample_rate: int | None = Field(
        default=None, ge=8000, le=384000, description="Output rate in Hz; the master's if unset."
    )


def _event(record: Mapping[str, Any]) -> dict[str, Any]:
    name = str(record["stage"])
    return {
        "eventType": EVENT_TYPES.get(name, "modification"),
        "eventDetail": f"shellac stage {name} (stage version {record.get('version')})",
        "stage": name,
        "eventDateTime": record.get("ended") or record.get("started"),
        "start": record.get("started"),
        "end": record.get("ended"),
        "eventOutcome": "success" if record.get("status") == "done" else str(record.get("status")),
        "linkingAgent": {"name": AGENT, "version": __version__, "role": "executing program"},
        "parameters": record.get("params", {}),
        "modelChecksum": record.get("model_hash"),
        "inputs": record.get("inputs", {}),
        "outputs": {k: v.get("sha256") for k, v in record.get("outputs", {}).items()},
        "metrics": record.get("metrics", {}),
    }


def _ingest_sha(ctx: StageContext) -> str | None:
    for record in ctx.history:
        if record.get("stage") == "ingest":
            return record.get("inputs", {}).get("master")
    return None


def run(inputs: Mapping[str, Path], params: TagParams, ctx: StageContext) -> StageOutput:
    """Re-verify the master, then write ``<id>.flac`` and ``<id>.premis.json`` in the recording dir."""
    recorded = _ingest_sha(ctx)
    current = sha256_file(ctx.master.path)
    if recorded is not None and current != recorded:
        raise FixityError(
            f"master {ctx.master.path} changed since ingest (sha256 {recorded[:12]}… → "
            f"{current[:12]}…); restore the original from preservation storage before tagging"
        )
    audio, sr = read_audio(inputs["audio"])
    out_rate = params.sample_rate or int(json.loads(inputs["probe"].read_text())["sample_rate"])
    audio = resample(audio, sr, out_rate)
    chain = [str(r["stage"]) for r in ctx.history] + ["tag"]
    access = ctx.recording_dir / f"{ctx.recording_id}.flac"
    with atomic_path(access) as tmp:
        write_audio(tmp, audio, out_rate, bit_depth=params.bit_depth)
        flac = FLAC(tmp)
        for key, value in ctx.metadata.items():
            flac[VORBIS_FIELDS.get(key, f"SHELLAC_META_{key.upper()}")] = value
        flac["SOURCE_FILE"] = ctx.master.path.name
        flac["SOURCE_SHA256"] = current
        flac["ENCODER"] = f"{AGENT} {__version__}"
        flac["SHELLAC_VERSION"] = __version__
        flac["SHELLAC_CHAIN"] = " > ".join(chain)
        flac["DESCRIPTION"] = (
            f"Restored access copy made by {AGENT} {__version__} from {ctx.master.path.name} "
            f"(sha256 {current}); chain: {' > '.join(chain)}. Not a preservation master."
        )
        for record in ctx.history:
            flac[f"SHELLAC_STAGE_{str(record['stage']).upper()}"] = json.dumps(
                {"version": record.get("version"), "params": record.get("params", {}),
                 "model_sha256": record.get("model_hash")}, sort_keys=True)
        flac.save()
    access_sha = sha256_file(access)
    tag_event = {
        "eventType": "creation", "stage": "tag",
        "eventDetail": "access copy written and tagged; master fixity re-verified",
        "eventDateTime": utc_now(), "eventOutcome": "success",
        "linkingAgent": {"name": AGENT, "version": __version__, "role": "executing program"},
        "parameters": params.model_dump(mode="json"),
        "outputs": {"access_copy": access_sha},
    }
    sidecar = {
        "premis_profile": "shellac-premis-json/1",
        "object": {
            "identifier": ctx.recording_id,
            "metadata": dict(ctx.metadata),
            "source": {"file": str(ctx.master.path), "sha256": current, "fixity_verified": True},
            "access_copy": {"file": access.name, "sha256": access_sha, "format": "FLAC",
                            "bit_depth": params.bit_depth, "sample_rate": out_rate},
        },
        "events": [_event(r) for r in ctx.history] + [tag_event],
    }
    sidecar_path = ctx.recording_dir / f"{ctx.recording_id}.premis.json"
    atomic_write_json(sidecar_path, sidecar)
    return StageOutput(
        artifacts={"access_copy": access, "premis": sidecar_path},
        metrics={"sample_rate": out_rate, "bit_depth": params.bit_depth, "access_sha256": access_sha},
    )


STAGE = Stage(
    name="tag",
    version="1",
    params_cls=TagParams,
    consumes=("audio", "probe", "master", "history"),
    run=run,
    fingerprint=no_fingerprint,
    description="access copy with provenance tags and PREMIS sidecar",
)
