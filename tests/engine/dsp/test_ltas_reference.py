"""Reference LTAS and LTAS-EQ (centred frames, stored reference level) against the reference's numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shellac.engine.dsp.ltas_reference import reference_ltas, reference_ltas_eq
from shellac.engine.errors import ParameterError
from tests.fixtures.babe2_inputs import demo_recording

FIXTURES = Path(__file__).parents[2] / "fixtures" / "babe2_reference"


@pytest.fixture(scope="module")
def ref() -> dict[str, np.ndarray]:
    return dict(np.load(FIXTURES / "ltas.npz"))


def test_ltas_matches_the_reference(ref: dict) -> None:
    # The reference computes this LTAS in float32: its rounding (~2e-6) is the floor here.
    ltas = reference_ltas(demo_recording(44100), 2048)
    assert np.max(np.abs(ltas - ref["ltas_y"]) / ref["ltas_y"]) < 1e-5


def test_ltas_eq_matches_the_reference(ref: dict) -> None:
    out, diff = reference_ltas_eq(demo_recording(44100), 22050, ref["ltas_ref"], n_fft=2048)
    assert np.max(np.abs(out - ref["x_init"])) < 1e-4 * np.max(np.abs(ref["x_init"]))
    assert diff.shape == (1025,) and diff.min() >= -20.0


def test_stored_level_decides_where_the_floor_acts() -> None:
    x = demo_recording(22050)
    power = np.full(1025, 1e-3)
    _, loud_ref = reference_ltas_eq(x, 22050, power * 1e4, n_fft=2048)
    _, quiet_ref = reference_ltas_eq(x, 22050, power, n_fft=2048)
    assert (loud_ref == -20.0).sum() > (quiet_ref == -20.0).sum()


def test_wrong_bin_count_is_refused() -> None:
    with pytest.raises(ParameterError, match="bins"):
        reference_ltas_eq(demo_recording(4096), 22050, np.ones(10), n_fft=2048)
