"""Known-cutoff low-pass: a projection, so A A⁺ A = A and A² = A; the band is cut where it should be."""

import pytest
import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.bandlimit import LowpassOperator


def test_projection_identities_and_band() -> None:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 1000, generator=g, dtype=torch.float64)
    op = LowpassOperator(8000, 1000.0)
    y = op(x)
    assert y.shape == x.shape
    assert torch.allclose(op(op.pseudo_inverse(y)), y, atol=1e-12)
    assert torch.allclose(op(y), y, atol=1e-12)
    spec = torch.fft.rfft(y).abs()
    freqs = torch.fft.rfftfreq(1000, 1 / 8000)
    assert float(spec[:, freqs > 1000].max()) < 1e-10
    assert torch.allclose(spec[:, freqs <= 1000], torch.fft.rfft(x).abs()[:, freqs <= 1000])


def test_tone_below_cutoff_passes_and_above_is_removed() -> None:
    t = torch.arange(800, dtype=torch.float64) / 8000
    low, high = torch.sin(2 * torch.pi * 500 * t), torch.sin(2 * torch.pi * 2000 * t)
    out = LowpassOperator(8000, 1000.0)((low + high)[None])[0]
    assert torch.allclose(out, low, atol=1e-9)
    with pytest.raises(ParameterError, match="cutoff"):
        LowpassOperator(8000, 5000.0)
