"""STFT magnitude: shapes, gradient, and the Griffin–Lim projection keeps a consistent signal."""

import torch

from shellac.engine.operators.consistency import project
from shellac.engine.operators.stft_magnitude import StftMagnitudeOperator


def test_shapes_gradient_and_projection() -> None:
    g = torch.Generator().manual_seed(4)
    x = torch.randn(2, 1024, generator=g, dtype=torch.float64, requires_grad=True)
    op = StftMagnitudeOperator(256)
    mag = op(x)
    assert mag.shape == (2, 129, 17)
    mag.sum().backward()
    assert torch.isfinite(x.grad).all() and float(x.grad.abs().sum()) > 0
    x = x.detach()
    assert torch.allclose(project(op, x, op(x)), x, atol=1e-9)
    # Projecting another signal onto x's magnitudes gets closer to them.
    z = torch.randn(2, 1024, generator=g, dtype=torch.float64)
    before = (op(z) - op(x)).norm()
    after = (op(project(op, z, op(x))) - op(x)).norm()
    assert after < 0.8 * before
