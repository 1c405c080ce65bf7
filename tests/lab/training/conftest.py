"""Fixtures for training tests: a folder of short tonal clips and single-threaded torch."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

SR = 8000


@pytest.fixture(autouse=True)
def _one_torch_thread() -> Iterator[None]:
    # Tiny networks gain nothing from threads; one thread also keeps float sums reproducible.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """Three 3-second tremolo tones (8 kHz) with a little hiss."""
    root = tmp_path / "data"
    root.mkdir()
    rng = np.random.default_rng(0)
    t = np.arange(SR * 3) / SR
    for i in range(3):
        x = 0.1 * np.sin(2 * np.pi * (200 + 50 * i) * t) * (1 + 0.5 * np.sin(2 * np.pi * 2 * t))
        x += 0.01 * rng.standard_normal(t.size)
        sf.write(root / f"clip{i}.wav", x.astype(np.float32), SR)
    return root
