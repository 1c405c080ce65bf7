"""Pinned restoration schedules and the training σ warp."""

from __future__ import annotations

import pytest
import torch

from shellac.engine.diffusion.schedule import restoration_schedule, training_sigma
from shellac.engine.errors import ParameterError


def test_piano_schedule_pinned_values() -> None:
    t = restoration_schedule(51, sigma_start=0.5, sigma_min=4e-5, rho=13)
    assert t.dtype == torch.float64
    assert t.shape == (52,)
    assert [round(float(v), 3) for v in t[:5]] == [0.5, 0.437, 0.381, 0.332, 0.289]
    # The N−1 denominator puts σ_min exactly at index N−1, then 0.
    assert float(t[-3]) == pytest.approx(5.26226362e-05, rel=1e-6)
    assert float(t[-2]) == pytest.approx(4e-5, rel=1e-12)
    assert float(t[-1]) == 0.0
    assert bool((t[:-1][1:] < t[:-1][:-1]).all())


def test_voice_schedule_pinned_values() -> None:
    t = restoration_schedule(51, sigma_start=10.0, sigma_min=1e-3, rho=13)
    assert [round(float(v), 3) for v in t[:4]] == [10.0, 8.758, 7.659, 6.689]
    assert float(t[-2]) == pytest.approx(1e-3, rel=1e-12)
    assert float(t[-1]) == 0.0


def test_schedule_rejects_bad_arguments() -> None:
    with pytest.raises(ParameterError):
        restoration_schedule(1, 0.5, 4e-5, 13)
    with pytest.raises(ParameterError):
        restoration_schedule(10, 4e-5, 0.5, 13)


def test_training_sigma_warp() -> None:
    u = torch.tensor([0.0, 0.5, 1.0], dtype=torch.float64)
    s = training_sigma(u, sigma_min=1e-5, sigma_max=10.0, rho=10)
    assert float(s[0]) == pytest.approx(10.0, rel=1e-12)
    assert float(s[1]) == pytest.approx(0.0918180321, rel=1e-8)
    assert float(s[2]) == pytest.approx(1e-5, rel=1e-9)
