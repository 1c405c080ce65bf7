"""Block-autoregressive restoration: end to end on a tiny model, and resume equals an uninterrupted run."""

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch

from shellac.engine.blocks.autoregressive import (
    BlockRestoration,
    BlockSettings,
    SamplerSettings,
    normalising_gain,
    restore_blocks,
)
from shellac.engine.blocks.checkpoints import BlockCheckpointStore
from shellac.engine.blocks.overlap_add import block_spans
from shellac.engine.diffusion.precond import EDMPrecond
from shellac.engine.errors import ParameterError
from shellac.engine.networks.unet1d import UNet1D, UNet1DConfig
from shellac.engine.operators.blind_filter import BlindFilter

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
    """restore_blocks with this file's tiny model, filter, sampler and block settings."""
    return restore_blocks(_denoiser(), y, make_filter=_filter, sampler=SAMPLER, blocks=BLOCKS, target_std=0.1,
                          **kwargs)


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


def test_batched_recordings_match_separate_runs() -> None:
    from shellac.engine.blocks.autoregressive import RestorationJob, restore_many

    long, short = _observation(5.0), _observation(2.5)[::-1].copy()
    together = restore_many(
        _denoiser(),
        [RestorationJob(long), RestorationJob(short)],
        make_filter=_filter,
        sampler=SAMPLER,
        blocks=BLOCKS,
        target_std=0.1,
    )
    for result, y in zip(together, (long, short), strict=True):
        alone = _restore(y)
        assert result.audio.shape == y.shape and len(result.reports) == len(alone.reports)
        # Same noise streams and filters; only the batched network's float rounding differs.
        assert np.max(np.abs(result.audio - alone.audio)) < 1e-3 * np.abs(alone.audio).max()
    assert [r["batch"] for r in together[0].reports] == [2, 2, 1]
