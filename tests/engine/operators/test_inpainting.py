"""Inpainting mask: projection identities, exact replacement, gap masks, dropout detection."""

import numpy as np
import pytest
import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.inpainting import InpaintingOperator, find_dropouts, gap_mask


def test_mask_identities_and_exact_projection() -> None:
    mask = torch.from_numpy(gap_mask(10, [(2, 3), (8, 5)]))
    assert mask.tolist() == [1, 1, 0, 0, 0, 1, 1, 1, 0, 0]
    op = InpaintingOperator(mask)
    g = torch.Generator().manual_seed(0)
    x, y = torch.randn(2, 10, generator=g), torch.randn(2, 10, generator=g)
    assert torch.equal(op(op.pseudo_inverse(op(x))), op(x))
    p = op.project(x, y)
    assert torch.equal(p[:, mask > 0], y[:, mask > 0]) and torch.equal(p[:, mask == 0], x[:, mask == 0])
    with pytest.raises(ParameterError, match="exact 0s"):
        InpaintingOperator(torch.full((4,), 0.5))


def test_find_dropouts_zero_runs_and_sudden_silence() -> None:
    sr = 8000
    rng = np.random.default_rng(0)
    x = 0.3 * np.sin(2 * np.pi * 330 * np.arange(2 * sr) / sr) + 0.01 * rng.standard_normal(2 * sr)
    x[4000:4400] = 0.0  # digital dropout, 50 ms
    x[10000:10240] *= 1e-4  # sudden silence, 30 ms, −80 dB
    x[100:104] = 0.0  # 0.5 ms of zeros: shorter than min_zero_ms
    found = find_dropouts(np.stack([x, x]), sr)
    assert found[0] == (4000, 400)
    (start, length), = found[1:]
    assert 9990 <= start <= 10000 and 10240 <= start + length <= 10250
    assert find_dropouts(x, sr, max_gap_s=0.01) == []
