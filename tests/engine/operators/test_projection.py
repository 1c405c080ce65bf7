"""Projection operators (low-pass, inpainting mask): their own pseudo-inverse, idempotent, A A⁺ A = A."""

import pytest
import torch

from shellac.engine.operators import InpaintingOperator, LowpassOperator, ProjectionOperator
from shellac.engine.operators.inpainting import gap_mask


@pytest.mark.parametrize("op", [
    LowpassOperator(8000, 1500.0),
    InpaintingOperator(torch.from_numpy(gap_mask(256, [(40, 30), (200, 7)])).to(torch.float64)),
], ids=["lowpass", "inpainting"])
def test_projection_is_its_own_pseudo_inverse(op: ProjectionOperator) -> None:
    x = torch.randn(2, 256, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    y = op(x)
    assert op.has_pseudo_inverse
    assert torch.equal(op.pseudo_inverse(y), op(y))
    assert torch.allclose(op(op(x)), y, atol=1e-12)
    assert torch.allclose(op(op.pseudo_inverse(y)), y, atol=1e-12)
    assert float((x - y).abs().max()) > 0.1  # a real projection, not the identity
