"""Splitting into blocks and rejoining returns the input exactly; crossfades sum to one."""

import numpy as np
import pytest

from shellac.engine.blocks.overlap_add import block_spans, crossfade, extract_block, overlap_add
from shellac.engine.errors import ParameterError


@pytest.mark.parametrize(("n", "length", "overlap"), [(1000, 256, 25), (256, 256, 25), (100, 256, 25),
                                                       (5000, 1000, 0), (4097, 512, 511)])
def test_split_and_rejoin_is_identity(n: int, length: int, overlap: int) -> None:
    x = np.random.default_rng(0).standard_normal((2, n))
    spans = block_spans(n, length, overlap)
    blocks = [extract_block(x, s) for s in spans]
    assert all(b.shape == (2, length) for b in blocks)
    # Fades sum to 1, so the only difference is float rounding.
    assert np.max(np.abs(overlap_add(blocks, spans, overlap, n) - x)) < 1e-12


def test_spans_cover_with_fixed_hop() -> None:
    spans = block_spans(946, 256, 26)
    assert [s.start for s in spans] == [0, 230, 460, 690] and spans[-1].valid == 256
    spans = block_spans(1001, 256, 26)
    assert [s.start for s in spans] == [0, 230, 460, 690, 920] and spans[-1].valid == 81


def test_crossfade_sums_to_one_and_is_hann() -> None:
    out, inn = crossfade(100)
    assert np.allclose(out + inn, 1.0)
    assert inn[0] < 0.001 and inn[-1] > 0.999
    # sin²(θ) at θ = (50.5/100)·π/2 is 0.5 + sin(π/200)/2.
    assert inn[50] == pytest.approx(0.5 + np.sin(np.pi / 200) / 2, abs=1e-9)


def test_crossfade_blends_mismatched_blocks_linearly_in_weights() -> None:
    spans = block_spans(30, 20, 10)
    blocks = [np.ones(20), np.full(20, 3.0)]
    y = overlap_add(blocks, spans, 10, 30)
    fade_out, fade_in = crossfade(10)
    assert np.allclose(y[10:20], fade_out + 3 * fade_in)
    assert np.all(y[:10] == 1) and np.all(y[20:] == 3)


def test_bad_arguments() -> None:
    with pytest.raises(ParameterError):
        block_spans(100, 10, 10)
    with pytest.raises(ParameterError):
        block_spans(0, 10, 1)
