"""Reference LTAS and LTAS-EQ (centred frames, stored reference level) against the reference's numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from shellac.engine.audio_io import read_audio, write_audio
from shellac.engine.dsp.ltas import Ltas
from shellac.engine.dsp.ltas_reference import reference_ltas, reference_ltas_eq, reference_ltas_eq_file
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


def test_file_eq_treats_each_channel_as_the_reference_does(tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    stereo = 0.1 * rng.standard_normal((2, 8000))
    write_audio(tmp_path / "in.wav", stereo, 8000, bit_depth=32)
    power = np.linspace(1.0, 0.01, 257)
    reference = Ltas(8000, 512, power, stored_scale=2.0)
    diff_db, observed = reference_ltas_eq_file(tmp_path / "in.wav", tmp_path / "out.wav", reference,
                                               n_fft=512)
    x = read_audio(tmp_path / "in.wav")[0].astype(np.float64)
    per_channel = [reference_ltas_eq(ch, 8000, 2.0 * power, n_fft=512) for ch in x]
    out, sr = read_audio(tmp_path / "out.wav")
    assert sr == 8000 and out.shape == (2, 8000)
    np.testing.assert_allclose(out, np.stack([o for o, _ in per_channel]), atol=1e-4)
    np.testing.assert_array_equal(diff_db, np.mean([d for _, d in per_channel], axis=0))
    np.testing.assert_array_equal(observed.power, reference_ltas(x.mean(axis=0), 512))
