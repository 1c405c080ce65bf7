"""The one block driver: blind filter and known operators end to end; resume equals an uninterrupted run."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from shellac.engine.blocks.checkpoints import BlockCheckpointStore
from shellac.engine.blocks.overlap_add import BlockSpan, block_spans
from shellac.engine.diffusion.methods import MethodSettings
from shellac.engine.diffusion.precond import EDMPrecond
from shellac.engine.errors import ParameterError
from shellac.engine.networks.unet1d import UNet1D, UNet1DConfig
from shellac.engine.operators.bandlimit import LowpassOperator
from shellac.engine.operators.base import Operator
from shellac.engine.operators.blind_filter import BlindFilter
from shellac.engine.operators.inpainting import InpaintingOperator, gap_mask
from shellac.engine.restoration import (
    BlindFilterOperators,
    BlockRestoration,
    BlockSettings,
    KnownOperators,
    SamplerSettings,
    normalising_gain,
    restore_blocks,
)

SR = 8000
SAMPLER = SamplerSettings(n_steps=4, sigma_start=0.5, sigma_min=1e-3, rho=13.0, xi=1.0, sigma_y=0.25)
BLOCKS = BlockSettings(segment_length=16384, overlap_fraction=0.1, carry_filter=True, seed=3)


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _denoiser() -> EDMPrecond:
    torch.manual_seed(0)
    return EDMPrecond(UNet1D(UNet1DConfig.tiny()).eval(), sigma_data=0.1)


def _observation(seconds: float) -> np.ndarray:
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * SR)) / SR
    music = sum(np.sin(2 * np.pi * 110 * k * t + k) / k for k in range(1, 20))
    return (0.05 * music + 0.005 * rng.standard_normal(t.size)).astype(np.float32)


def _filter() -> BlindFilter:
    return BlindFilter(SR, n_iters=3)


def _restore(y: np.ndarray, **kwargs: Any) -> BlockRestoration:
    """The driver with this file's tiny model, carried blind filter, sampler and block settings."""
    return restore_blocks(_denoiser(), y, operators=BlindFilterOperators(_filter, carry=BLOCKS.carry_filter),
                          sampler=SAMPLER, blocks=BLOCKS, target_std=0.1, **kwargs)


def test_twenty_seconds_end_to_end() -> None:
    y = _observation(20.0)
    result = _restore(y)
    n_blocks = len(block_spans(y.size, 16384, 1638))
    assert n_blocks == 11
    assert result.audio.shape == y.shape and np.isfinite(result.audio).all()
    assert len(result.reports) == n_blocks and result.resumed_blocks == 0
    assert result.gain == pytest.approx(
        0.1 / np.median([np.std(y[s.start : s.start + s.valid]) for s in block_spans(y.size, 16384, 1638)])
    )
    assert all(len(r["filter_response_db"]) > 10 for r in result.reports)
    # The known overlap is enforced by guidance, so block seams stay continuous.
    seam = block_spans(y.size, 16384, 1638)[1].start
    jump = np.abs(np.diff(result.audio[seam - 4 : seam + 4])).max()
    assert jump < 10 * np.abs(np.diff(result.audio)).mean() + 1e-6


def test_resume_after_crash_equals_uninterrupted_run(tmp_path: Path) -> None:
    y = _observation(6.0)
    full = _restore(y, checkpoints=BlockCheckpointStore(tmp_path / "a", "k"))

    class Killed(Exception):
        pass

    def die_at_block_2(block: int, n_blocks: int, step: int, n_steps: int) -> None:
        if block == 2:
            raise Killed

    store = BlockCheckpointStore(tmp_path / "b", "k")
    with pytest.raises(Killed):
        _restore(y, checkpoints=store, progress=die_at_block_2)
    assert store.finished() == 2
    resumed = _restore(y, checkpoints=BlockCheckpointStore(tmp_path / "b", "k"))
    assert resumed.resumed_blocks == 2
    assert np.array_equal(resumed.audio, full.audio)
    assert [r["filter"] for r in resumed.reports] == [r["filter"] for r in full.reports]


def test_changed_run_key_discards_old_blocks(tmp_path: Path) -> None:
    y = _observation(3.0)
    _restore(y, checkpoints=BlockCheckpointStore(tmp_path, "k1"))
    assert BlockCheckpointStore(tmp_path, "k1").finished() == 2
    assert BlockCheckpointStore(tmp_path, "k2").finished() == 0


def test_silence_is_rejected() -> None:
    with pytest.raises(ParameterError, match="silent"):
        normalising_gain(np.zeros(1000), block_spans(1000, 100, 10), 0.1)


