"""A checkpoint written by the reference's own code imports, keeps its LTAS level, and computes the same."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from shellac.engine.models.bundle import load_bundle
from shellac.engine.models.import_babe2 import import_babe2

FIXTURES = Path(__file__).parents[2] / "fixtures" / "babe2_reference"


def test_reference_made_checkpoint_imports_and_matches_its_network(tmp_path: Path) -> None:
    bundle = load_bundle(import_babe2(FIXTURES / "tiny_published.pt", tmp_path / "piano", name="piano"))
    assert (bundle.config.sample_rate, bundle.config.segment_length) == (8000, 4000)
    # The LTAS is calibrated for Shellac's own LTAS-EQ and keeps the way back to its stored level.
    np.testing.assert_allclose(bundle.reference_ltas.stored_power(), np.linspace(2e-3, 1e-5, 1025), rtol=1e-6)
    ref = np.load(FIXTURES / "tiny_published_forward.npz")
    with torch.no_grad():
        y = bundle.network(torch.tensor(ref["x"]), torch.tensor([float(ref["c_noise"])])).numpy()
    # float32 on both sides: ~3e-7 is their rounding.
    assert np.max(np.abs(y - ref["y"])) < 1e-5 * np.max(np.abs(ref["y"]))
