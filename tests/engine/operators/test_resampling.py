"""Decimation operator: pseudo-inverse identities, decimate/embed, a band-limited tone survives."""

import pytest
import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.resampling import DecimationOperator


def test_pseudo_inverse_identities() -> None:
    g = torch.Generator().manual_seed(2)
    x = torch.randn(2, 600, generator=g, dtype=torch.float64)
    op = DecimationOperator(3)
    y = op(x)
    assert y.shape == x.shape and float(y[:, 1::3].abs().max()) == 0.0
    assert torch.allclose(op(op.pseudo_inverse(y)), y, atol=1e-12)
    pinv = op.pseudo_inverse
    assert torch.allclose(pinv(op(pinv(y))), pinv(y), atol=1e-12)
    assert torch.equal(op.embed(op.decimate(x)), y)


def test_band_limited_tone_is_interpolated_back() -> None:
    t = torch.arange(1200, dtype=torch.float64) / 12000
    tone = torch.sin(2 * torch.pi * 500 * t)[None]  # 60 whole periods, far below 2 kHz
    op = DecimationOperator(3)
    assert torch.allclose(op.pseudo_inverse(op(tone)), tone, atol=1e-9)
    with pytest.raises(ParameterError, match="multiple"):
        op(torch.zeros(1, 100))
    with pytest.raises(ParameterError, match="integer"):
        DecimationOperator(1)
