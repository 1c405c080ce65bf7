"""Consistency projection and known samples around any operator."""

import pytest
import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.bandlimit import LowpassOperator
from shellac.engine.operators.base import Operator
from shellac.engine.operators.clipping import ClippingOperator
from shellac.engine.operators.consistency import KnownSamplesOperator, project, supports_projection


class Square(Operator):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x**2


def test_linear_projection_is_idempotent_and_consistent() -> None:
    g = torch.Generator().manual_seed(5)
    x = torch.randn(1, 200, generator=g, dtype=torch.float64)
    z = torch.randn(1, 200, generator=g, dtype=torch.float64)
    op = LowpassOperator(8000, 1000.0)
    p = project(op, z, op(x))
    assert torch.allclose(op(p), op(x), atol=1e-12)
    assert torch.allclose(project(op, p, op(x)), p, atol=1e-12)
    assert not supports_projection(Square())
    with pytest.raises(ParameterError, match="no pseudo-inverse"):
        project(Square(), z, z)
    with pytest.raises(ParameterError, match="no pseudo-inverse"):
        Square().pseudo_inverse(z)


def test_known_samples_are_set_exactly() -> None:
    mask = torch.zeros(6)
    mask[:2] = 1
    op = KnownSamplesOperator(ClippingOperator(0.5), mask)
    y = torch.tensor([[0.9, -0.7, 0.5, 0.1, -0.5, 0.0]], dtype=torch.float64)
    x = torch.tensor([[0.0, 0.0, 0.2, 0.3, -0.9, 0.4]], dtype=torch.float64)
    assert op.project(x, y).tolist() == [[0.9, -0.7, 0.5, 0.1, -0.9, 0.0]]
    assert op(x).tolist() == [[0.0, 0.0, 0.2, 0.3, -0.5, 0.4]]
    assert op.has_pseudo_inverse and torch.equal(op.pseudo_inverse(y), y)
    assert not KnownSamplesOperator(Square(), mask).has_pseudo_inverse
