"""Dropout detection streamed over a file finds exactly what the in-memory detection finds."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from shellac.engine.dsp import dropouts
from shellac.engine.dsp.dropouts import find_dropouts_in_file, flag_runs
from shellac.engine.operators.inpainting import find_dropouts


def test_runs_across_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dropouts, "CHUNK", 4)
    marks = np.array([1, 1, 0, 0, 1, 1, 1, 1, 1, 0, 1], dtype=bool)
    assert flag_runs(marks) == [(0, 2), (4, 5), (10, 1)]
    assert flag_runs(np.zeros(9, dtype=bool)) == []


def test_file_detection_equals_array_detection_across_chunk_seams(tmp_path: Path) -> None:
    sr, n = 8000, 8000 * 40  # longer than one 30 s chunk
    rng = np.random.default_rng(1)
    t = np.arange(n) / sr
    x = np.stack([0.3 * np.sin(2 * np.pi * 220 * t + c) + 0.01 * rng.standard_normal(n) for c in range(2)])
    x = x.astype(np.float32)
    for start in (1000, 50_000, 239_950, 240_000 - 37, 300_000):  # 240 000: the chunk seam
        x[:, start:start + 300] = 0.0
    x[:, 100_000:100_400] *= 1e-4  # a sudden silence, not digital zeros
    sf.write(tmp_path / "in.wav", x.T, sr, subtype="FLOAT")
    expected = find_dropouts(x, sr)
    # The two zero runs around the seam merge; the sudden silence is found sample-exact.
    assert expected == [(1000, 300), (50_000, 300), (100_000, 400), (239_950, 313), (300_000, 300)]
    assert find_dropouts_in_file(tmp_path / "in.wav", work=tmp_path / "work") == expected
