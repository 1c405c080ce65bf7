"""The reference's DC/Nyquist output filter, rebuilt from the CQT design, against the reference's numbers."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from shellac.engine.networks.cqt import OctaveCQT, design_octave_cqt
from shellac.engine.networks.cqt_reference import ReferenceBandComplement, reference_band_complement_gain

FIXTURES = Path(__file__).parents[2] / "fixtures" / "babe2_reference"
LAYOUTS = {"tiny": (8000, 3, 8, 4000), "piano": (22050, 7, 64, 184184), "voice": (44100, 8, 32, 262144)}


@pytest.fixture(scope="module")
def hpf() -> dict[str, np.ndarray]:
    return dict(np.load(FIXTURES / "hpf.npz"))


@pytest.mark.parametrize("name", list(LAYOUTS))
def test_gain_matches_the_reference(hpf: dict, name: str) -> None:
    gain = reference_band_complement_gain(design_octave_cqt(*LAYOUTS[name]))
    np.testing.assert_allclose(gain, hpf[f"gain_{name}"], rtol=0, atol=1e-12)


def test_it_differs_from_the_round_trip_passband_only_at_edge_bins(hpf: dict) -> None:
    sr, octs, bins, n = LAYOUTS["piano"]
    differ = np.nonzero(np.abs(OctaveCQT(sr, octs, bins, n).passband.numpy() - hpf["gain_piano"]) > 1e-6)[0]
    freqs = differ * sr / n
    assert 0 < differ.size < 20 and np.all((freqs < 90.0) | (freqs > 10_900.0))


def test_filter_matches_apply_hpf_dc_on_a_signal(hpf: dict) -> None:
    out = ReferenceBandComplement(8000, 3, 8, 4000)(torch.tensor(hpf["x_tiny"]))
    np.testing.assert_allclose(out.numpy(), hpf["y_tiny"], rtol=0, atol=1e-12)
