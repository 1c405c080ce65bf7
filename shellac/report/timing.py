"""Per-recording timing from state.json: audio duration, processing time and real-time factor."""

from __future__ import annotations

from shellac.stages.state import RecordingState


def audio_duration_s(state: RecordingState | None) -> float | None:
    """Duration of the master in seconds, as probed at ingest (``None`` before ingest ran)."""
    if state is None or "ingest" not in state.stages:
        return None
    value = state.stages["ingest"].metrics.get("duration_s")
    return float(value) if isinstance(value, int | float) and value > 0 else None


def processing_s(state: RecordingState | None) -> float:
    """Sum of the recorded stage durations in seconds (the last run of each stage)."""
    return 0.0 if state is None else state.total_duration_s()


def real_time_factor(state: RecordingState | None) -> float | None:
    """Processing seconds per second of audio (below 1: faster than real time), or ``None``."""
    duration = audio_duration_s(state)
    if duration is None:
        return None
    return processing_s(state) / duration
