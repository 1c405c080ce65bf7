"""EDM preconditioning coefficients and the denoiser wrapper."""

from __future__ import annotations

import pytest
import torch

from shellac.engine.diffusion.precond import EDMPrecond, edm_loss_weight
from shellac.engine.errors import ParameterError


class RecordingNet(torch.nn.Module):
    """Raw network returning a constant 1, remembering what it was given."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[tuple[torch.Tensor, torch.Tensor]] = []

    def forward(self, x_in: torch.Tensor, c_noise: torch.Tensor) -> torch.Tensor:
        self.seen.append((x_in.clone(), c_noise.clone()))
        return torch.ones_like(x_in)


@pytest.mark.parametrize(
    ("sigma_data", "sigma", "expected"),
    [
        # hand-computed: c_skip, c_out, c_in, c_noise
        (0.5, 0.5, (0.5, 0.3535533906, 1.4142135624, -0.1732867951)),
        (0.063, 2.0, (0.0009912664, 0.0629687674, 0.4997521220, 0.1732867951)),
        (1.0, 1.0, (0.5, 0.7071067812, 0.7071067812, 0.0)),
    ],
)
def test_coefficients_match_hand_computed_values(
    sigma_data: float, sigma: float, expected: tuple[float, float, float, float]
) -> None:
    precond = EDMPrecond(RecordingNet(), sigma_data=sigma_data)
    coeffs = precond.coefficients(torch.tensor(sigma, dtype=torch.float64))
    for got, want in zip(coeffs, expected, strict=True):
        assert float(got) == pytest.approx(want, abs=1e-9)


def test_forward_combines_skip_and_network_output() -> None:
    net = RecordingNet()
    precond = EDMPrecond(net, sigma_data=0.5)
    x = torch.full((2, 8), 2.0, dtype=torch.float64)
    out = precond(x, 0.5)
    # c_skip·x + c_out·1 = 0.5·2 + 0.353553...
    assert torch.allclose(out, torch.full_like(x, 1.0 + 0.3535533906), atol=1e-9)
    x_in, c_noise = net.seen[0]
    assert torch.allclose(x_in, torch.full_like(x, 2.0 * 1.4142135624), atol=1e-8)
    assert c_noise.shape == (2,)
    assert torch.allclose(c_noise, torch.full((2,), -0.1732867951, dtype=torch.float64))


def test_sigma_may_be_float_scalar_tensor_or_batch() -> None:
    precond = EDMPrecond(RecordingNet(), sigma_data=1.0)
    x = torch.randn(3, 16, dtype=torch.float64)
    a = precond(x, 0.7)
    b = precond(x, torch.tensor(0.7, dtype=torch.float64))
    c = precond(x, torch.full((3,), 0.7, dtype=torch.float64))
    assert torch.allclose(a, b) and torch.allclose(a, c)
    per_item = precond(x, torch.tensor([0.1, 1.0, 10.0]))
    # c_skip differs per row: at σ = 10 the output is dominated by c_out·1.
    assert float(per_item[2, 0] - 0.0099009901 * x[2, 0]) == pytest.approx(0.9950371902, abs=1e-8)


def test_bad_sigma_is_rejected() -> None:
    precond = EDMPrecond(RecordingNet(), sigma_data=1.0)
    x = torch.randn(2, 4)
    with pytest.raises(ParameterError):
        precond(x, torch.ones(3))
    with pytest.raises(ParameterError):
        precond(x, 0.0)
    with pytest.raises(ParameterError):
        EDMPrecond(RecordingNet(), sigma_data=0.0)


def test_loss_weight_formula() -> None:
    # (σ² + σd²) / (σσd)² at σ = σd = 0.5: 0.5 / 0.0625 = 8
    assert float(edm_loss_weight(0.5, 0.5)) == pytest.approx(8.0)
    # σ = 0.1, σd = 0.063: (0.01 + 0.003969) / (0.0063)² = 351.95...
    assert float(edm_loss_weight(0.1, 0.063)) == pytest.approx(351.9526329, rel=1e-7)
    precond = EDMPrecond(RecordingNet(), sigma_data=0.5)
    assert float(precond.loss_weight(0.5)) == pytest.approx(8.0)
