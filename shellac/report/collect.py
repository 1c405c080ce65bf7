"""Gather what the report shows of each recording from its state.json and stage artifacts."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shellac.catalogs import Catalog
from shellac.jobs import collection_status
from shellac.report.notes import (
    access_copy_note,
    chain_fit_note,
    model_standing_note,
    quality_gate_note,
    synthesis_note,
)
from shellac.report.order import stage_statuses
from shellac.report.timing import audio_duration_s, processing_s, real_time_factor
from shellac.stages.state import RecordingState

# (stage, artifact) pairs holding LTAS curves; the stages write them as ltas.json.
LTAS_ARTIFACTS = (("ltas_eq", "ltas_curves"), ("generative_eq", "generative_ltas"))


@dataclass(frozen=True)
class StageRow:
    """One stage of a recording: status, time in seconds, error."""

    name: str
    status: str
    duration_s: float | None
    error: str | None


@dataclass(frozen=True)
class RecordingReport:
    """Everything the report says about one recording."""

    id: str
    title: str
    status: str
    profile: str
    error: str | None
    audio_s: float | None
    processing_s: float
    rtf: float | None
    stages: tuple[StageRow, ...] = ()
    before: Path | None = None  # ingest's float working copy of the master
    after: Path | None = None  # the access copy
    ltas: dict[str, dict[str, Any]] = field(default_factory=dict)  # stage -> ltas.json
    filters: dict[str, Any] | None = None  # generative_eq filters.json
    clicks_found: int | None = None
    clicks_needing_inpainting: int | None = None
    synthesis: tuple[str, ...] = ()  # plain words: what the generative stage synthesised
    quality_gate: str | None = None  # the recorded quality-gate outcome, as recorded
    model_standing: str | None = None  # the generative model's held-out standing, as recorded
    chain_fit: str | None = None  # roll-offs the chain EQ's fit left on a bound of their range
    stale: str | None = None  # why the access copy on disk is not current


def _artifact(rec_dir: Path, state: RecordingState, stage: str, name: str) -> Path | None:
    record = state.stages.get(stage)
    if record is None or record.status != "done" or name not in record.outputs:
        return None
    path = rec_dir / record.outputs[name].path
    return path if path.is_file() else None


def _json(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # a damaged artifact is left out of the report, not fatal to it
    return data if isinstance(data, dict) else None


def _clicks(path: Path | None) -> tuple[int | None, int | None]:
    data = _json(path)
    if data is None:
        return None, None
    counts = data.get("counts") or {}
    found = counts.get("found", len(data.get("clicks", [])))
    return int(found), int(counts.get("needs_inpainting", 0))


def gather(catalog: Catalog) -> list[RecordingReport]:
    """One :class:`RecordingReport` per valid catalog row, in catalog order."""
    reports = []
    for entry in collection_status(catalog):
        state, rec = entry.state, entry.recording
        if state is None:
            reports.append(RecordingReport(rec.id, rec.title or "", "pending", "", None, None, 0.0, None))
            continue
        rec_dir = entry.directory
        stages = tuple(
            StageRow(name, status, state.stages[name].duration_s, state.stages[name].error)
            for name, status in stage_statuses(state) if name in state.stages
        )
        ltas = {stage: data for stage, name in LTAS_ARTIFACTS
                if (data := _json(_artifact(rec_dir, state, stage, name))) is not None}
        found, inpaint = _clicks(_artifact(rec_dir, state, "denoise", "click_map"))
        filters = _json(_artifact(rec_dir, state, "generative_eq", "filters"))
        after = _artifact(rec_dir, state, "tag", "access_copy")
        reports.append(RecordingReport(
            id=rec.id, title=rec.title or "", status=state.status, profile=state.profile,
            error=state.error, audio_s=audio_duration_s(state), processing_s=processing_s(state),
            rtf=real_time_factor(state), stages=stages,
            before=_artifact(rec_dir, state, "ingest", "audio"),
            after=after, ltas=ltas, filters=filters,
            clicks_found=found, clicks_needing_inpainting=inpaint,
            synthesis=synthesis_note(state, ltas.get("generative_eq"), filters),
            quality_gate=quality_gate_note(state),
            model_standing=model_standing_note(state),
            chain_fit=chain_fit_note(state),
            stale=access_copy_note(state, rec_dir),
        ))
    return reports