def test_fresh_filter_per_block_resumes_identically(tmp_path: Path) -> None:
    y = _observation(4.0)
    fresh = BlockSettings(segment_length=16384, overlap_fraction=0.1, carry_filter=False, seed=3)

    def run(store: BlockCheckpointStore, crash_at: int | None = None) -> BlockRestoration:
        def progress(block: int, n_blocks: int, step: int, n_steps: int) -> None:
            if block == crash_at:
                raise KeyboardInterrupt

        return restore_blocks(_denoiser(), y, operators=BlindFilterOperators(_filter, carry=False),
                              sampler=SAMPLER, blocks=fresh, target_std=0.1, checkpoints=store,
                              progress=progress)

    whole = run(BlockCheckpointStore(tmp_path / "a", "k"))
    with pytest.raises(KeyboardInterrupt):
        run(BlockCheckpointStore(tmp_path / "b", "k"), crash_at=1)
    resumed = run(BlockCheckpointStore(tmp_path / "b", "k"))
    assert resumed.resumed_blocks == 1 and np.array_equal(resumed.audio, whole.audio)
    # Each block's filter starts afresh from the same values, so the fits differ only by their data.
    assert whole.reports[0]["filter"] != whole.reports[1]["filter"]


SD = 0.5  # σ_data of the Gaussian prior below


def gaussian_denoiser(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Exact denoiser of N(0, σ_d² I): D = σ_d²/(σ² + σ_d²)·x."""
    return SD**2 / (sigma**2 + SD**2) * x


def test_known_operator_blocks_skip_and_keep_known_samples() -> None:
    sr, n = 1000, 2500
    t = np.arange(n) / sr
    clean = (0.5 * np.sin(2 * np.pi * 7 * t)).astype(np.float32)
    mask = gap_mask(n, [(300, 50)])
    y = clean * mask

    def make_operator(span: BlockSpan, gain: float) -> Operator | None:
        m = np.ones(span.length, dtype=np.float32)
        m[: span.valid] = mask[span.start:span.start + span.valid]
        return None if m.all() else InpaintingOperator(torch.from_numpy(m))

    sampler = SamplerSettings(n_steps=4, sigma_start=1.0, sigma_min=1e-3, rho=7.0, xi=0.0, sigma_y=0.0)
    result = restore_blocks(gaussian_denoiser, y, operators=KnownOperators(make_operator),
                            method=MethodSettings(name="dc"), sampler=sampler,
                            blocks=BlockSettings(segment_length=1000), target_std=SD)
    assert [r["restored"] for r in result.reports] == [True, False, False]
    assert [r["nfe"] for r in result.reports] == [7, 0, 0]
    known = mask > 0
    np.testing.assert_allclose(result.audio[known], y[known], atol=1e-6)
    assert np.abs(result.audio[300:350]).max() > 0

    low = LowpassOperator(sr, 100.0)
    result = restore_blocks(gaussian_denoiser, y, operators=KnownOperators(lambda span, gain: low),
                            method=MethodSettings(name="ddnm"), sampler=sampler,
                            blocks=BlockSettings(segment_length=1000), target_std=SD)
    assert result.audio.shape == (n,) and np.isfinite(result.audio).all()
    assert all(r["restored"] for r in result.reports)


def test_known_operator_run_resumes_from_block_checkpoints_with_identical_output(tmp_path: Path) -> None:
    sr, n = 1000, 3500
    clean = (0.5 * np.sin(2 * np.pi * 7 * np.arange(n) / sr)).astype(np.float32)
    mask = gap_mask(n, [(300, 50), (1300, 40), (2400, 60)])
    y = clean * mask
    crash_at: list[int] = []

    def make_operator(span: BlockSpan, gain: float) -> Operator | None:
        if span.index in crash_at:
            raise KeyboardInterrupt  # stands in for the process being killed mid-run
        m = np.ones(span.length, dtype=np.float32)
        m[: span.valid] = mask[span.start:span.start + span.valid]
        return None if m.all() else InpaintingOperator(torch.from_numpy(m))

    sampler = SamplerSettings(n_steps=4, sigma_start=1.0, sigma_min=1e-3, rho=7.0, xi=0.0, sigma_y=0.0)

    def run(store: BlockCheckpointStore | None) -> BlockRestoration:
        return restore_blocks(gaussian_denoiser, y, operators=KnownOperators(make_operator),
                              method=MethodSettings(name="dc"), sampler=sampler,
                              blocks=BlockSettings(segment_length=1000, seed=5), target_std=SD,
                              checkpoints=store)

    whole = run(None)
    crash_at.append(2)
    with pytest.raises(KeyboardInterrupt):
        run(BlockCheckpointStore(tmp_path / "blocks", "key"))
    crash_at.clear()
    resumed = run(BlockCheckpointStore(tmp_path / "blocks", "key"))
    assert resumed.resumed_blocks == 2 and whole.resumed_blocks == 0
    assert [r["nfe"] for r in resumed.reports] == [r["nfe"] for r in whole.reports] == [7, 7, 7, 0]
    np.testing.assert_array_equal(resumed.audio, whole.audio)
    # Another run key discards the old blocks instead of mixing them in.
    fresh = run(BlockCheckpointStore(tmp_path / "blocks", "other"))
    assert fresh.resumed_blocks == 0
    np.testing.assert_array_equal(fresh.audio, whole.audio)
