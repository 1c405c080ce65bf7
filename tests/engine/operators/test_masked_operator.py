"""MaskedOperator: A(x) = o·(m·x + (1 − m)·H(x)), fit delegated with the weight o·(1 − m)."""

from __future__ import annotations

import pytest
import torch

from shellac.engine.errors import ParameterError
from shellac.engine.operators.base import Operator
from shellac.engine.operators.blind_filter import BlindFilter, BlindFilterParams
from shellac.engine.operators.lowpass_filter import LowpassBlindFilter
from shellac.engine.operators.masked import MaskedOperator

SR = 22050


class Halve(Operator):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 0.5 * x


def test_forward_is_identity_on_mask_and_inner_elsewhere() -> None:
    mask = torch.tensor([1.0, 1.0, 0.5, 0.0, 0.0])
    op = MaskedOperator(Halve(), mask)
    x = torch.full((2, 5), 4.0)
    assert torch.equal(op(x), torch.tensor([[4.0, 4.0, 3.0, 2.0, 2.0]] * 2))
    assert not op.blind
    with pytest.raises(ParameterError):
        op.fit(x, x)


def test_mask_validation() -> None:
    with pytest.raises(ParameterError):
        MaskedOperator(Halve(), torch.tensor([1.5, 0.0]))
    with pytest.raises(ParameterError):
        MaskedOperator(Halve(), torch.ones(4))(torch.zeros(1, 5))


def test_fit_uses_the_complement_of_the_mask_as_weight() -> None:
    gen = torch.Generator().manual_seed(0)
    n = SR
    x = 0.1 * torch.randn(1, n, dtype=torch.float64, generator=gen)
    with torch.no_grad():
        y = LowpassBlindFilter(SR, cutoff_hz=1500.0, slope_db=-20.0)(x)
    mask = torch.zeros(n, dtype=torch.float64)
    mask[: n // 4] = 1.0
    direct = BlindFilter(SR, n_iters=40)
    report_direct = direct.fit(x, y, weight_mask=1.0 - mask)
    masked = MaskedOperator(BlindFilter(SR, n_iters=40), mask)
    assert masked.blind
    report_masked = masked.fit(x, y)
    assert report_masked == report_direct
    assert masked.inner.values() == direct.values()
    assert report_masked.frames_used < report_masked.frames_total
    assert masked.params == masked.inner.params


def test_state_is_the_inner_filters() -> None:
    inner = BlindFilter(SR, BlindFilterParams(f_ref=900.0))
    op = MaskedOperator(inner, torch.zeros(10))
    state = op.state_dict()
    assert state["values"]["f_ref"] == [900.0]
    other = MaskedOperator(BlindFilter(SR), torch.ones(10))
    other.load_state_dict(state)
    assert other.inner.values() == inner.values()


def test_fit_without_mask_awareness_sees_every_sample() -> None:
    gen = torch.Generator().manual_seed(1)
    n = SR // 2
    x = 0.1 * torch.randn(1, n, dtype=torch.float64, generator=gen)
    with torch.no_grad():
        y = LowpassBlindFilter(SR, cutoff_hz=1500.0, slope_db=-20.0)(x)
    y[:, : n // 4] = x[:, : n // 4]  # the known part: already restored, unfiltered
    mask = torch.zeros(n, dtype=torch.float64)
    mask[: n // 4] = 1.0
    aware = MaskedOperator(BlindFilter(SR, n_iters=30), mask)
    blind_to_mask = MaskedOperator(BlindFilter(SR, n_iters=30), mask, mask_aware_fit=False)
    direct = BlindFilter(SR, n_iters=30)
    aware.fit(x, y)
    blind_to_mask.fit(x, y)
    direct.fit(x, y)
    # Not mask-aware: exactly the unweighted fit; mask-aware: a different estimate.
    assert torch.equal(blind_to_mask.inner.params[0], direct.params[0])
    assert not torch.equal(aware.inner.params[0], direct.params[0])


def test_unobserved_samples_are_zero_in_forward_and_out_of_the_fit() -> None:
    """The last block's padding: whatever x holds there, A(x) is 0 and the fit never sees it."""
    mask = torch.tensor([1.0, 0.0, 0.0, 0.0])
    observed = torch.tensor([1.0, 1.0, 0.0, 0.0])
    op = MaskedOperator(Halve(), mask, observed=observed)
    x = torch.tensor([[4.0, 4.0, 4.0, -8.0]], requires_grad=True)
    out = op(x)
    assert out.tolist() == [[4.0, 2.0, 0.0, 0.0]]
    out.sum().backward()
    assert x.grad is not None and x.grad.tolist() == [[1.0, 0.5, 0.0, 0.0]]
    with pytest.raises(ParameterError):
        MaskedOperator(Halve(), mask, observed=torch.tensor([2.0, 1.0, 0.0, 0.0]))

    gen = torch.Generator().manual_seed(2)
    n = SR // 2
    signal = 0.1 * torch.randn(1, n, dtype=torch.float64, generator=gen)
    with torch.no_grad():
        y = LowpassBlindFilter(SR, cutoff_hz=1500.0, slope_db=-20.0)(signal)
    y[:, 3 * n // 4:] = 0.0  # zero padding past the end
    known = torch.zeros(n, dtype=torch.float64)
    known[: n // 8] = 1.0
    seen = torch.ones(n, dtype=torch.float64)
    seen[3 * n // 4:] = 0.0
    direct = BlindFilter(SR, n_iters=30)
    report_direct = direct.fit(signal, y, weight_mask=(1.0 - known) * seen)
    padded = MaskedOperator(BlindFilter(SR, n_iters=30), known, observed=seen)
    assert padded.fit(signal, y) == report_direct
    assert padded.inner.values() == direct.values()
    with_zeros = MaskedOperator(BlindFilter(SR, n_iters=30), known)
    with_zeros.fit(signal, y)
    assert with_zeros.inner.values() != direct.values()
