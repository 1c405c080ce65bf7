"""Reference-design blind filter against numbers produced by the BABE-2 reference code."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.blind_filter import BlindFilter
from shellac.engine.operators.reference_filter import ReferenceBlindFilter

FIXTURES = Path(__file__).parents[2] / "fixtures" / "babe2_reference"
RATES = (22050, 44100)
TOL = 1e-4  # the bound; the measured errors are ~1e-14 (see docs/babe2-parity.md)


@pytest.fixture(scope="module")
def design() -> dict[str, np.ndarray]:
    return dict(np.load(FIXTURES / "filter_design.npz"))


@pytest.fixture(scope="module")
def operator() -> dict[str, np.ndarray]:
    return dict(np.load(FIXTURES / "operator.npz"))


def with_values(sample_rate: int, flat: np.ndarray) -> ReferenceBlindFilter:
    """A reference filter holding the 11 fixture values (f_ref, fc_p, fc_m, a_p, a_m), unprojected."""
    f = BlindFilter(sample_rate, design="reference")
    assert isinstance(f, ReferenceBlindFilter)
    f.set_values({"f_ref": flat[0:1], "fc_p": flat[1:3], "fc_m": flat[3:5], "a_p": flat[5:8],
                  "a_m": flat[8:11]})
    return f


def flat_values(f: ReferenceBlindFilter) -> np.ndarray:
    return np.concatenate([t.detach().numpy() for t in f.params])


def rel(a: np.ndarray, b: np.ndarray, floor: float = 1e-12) -> float:
    return float(np.max(np.abs(a - b) / np.maximum(np.abs(b), floor)))


def test_design_keyword_picks_the_class_and_rejects_unknown_designs() -> None:
    assert type(BlindFilter(22050)) is BlindFilter
    assert type(BlindFilter(22050, design="reference")) is ReferenceBlindFilter
    with pytest.raises(ParameterError, match="design"):
        BlindFilter(22050, design="other")


def test_a_reference_filter_survives_deepcopy() -> None:
    f = BlindFilter(22050, design="reference")
    g = copy.deepcopy(f)
    assert type(g) is ReferenceBlindFilter
    np.testing.assert_array_equal(flat_values(f), flat_values(g))


@pytest.mark.parametrize("sample_rate", RATES)
def test_design_matches_the_reference_on_random_parameter_sets(design: dict, sample_rate: int) -> None:
    sets = zip(design[f"params_{sample_rate}"], design[f"response_{sample_rate}"], strict=True)
    for flat, expected in sets:
        h = with_values(sample_rate, flat).magnitude().detach().numpy()
        assert h[0] == expected[0] == 0.0
        assert rel(h[1:], expected[1:]) < TOL


def test_segments_step_at_breakpoints_between_bins() -> None:
    """A breakpoint between bins re-anchors at the next bin: the curve jumps there, unlike Shellac's."""
    flat = np.array([1000.0, 1500.0, 2000.0, 500.0, 50.0, -20.0, 0.0, -80.0, 0.0, 0.0, 80.0])
    ref = with_values(22050, flat)
    bins = ref.freqs.numpy()
    k = int(np.searchsorted(bins, 1500.0))  # first bin at or past fc_p[0]
    db = 20 * np.log10(ref.magnitude().detach().numpy()[k:k + 10])
    # Past fc_p[0] the slope is 0: the level is the one the first segment had at bin k, not at 1500 Hz.
    np.testing.assert_allclose(db, -20.0 * np.log2(bins[k] / 1000.0), atol=1e-9)
    assert db[5] < -20.0 * np.log2(1500.0 / 1000.0)


@pytest.mark.parametrize("sample_rate", RATES)
def test_projection_matches_the_reference(operator: dict, sample_rate: int) -> None:
    checked = 0
    sets = zip(operator[f"proj_raw_{sample_rate}"], operator[f"proj_out_{sample_rate}"], strict=True)
    for raw, expected in sets:
        f = with_values(sample_rate, raw)
        f.project_()
        if np.isnan(expected).any():
            continue  # the reference's own assertions stopped it on this set
        assert rel(flat_values(f), expected) < TOL
        checked += 1
    assert checked >= 6


