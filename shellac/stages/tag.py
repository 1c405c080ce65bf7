"""tag: write the access copy (FLAC, or BWF WAV with bext and ID3) with provenance and a PREMIS sidecar."""

from __future__ import annotations

import json
import math
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from mutagen.flac import FLAC
from mutagen.id3 import COMM, TALB, TDRC, TIT2, TPE1, TPUB, TSSE, TXXX
from mutagen.wave import WAVE
from pydantic import Field

from shellac import __version__
from shellac.engine.atomic import atomic_path, atomic_write_json
from shellac.engine.audio_io import probe
from shellac.engine.bwf import BextInfo, coding_history_line, write_bext
from shellac.engine.dsp.levels import peak_ceiling_gain
from shellac.engine.dsp.resample import resample_file
from shellac.engine.errors import FixityError
from shellac.engine.fixity import sha256_file
from shellac.engine.stream import file_stats
from shellac.stages.base import Stage, StageContext, StageOutput, StageParams, no_fingerprint
from shellac.stages.quality_gate import gate_summary
from shellac.stages.state import utc_now

AGENT = "Shellac"
# PREMIS 3 event types (Library of Congress vocabulary) for each stage.
EVENT_TYPES = {
    "ingest": "ingestion", "tag": "creation", "denoise": "modification",
    "ltas_eq": "modification", "separate": "modification", "generative_eq": "modification",
    "remix": "modification",
}
FORMAT_NAMES = {"flac": "FLAC", "wav": "WAVE (Broadcast Wave, EBU Tech 3285 v2)"}
# Vorbis comment field for each catalog metadata key.
VORBIS_FIELDS = {
    "title": "TITLE", "performer": "ARTIST", "year": "DATE", "label": "LABEL",
    "matrix": "MATRIX", "notes": "COMMENT", "content": "SHELLAC_CONTENT", "voice": "VOICETYPE",
}


class TagParams(StageParams):
    """Deliverable format of the access copy."""

    format: Literal["flac", "wav"] = Field(
        default="flac", description="Container: FLAC, or Broadcast Wave (bext + ID3 chunks)."
    )
    bit_depth: Literal[16, 24] = Field(default=24, description="Integer bits per sample.")
    sample_rate: int | None = Field(
        default=None, ge=8000, le=384000, description="Output rate in Hz; the master's if unset."
    )
    peak_ceiling_dbfs: float = Field(
        default=-1.0, ge=-20.0, le=0.0,
        description="Sample peak the access copy may reach, dBFS; louder audio is scaled down "
        "(never clipped) and the gain recorded.",
    )

# Vorbis comment field names are ASCII 0x20-0x7D without '='; Shellac keeps to A-Z, 0-9, '_'.
_NOT_TAG_CHAR = re.compile(r"[^A-Z0-9_]+")
# Control characters other than tab and newline (NUL above all) end or corrupt tag values.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def tag_value(value: str) -> str:
    """``value`` without NUL and other control characters (tab and newline are kept)."""
    return _CONTROL.sub("", value)


def tag_names(keys: list[str]) -> dict[str, str]:
    """The tag name of each catalog metadata key: known fields by name, others ``SHELLAC_META_<KEY>``.

    Other keys are folded to ASCII upper case, runs of anything but letters, digits and
    '_' become one '_', and a name two columns would share gets a ``_2``, ``_3``... suffix,
    so every column keeps its own legal tag. The PREMIS sidecar keeps the original names.
    """
    names: dict[str, str] = {}
    used = set(VORBIS_FIELDS.values())
    for key in keys:
        if key in VORBIS_FIELDS:
            names[key] = VORBIS_FIELDS[key]
            continue
        ascii_key = unicodedata.normalize("NFKD", key).encode("ascii", "ignore").decode()
        base = "SHELLAC_META_" + (_NOT_TAG_CHAR.sub("_", ascii_key.upper()).strip("_") or "FIELD")
        name, n = base, 1
        while name in used:
            n += 1
            name = f"{base}_{n}"
        used.add(name)
        names[key] = name
    return names


def _made_by(record: Mapping[str, Any]) -> str:
    """Which code made a stage's output: its manual version and the hash of its source (state.json)."""
    code = record.get("code_hash")
    return f"stage version {record.get('version')}" + (f", code {str(code)[:12]}" if code else "")


def _event(record: Mapping[str, Any]) -> dict[str, Any]:
    name = str(record["stage"])
    gate = record.get("metrics", {}).get("quality_gate")
    detail = {"eventOutcomeDetail": gate_summary(gate), "qualityGate": gate} if gate else {}
    return {
        "eventType": EVENT_TYPES.get(name, "modification"),
        "eventDetail": f"shellac stage {name} ({_made_by(record)})",
        "codeHash": record.get("code_hash"),
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
        **detail,
    }


