"""The generative EQ stage's quality gate: find the untouched input, run the checks, pick the access copy."""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import Field

from shellac.engine.atomic import atomic_write_json
from shellac.engine.audio_io import probe
from shellac.engine.dsp.ltas import Ltas
from shellac.engine.dsp.resample import resample_file
from shellac.engine.quality import GateResult, GateThresholds, evaluate_gate
from shellac.engine.stream import map_file, wav_to_memmap
from shellac.stages.base import StageContext, StageParams

_DEFAULTS = GateThresholds()


class QualityGateParams(StageParams):
    """Limits of the quality gate's checks (docs/quality_gate.md says how each was set)."""

    high_band_excess_db: float = Field(
        default=_DEFAULTS.high_band_excess_db,
        ge=0,
        le=60,
        description="Energy above the input's high cut-off over the larger of "
        "LTAS-EQ's and the clean reference's, dB.",
    )
    low_band_excess_db: float = Field(
        default=_DEFAULTS.low_band_excess_db,
        ge=0,
        le=60,
        description="Same below the input's low cut-off, dB.",
    )
    passband_deviation_db: float = Field(
        default=_DEFAULTS.passband_deviation_db,
        ge=0,
        le=60,
        description="RMS third-octave LTAS difference from LTAS-EQ's, dB.",
    )
    lsd_db: float = Field(
        default=_DEFAULTS.lsd_db,
        ge=0,
        le=100,
        description="Band log-spectral distance from the LTAS-EQ result, dB.",
    )
    haze: float = Field(
        default=_DEFAULTS.haze,
        ge=0,
        le=1,
        description="Rise of spectral flatness in the pass band above 1 kHz.",
    )

    def thresholds(self) -> GateThresholds:
        """The engine's thresholds with these limits."""
        return GateThresholds(**self.model_dump())


QUALITY_GATE_FILE = "quality_gate.json"
REJECTED_FILE = "generative_rejected.wav"


def untouched_input(ctx: StageContext) -> Path | None:
    """The audio as it was before the chain's LTAS-EQ step (the denoised or separated signal).

    It is the ``audio`` output of the last step before ``ltas_eq`` in the
    recording's history; ``None`` when the chain has no LTAS-EQ step before this one.
    """
    records = list(ctx.history)
    eq_index = max((i for i, r in enumerate(records) if r.get("stage") == "ltas_eq"), default=None)
    if eq_index is None:
        return None
    for record in reversed(records[:eq_index]):
        audio = record.get("outputs", {}).get("audio")
        if audio is not None:
            return ctx.recording_dir / str(audio["path"])
    return None


def mono_at_rate(source: Path, target: Path, sample_rate: int) -> Path:
    """Mono mix of ``source`` resampled to ``sample_rate`` Hz, written to ``target``."""
    mixed = target.with_name(f"{target.stem}_mix.wav")
    map_file(source, mixed, lambda c: c.centre(c.data).mean(axis=0, keepdims=True), out_channels=1)
    resample_file(mixed, target, sample_rate)
    mixed.unlink()
    return target


@dataclass(frozen=True)
class GateInputs:
    """The three mono model-rate signals the gate compares (files in the stage's work folder)."""

    untouched: Path
    ltas_eq: Path
    generative: Path


def run_gate(signals: GateInputs, work: Path, reference: Ltas, limits: QualityGateParams) -> GateResult:
    """Evaluate the gate on memory-mapped copies of the three signals."""
    arrays = [
        wav_to_memmap(p, work / f"gate_{name}.npy")
        for name, p in (
            ("untouched", signals.untouched),
            ("ltas_eq", signals.ltas_eq),
            ("generative", signals.generative),
        )
    ]
    n = min(a.shape[-1] for a in arrays)
    untouched, ltas_eq, generative = (a.reshape(-1)[:n] for a in arrays)
    return evaluate_gate(
        untouched,
        ltas_eq,
        generative,
        probe(signals.generative).sample_rate,
        reference=reference,
        thresholds=limits.thresholds(),
    )


def record_gate(result: GateResult, stage_dir: Path, rejected_from: Path | None) -> dict[str, Path]:
    """Write ``quality_gate.json`` (and keep the rejected generative output); return the artifacts."""
    artifacts = {"quality_gate": stage_dir / QUALITY_GATE_FILE}
    atomic_write_json(artifacts["quality_gate"], result.to_json())
    if result.fallback and rejected_from is not None:
        shutil.copyfile(rejected_from, stage_dir / REJECTED_FILE)
        artifacts["generative_rejected"] = stage_dir / REJECTED_FILE
    return artifacts


def gate_summary(record: Mapping[str, Any]) -> str:
    """One line for tags and the report: the decision and, on fallback, the reason."""
    if record.get("fallback"):
        return f"fallback to LTAS-EQ: {record.get('reason')}"
    return "generative output kept (all quality checks passed)"
