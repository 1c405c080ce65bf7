"""Quality checks of restoration outputs without the clean truth (the per-recording quality gate)."""

from shellac.engine.quality.band_stats import Bands, FrameStats, frame_stats, third_octave_bands
from shellac.engine.quality.gate import Check, GateResult, GateThresholds, evaluate_gate, music_bands

__all__ = [
    "Bands",
    "Check",
    "FrameStats",
    "GateResult",
    "GateThresholds",
    "evaluate_gate",
    "frame_stats",
    "music_bands",
    "third_octave_bands",
]
