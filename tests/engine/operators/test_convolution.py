"""Convolution operator: matches direct circular convolution, A A⁺ A = A, lost bins handled."""

import numpy as np
import pytest
import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.convolution import ConvolutionOperator


def test_matches_circular_convolution_and_pseudo_inverse() -> None:
    rng = np.random.default_rng(3)
    h = np.exp(-np.arange(40) / 8.0) * rng.standard_normal(40)
    x = rng.standard_normal((2, 256))
    op = ConvolutionOperator(h)
    y = op(torch.from_numpy(x))
    direct = np.stack([[sum(h[k] * xi[(n - k) % 256] for k in range(40)) for n in range(256)] for xi in x])
    assert np.allclose(y.numpy(), direct, atol=1e-10)
    assert torch.allclose(op(op.pseudo_inverse(y)), y, atol=1e-10)


def test_lost_frequencies_are_the_null_space() -> None:
    op = ConvolutionOperator(np.array([0.5, 0.5]))  # zero at Nyquist
    x = torch.from_numpy(np.cos(np.pi * np.arange(64)))[None]  # pure Nyquist tone
    assert float(op(x).abs().max()) < 1e-12
    assert float(op.pseudo_inverse(op(x)).abs().max()) < 1e-12
    with pytest.raises(ParameterError, match="longer"):
        ConvolutionOperator(np.ones(100))(torch.zeros(1, 50))