def _quality_tags(ctx: StageContext) -> dict[str, list[str]]:
    """Tag name -> lines, for the access copy: each generative stage's quality-gate outcome, and its
    model's held-out standing (how its access copies compared with LTAS-EQ and the input)."""
    metrics = [r.get("metrics") or {} for r in ctx.history]
    tags = {
        "SHELLAC_QUALITY_GATE": [gate_summary(m["quality_gate"]) for m in metrics if m.get("quality_gate")],
        "SHELLAC_MODEL_STANDING": [str(m["model_standing"]["summary"]) for m in metrics
                                   if isinstance(m.get("model_standing"), Mapping)],
    }
    return {name: lines for name, lines in tags.items() if lines}


# ID3 frame for each catalog metadata key of a WAV deliverable; others become TXXX frames.
ID3_FRAMES = {"title": TIT2, "performer": TPE1, "year": TDRC, "label": TPUB, "album": TALB}


def _coding_history(ctx: StageContext, out_rate: int, bit_depth: int, channels: int) -> str:
    """EBU R 98 coding history: the master, then one line per stage in chain order."""
    probe: Mapping[str, Any] = {}
    for record in ctx.history:
        if record.get("stage") == "ingest":
            probe = record.get("metrics", {})
    src_rate = int(probe.get("sample_rate") or out_rate)
    src_bits = int(probe.get("bit_depth") or bit_depth)
    lines = [coding_history_line(sample_rate=src_rate, bit_depth=src_bits, channels=channels,
                                 text=f"master {ctx.master.path.name}")]
    # Intermediate stages hand float32 WAV to each other at the master's rate.
    for record in ctx.history:
        lines.append(coding_history_line(
            sample_rate=src_rate, bit_depth=32, channels=channels,
            text=f"{AGENT} {__version__} {record['stage']} ({_made_by(record)})"))
    lines.append(coding_history_line(sample_rate=out_rate, bit_depth=bit_depth, channels=channels,
                                     text=f"{AGENT} {__version__} tag"))
    return "".join(lines)


def _write_wav(path: Path, audio: Path, gain: float, out_rate: int, params: TagParams, ctx: StageContext,
               source_sha: str, chain: list[str], description: str) -> None:
    """Broadcast Wave access copy: PCM, a bext chunk before the data, an ID3 chunk after it."""
    resample_file(audio, path, out_rate, bit_depth=params.bit_depth, gain=gain)
    now = utc_now()  # ISO 8601, UTC
    meta = {k: tag_value(v) for k, v in ctx.metadata.items()}
    summary = ", ".join(v for v in (meta.get("title"), meta.get("performer"), meta.get("year")) if v)
    write_bext(path, BextInfo(
        # bext text is 256 ASCII bytes: the full description (with the checksum) is in ID3.
        description=(f"{summary}. " if summary else "") + f"Restored access copy by {AGENT} "
                    f"{__version__} from {ctx.master.path.name}; not a preservation master.",
        originator=f"{AGENT} {__version__}",
        # EBU R 99 style: country, organisation, serial (source checksum), time, random part.
        originator_reference=f"XXSHL{source_sha[:12].upper()}{now[11:19].replace(':', '')}"
                             f"{int(source_sha[12:20], 16) % 10**9:09d}",
        origination_date=now[:10], origination_time=now[11:19].replace(":", "-"),
        coding_history=_coding_history(ctx, out_rate, params.bit_depth, probe(audio).channels),
    ))
    wav = WAVE(path)
    wav.add_tags()
    names = tag_names(list(meta))
    for key, value in meta.items():
        frame = ID3_FRAMES.get(key)
        if frame is not None:
            wav.tags.add(frame(encoding=3, text=[tag_value(value)]))
        else:
            wav.tags.add(TXXX(encoding=3, desc=names[key], text=[tag_value(value)]))
    wav.tags.add(TSSE(encoding=3, text=[f"{AGENT} {__version__}"]))
    wav.tags.add(COMM(encoding=3, lang="eng", desc="", text=[description]))
    for desc, value in (("SOURCE_FILE", ctx.master.path.name), ("SOURCE_SHA256", source_sha),
                        ("SHELLAC_VERSION", __version__), ("SHELLAC_CHAIN", " > ".join(chain))):
        wav.tags.add(TXXX(encoding=3, desc=desc, text=[value]))
    for record in ctx.history:
        wav.tags.add(TXXX(encoding=3, desc=f"SHELLAC_STAGE_{str(record['stage']).upper()}",
                          text=[_stage_json(record)]))
    for desc, lines in _quality_tags(ctx).items():
        wav.tags.add(TXXX(encoding=3, desc=desc, text=lines))
    wav.save()


def _stage_json(record: Mapping[str, Any]) -> str:
    return json.dumps({"version": record.get("version"), "code_hash": record.get("code_hash"),
                       "params": record.get("params", {}), "model_sha256": record.get("model_hash")},
                      sort_keys=True)


