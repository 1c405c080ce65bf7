"""Clipping operator: formula, idempotence, consistency projection, clip-level estimation."""

import numpy as np
import pytest
import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.clipping import ClippingOperator, estimate_clip_level, level_for_sdr


def _signal(n: int = 4000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 8000
    return 0.5 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(n)


def test_forward_is_clamp_and_idempotent() -> None:
    x = torch.linspace(-2, 2, 9, dtype=torch.float64)[None]
    op = ClippingOperator(0.75)
    assert op(x).tolist() == [[-0.75, -0.75, -0.75, -0.5, 0.0, 0.5, 0.75, 0.75, 0.75]]
    g = torch.Generator().manual_seed(0)
    z = torch.randn(3, 500, generator=g, dtype=torch.float64)
    assert torch.equal(op(op(z)), op(z))
    # A A⁺ A = A with A⁺ the identity on observations.
    assert torch.equal(op(op.pseudo_inverse(op(z))), op(z))


def test_gradient_passes_only_inside_the_level() -> None:
    x = torch.tensor([[-1.0, -0.2, 0.3, 1.0]], requires_grad=True)
    ClippingOperator(0.5)(x).sum().backward()
    assert x.grad.tolist() == [[0.0, 1.0, 1.0, 0.0]]


def test_projection_keeps_reliable_samples_and_signs() -> None:
    op = ClippingOperator(0.5)
    y = torch.tensor([[0.5, 0.2, -0.5, -0.1, 0.5]], dtype=torch.float64)
    x = torch.tensor([[0.1, 9.0, -0.9, 3.0, 0.8]], dtype=torch.float64)
    p = op.project(x, y)
    assert p.tolist() == [[0.5, 0.2, -0.9, -0.1, 0.8]]
    assert torch.equal(op(p), y)


def test_explicit_clipped_map() -> None:
    op = ClippingOperator(0.5, clipped=torch.tensor([True, False, False]))
    y = torch.tensor([[0.49, 0.499, 0.3]], dtype=torch.float64)
    assert op.project(torch.tensor([[0.0, 1.0, 1.0]], dtype=torch.float64), y).tolist() == [[0.5, 0.499, 0.3]]
    with pytest.raises(ParameterError, match="positive"):
        ClippingOperator(0.0)


def test_estimate_finds_the_level_of_a_clipped_signal() -> None:
    x = _signal()
    est = estimate_clip_level(np.clip(x, -0.3, 0.3))
    assert est.detected and est.level == pytest.approx(0.3, abs=1e-12)
    assert est.clipped_fraction == pytest.approx(np.mean(np.abs(x) >= 0.3), abs=1e-12)
    assert est.spike_ratio > 10
    clean = estimate_clip_level(x)
    assert not clean.detected and clean.clipped_fraction == 0.0
    assert clean.level == pytest.approx(np.abs(x).max())


def test_level_for_sdr_hits_the_target() -> None:
    x = _signal()
    for target in (5.0, 10.0):
        c = level_for_sdr(x, target)
        err = np.sum((x - np.clip(x, -c, c)) ** 2)
        assert 10 * np.log10(np.sum(x**2) / err) == pytest.approx(target, abs=1e-6)
