"""The reference hand-over against the reference evaluator run with a stub sampler; the one driver runs it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from shellac.engine.dsp.ltas_reference import reference_ltas_eq
from shellac.engine.errors import ParameterError
from shellac.engine.operators.blind_filter import BlindFilter
from shellac.engine.restoration import BlindFilterOperators, BlockSettings, restore_blocks
from shellac.engine.restoration.handover import (
    ReferenceHandOver,
    ShellacHandOver,
    reference_block_std,
    reference_segment_starts,
)
from shellac.engine.restoration.settings import SamplerSettings
from tests.fixtures.babe2_inputs import demo_recording

FIXTURES = Path(__file__).parents[2] / "fixtures" / "babe2_reference"


def stub_block(y: torch.Tensor, x_init: torch.Tensor, mask: torch.Tensor, index: int) -> torch.Tensor:
    """The fixture's stand-in sampler (see the fixtures' README)."""
    n = torch.arange(y.shape[-1], dtype=y.dtype)
    return 0.6 * y + 0.3 * x_init + 0.05 * torch.sin(0.01 * n)


def stub_drive(y: np.ndarray, x_init: np.ndarray, hand_over: ReferenceHandOver) -> np.ndarray:
    """The driver's hand-over steps (cut, scale, known part, join) around the stand-in sampler."""
    out = np.zeros(y.size)
    spans = hand_over.spans(y.size)
    gain = hand_over.gain(y, spans)
    for span in spans:
        y_block, x_block, known = hand_over.inputs(y, x_init, span, gain, None)
        hand_over.join(out, stub_block(y_block, x_block, known[0], span.index), span, gain)
    return out


def test_segments_are_the_references() -> None:
    assert reference_segment_starts(10000, 3000, 300) == [0, 2700, 5400, 8100]
    assert reference_segment_starts(3000, 3000, 300) == [0]
    with pytest.raises(ParameterError):
        reference_segment_starts(100, 30, 30)


def test_gain_uses_torch_median_with_the_padded_last_block() -> None:
    signal = torch.cat([torch.ones(2700) * 0, torch.linspace(-1, 1, 5400), torch.zeros(1000)])
    starts = reference_segment_starts(signal.shape[0], 3000, 300)
    padded = torch.cat([signal, torch.zeros(3000)])
    stds = sorted(float(padded[s:s + 3000].std()) for s in starts)
    assert reference_block_std(signal, starts, 3000) == pytest.approx(stds[(len(stds) - 1) // 2], rel=1e-12)


def test_driver_matches_the_reference_evaluator() -> None:
    """LTAS-EQ'd input as y and x_init, gain to σ_norm 0.07, overlap hand-over, Hann crossfade."""
    ltas = np.load(FIXTURES / "ltas.npz")
    expected = np.load(FIXTURES / "driver.npz")["out"]
    rec = demo_recording(10000)
    equalised, _ = reference_ltas_eq(rec, 22050, ltas["ltas_ref"], n_fft=2048)
    out = stub_drive(equalised, equalised, ReferenceHandOver(3000, 0.1, 0.07))
    # The reference's compute_LTAS rounds to float32 inside LTAS-EQ (and blocks reach the sampler
    # in float32): that is the floor here.
    assert np.max(np.abs(out - expected)) < 1e-4 * np.max(np.abs(expected))


def test_the_driver_runs_the_reference_hand_over_with_a_fresh_filter_each_block() -> None:
    made: list[BlindFilter] = []

    def make_filter() -> BlindFilter:
        made.append(BlindFilter(22050, design="reference", n_iters=2))
        return made[-1]

    settings = SamplerSettings(n_steps=3, sigma_start=0.5, sigma_min=4e-5, rho=13.0, xi=1.0, sigma_y=0.25,
                               churn_n=4, final_euler=False)
    rec = demo_recording(9000)
    result = restore_blocks(lambda x, s: 0.9 * x, rec,
                            operators=BlindFilterOperators(make_filter, carry=False), sampler=settings,
                            blocks=BlockSettings(segment_length=6000), target_std=0.07,
                            hand_over=ReferenceHandOver(6000, 0.1, 0.07))
    assert result.audio.shape == rec.shape and np.isfinite(result.audio).all()
    assert len(made) == len(result.reports) == 2 and made[0] is not made[1]
    assert [r["filter"] for r in result.reports] == [f.to_json() for f in made]


def test_shellac_hand_over_knows_the_overlap_and_leaves_the_padding_unknown() -> None:
    """Block i > 0 knows its first ``overlap`` samples (the previous block's end); padding is never known.

    The operators leave the padding unobserved (tests/engine/restoration/test_operators.py).

    Marked known, the padding past the end pulled the sampler to digital silence beside the music and
    every generative output swelled over its last 100 ms (session 23, docs/heldout_benchmark.md).
    """
    y = np.linspace(-0.5, 0.5, 2500, dtype=np.float32)
    x0 = 2 * y
    hand_over = ShellacHandOver(BlockSettings(segment_length=1000, overlap_fraction=0.1), target_std=0.1)
    spans = hand_over.spans(y.size)
    assert [(s.start, s.valid) for s in spans] == [(0, 1000), (900, 1000), (1800, 700)]
    first_y, first_x, first_known = hand_over.inputs(y, x0, spans[0], 2.0, None)
    assert float(first_known.sum()) == 0.0
    np.testing.assert_allclose(first_y.numpy(), 2.0 * y[:1000])
    np.testing.assert_allclose(first_x.numpy(), 2.0 * x0[:1000])
    prev = torch.arange(1000, dtype=torch.float32)
    last_y, last_x, last_known = hand_over.inputs(y, x0, spans[2], 2.0, prev)
    assert last_known[:100].tolist() == [1.0] * 100
    assert float(last_known[100:].sum()) == 0.0  # the 300 padded samples included
    np.testing.assert_array_equal(last_y[:100].numpy(), prev[-100:].numpy())
    np.testing.assert_array_equal(last_x[:100].numpy(), prev[-100:].numpy())
    np.testing.assert_allclose(last_y[100:700].numpy(), 2.0 * y[1900:2500])
    assert float(last_y[700:].abs().sum()) == 0.0