def _write_flac(path: Path, audio: Path, gain: float, out_rate: int, params: TagParams, ctx: StageContext,
                source_sha: str, chain: list[str], description: str) -> None:
    """FLAC access copy with Vorbis comments."""
    resample_file(audio, path, out_rate, bit_depth=params.bit_depth, gain=gain)
    flac = FLAC(path)
    names = tag_names(list(ctx.metadata))
    for key, value in ctx.metadata.items():
        flac[names[key]] = tag_value(value)
    flac["SOURCE_FILE"] = ctx.master.path.name
    flac["SOURCE_SHA256"] = source_sha
    flac["ENCODER"] = f"{AGENT} {__version__}"
    flac["SHELLAC_VERSION"] = __version__
    flac["SHELLAC_CHAIN"] = " > ".join(chain)
    flac["DESCRIPTION"] = description
    for record in ctx.history:
        flac[f"SHELLAC_STAGE_{str(record['stage']).upper()}"] = _stage_json(record)
    for name, lines in _quality_tags(ctx).items():
        flac[name] = lines
    flac.save()


def _ingest_sha(ctx: StageContext) -> str | None:
    for record in ctx.history:
        if record.get("stage") == "ingest":
            return record.get("inputs", {}).get("master")
    return None


def run(inputs: Mapping[str, Path], params: TagParams, ctx: StageContext) -> StageOutput:
    """Re-verify the master, then write ``<id>.flac`` (or ``.wav``) and ``<id>.premis.json``."""
    recorded = _ingest_sha(ctx)
    current = sha256_file(inputs.get("master", ctx.master.path))
    if recorded is not None and current != recorded:
        raise FixityError(
            f"master {ctx.master.path} changed since ingest (sha256 {recorded[:12]}… → "
            f"{current[:12]}…); restore the original from preservation storage before tagging"
        )
    audio = inputs["audio"]  # streamed into the access copy (resampled on the way if asked)
    # Integer PCM cannot hold a peak above full scale: scale the whole recording under the
    # ceiling rather than clip it (restoration stages may raise peaks while keeping the std).
    peak = file_stats(audio).peak
    gain = peak_ceiling_gain(peak, params.peak_ceiling_dbfs)
    out_rate = params.sample_rate or int(json.loads(inputs["probe"].read_text())["sample_rate"])
    chain = [str(r["stage"]) for r in ctx.history] + ["tag"]
    access = ctx.recording_dir / f"{ctx.recording_id}.{params.format}"
    description = (
        f"Restored access copy made by {AGENT} {__version__} from {ctx.master.path.name} "
        f"(sha256 {current}); chain: {' > '.join(chain)}. Not a preservation master."
    )
    with atomic_path(access) as tmp:
        if params.format == "wav":
            _write_wav(tmp, audio, gain, out_rate, params, ctx, current, chain, description)
        else:
            _write_flac(tmp, audio, gain, out_rate, params, ctx, current, chain, description)
    access_sha = sha256_file(access)
    tag_event = {
        "eventType": "creation", "stage": "tag",
        "eventDetail": "access copy written and tagged; master fixity re-verified",
        "eventDateTime": utc_now(), "eventOutcome": "success",
        "linkingAgent": {"name": AGENT, "version": __version__, "role": "executing program"},
        "parameters": params.model_dump(mode="json"),
        "outputs": {"access_copy": access_sha},
        "peakGainDb": round(20.0 * math.log10(gain), 3),
    }
    sidecar = {
        "premis_profile": "shellac-premis-json/1",
        "object": {
            "identifier": ctx.recording_id,
            "metadata": dict(ctx.metadata),
            "tagNames": tag_names(list(ctx.metadata)),
            "source": {"file": str(ctx.master.path), "sha256": current, "fixity_verified": True,
                       **({"real_path": str(ctx.master.real_path)}
                          if ctx.master.real_path and ctx.master.real_path != ctx.master.path else {})},
            "access_copy": {"file": access.name, "sha256": access_sha,
                            "format": FORMAT_NAMES[params.format], "bit_depth": params.bit_depth,
                            "sample_rate": out_rate},
        },
        "events": [_event(r) for r in ctx.history] + [tag_event] + [dict(e) for e in ctx.events],
    }
    sidecar_path = ctx.recording_dir / f"{ctx.recording_id}.premis.json"
    atomic_write_json(sidecar_path, sidecar)
    return StageOutput(
        artifacts={"access_copy": access, "premis": sidecar_path},
        metrics={"sample_rate": out_rate, "bit_depth": params.bit_depth, "access_sha256": access_sha,
                 "peak_gain_db": round(20.0 * math.log10(gain), 3),
                 "input_peak_dbfs": round(20.0 * math.log10(max(peak, 1e-12)), 2)},
    )


STAGE = Stage(
    name="tag",
    version="3",
    params_cls=TagParams,
    consumes=("audio", "probe", "master", "history", "metadata"),
    run=run,
    fingerprint=no_fingerprint,
    description="access copy with provenance tags and PREMIS sidecar",
)