@pytest.mark.parametrize("sample_rate", RATES)
def test_regulariser_matches_the_reference(operator: dict, sample_rate: int) -> None:
    sets = zip(operator[f"proj_raw_{sample_rate}"], operator[f"proj_reg_{sample_rate}"], strict=True)
    for raw, expected in sets:
        f = with_values(sample_rate, raw)
        f.project_()
        assert float(f.regulariser().detach()) == pytest.approx(10.0 * expected, rel=TOL)
    for flat, expected in zip(operator[f"loss_params_{sample_rate}"], operator[f"loss_reg_{sample_rate}"],
                              strict=True):
        assert float(with_values(sample_rate, flat).regulariser().detach()) == pytest.approx(
            10.0 * expected, rel=TOL, abs=1e-12)


@pytest.mark.parametrize("sample_rate", RATES)
def test_fit_loss_matches_the_reference(operator: dict, sample_rate: int) -> None:
    x = torch.tensor(operator[f"x_{sample_rate}"])
    y = torch.tensor(operator[f"y_{sample_rate}"])
    for flat, expected in zip(operator[f"loss_params_{sample_rate}"], operator[f"loss_data_{sample_rate}"],
                              strict=True):
        loss = float(with_values(sample_rate, flat).data_loss(x, y).detach())
        assert loss == pytest.approx(expected, rel=TOL)


@pytest.mark.parametrize("sample_rate", RATES)
def test_application_matches_the_reference_framing(operator: dict, sample_rate: int) -> None:
    f = with_values(sample_rate, operator[f"true_params_{sample_rate}"])
    out = f.forward(torch.tensor(operator[f"x_{sample_rate}"])).detach().numpy()
    expected = operator[f"applied_true_{sample_rate}"]
    assert np.max(np.abs(out - expected)) < TOL * np.max(np.abs(expected))


@pytest.mark.parametrize("sample_rate", RATES)
def test_a_new_filter_starts_at_the_reference_initial_values(operator: dict, sample_rate: int) -> None:
    """Outer slopes start at ∓40 dB/octave: the reference's first step moves them from there."""
    f = BlindFilter(sample_rate, design="reference")
    np.testing.assert_array_equal(flat_values(f), operator[f"fit_init_{sample_rate}"])


@pytest.mark.parametrize("sample_rate", RATES)
def test_one_adam_fit_call_matches_the_reference(operator: dict, sample_rate: int) -> None:
    f = BlindFilter(sample_rate, design="reference")
    report = f.fit(torch.tensor(operator[f"x_{sample_rate}"]), torch.tensor(operator[f"y_{sample_rate}"]))
    assert report.n_iters == operator[f"fit_iters_{sample_rate}"][0] == 100
    assert rel(flat_values(f), operator[f"fit_call0_{sample_rate}"], floor=1.0) < TOL
    assert flat_values(f)[7] == -80.0 and flat_values(f)[10] == 80.0


def test_outer_slopes_count_in_the_clip_norm() -> None:
    """Their gradients enter clip_grad_norm_ with the others, though the projection resets them."""
    f = BlindFilter(22050, design="reference", n_iters=1)
    x = 0.1 * torch.randn(1, 9000, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    f.fit(x, 0.5 * x)
    assert f.a_p.grad is not None and float(f.a_p.grad[2].abs()) > 0
    assert float(torch.cat([p.grad.reshape(-1) for p in f.params]).norm()) <= 1.0 + 1e-12


def test_stop_rule_is_tested_from_the_second_iteration() -> None:
    """With a zero learning rate nothing moves, yet the reference runs two iterations before stopping."""
    f = BlindFilter(22050, design="reference", lr=0.0)
    x = 0.1 * torch.randn(1, 9000, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    report = f.fit(x, x)
    assert report.n_iters == 2 and report.converged


def test_mask_aware_fit_is_an_option() -> None:
    x = 0.1 * torch.randn(1, 9000, dtype=torch.float64, generator=torch.Generator().manual_seed(5))
    mask = torch.ones(9000, dtype=torch.float64)
    mask[:4500] = 0.0
    blind = BlindFilter(22050, design="reference", n_iters=3)
    aware = BlindFilter(22050, design="reference", n_iters=3, mask_aware_fit=True)
    assert blind.fit(x, 0.5 * x, weight_mask=mask).frames_used == blind.fit(x, 0.5 * x).frames_total
    assert aware.fit(x, 0.5 * x, weight_mask=mask).frames_used < aware.fit(x, 0.5 * x).frames_total
