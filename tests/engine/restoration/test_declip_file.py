"""The streamed clip-level estimate of a file equals the in-memory estimate of its samples."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from shellac.engine.operators.clipping import LEVEL_SLACK, estimate_clip_level
from shellac.engine.restoration.declip import clipped_fraction, estimate_clip_level_of_file


def _tone(n: int, channels: int) -> np.ndarray:
    t = np.arange(n) / 8000
    return np.stack([sum(0.3 / k * np.sin(2 * np.pi * 180 * k * t + c + k) for k in range(1, 8))
                     for c in range(channels)])


@pytest.mark.parametrize("shape", ["hard", "soft", "clean"])
def test_file_estimate_equals_array_estimate(tmp_path: Path, shape: str) -> None:
    x = _tone(8000 * 35, 2)  # longer than one 30 s chunk
    if shape == "hard":
        x = np.clip(2.0 * x, -0.4, 0.4)
    elif shape == "soft":
        x = 0.45 * np.tanh(10.0 * x)
    x = x.astype(np.float32)
    sf.write(tmp_path / "in.wav", x.T, 8000, subtype="FLOAT")
    expected = estimate_clip_level(x)
    assert estimate_clip_level_of_file(tmp_path / "in.wav") == expected
    if shape == "hard":
        assert expected.detected and expected.level == pytest.approx(0.4)
    # A level the user gives is compared in the file's float32, as the clipped-sample map is.
    share = float(np.mean(np.abs(x) >= 0.39 - LEVEL_SLACK))
    assert clipped_fraction(tmp_path / "in.wav", 0.39, dtype=np.float32) == share
