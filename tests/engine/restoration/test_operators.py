"""Block operators: the blind filter masked by what a block knows, its padding past the end unobserved."""

from __future__ import annotations

import torch

from shellac.engine.blocks.overlap_add import BlockSpan
from shellac.engine.operators.blind_filter import BlindFilter
from shellac.engine.restoration import BlindFilterOperators

SR = 22050


def test_the_last_blocks_padding_is_unobserved_unless_the_reference_way_is_asked_for() -> None:
    known = torch.zeros(1000)
    known[:100] = 1.0
    last = BlockSpan(index=2, start=1800, stop=2800, valid=700)
    x = torch.ones(1, 1000)
    ours = BlindFilterOperators(lambda: BlindFilter(SR), carry=True).block(last, 2.0, known)
    with torch.no_grad():
        out = ours(x)
    assert float(out[:, 700:].abs().max()) == 0.0  # no pull towards silence, whatever x holds there
    assert torch.equal(out[:, :100], x[:, :100])  # the overlap: identity
    assert float(out[:, 100:700].abs().min()) > 0.0
    reference = BlindFilterOperators(lambda: BlindFilter(SR), carry=True, pad_observed=True)
    with torch.no_grad():
        held = reference.block(last, 2.0, known)(x)
    assert float(held[:, 700:].abs().min()) > 0.0  # filtered, held against the zero padding
    full = BlockSpan(index=1, start=900, stop=1900, valid=1000)
    assert BlindFilterOperators(lambda: BlindFilter(SR), carry=True).block(full, 2.0, known).observed is None
