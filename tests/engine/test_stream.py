"""Chunked processing gives the one-shot result: identity, statistics, LTAS-EQ, gating."""

import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import butter, sosfilt

from shellac.engine.dsp.denoise import gate
from shellac.engine.dsp.ltas import compute_ltas, ltas_equalize, ltas_equalize_file, ltas_of_file
from shellac.engine.stream import (
    CHUNK_SAMPLES,
    chunk_frames_for,
    file_stats,
    iter_chunks,
    map_file,
    release_pages,
)

SR = 8000


def _write(path: Path, seconds: float, channels: int = 2) -> np.ndarray:
    rng = np.random.default_rng(0)
    x = (0.1 * rng.standard_normal((channels, int(seconds * SR)))).astype(np.float32)
    sos = butter(2, 1500, "low", fs=SR, output="sos")
    x = (0.4 * x + sosfilt(sos, x, axis=1)).astype(np.float32)
    sf.write(path, x.T, SR, subtype="FLOAT")
    return x


def test_identity_map_and_stats(tmp_path: Path) -> None:
    x = _write(tmp_path / "in.wav", 7.3)
    stats = map_file(tmp_path / "in.wav", tmp_path / "out.wav", lambda c: c.centre(c.data), chunk_s=1.1,
                     margin_s=0.3)
    out = sf.read(tmp_path / "out.wav", always_2d=True, dtype="float32")[0].T
    assert np.array_equal(out, x)
    direct = file_stats(tmp_path / "in.wav", chunk_s=0.7)
    assert np.allclose(direct.std, x.astype(np.float64).std(axis=1))
    assert stats.count == x.shape[1] and direct.peak == pytest.approx(float(np.abs(x).max()))


def test_chunks_respect_alignment_and_margins(tmp_path: Path) -> None:
    _write(tmp_path / "in.wav", 3.0, channels=1)
    chunks = list(iter_chunks(tmp_path / "in.wav", 5000, 700, align=512))
    assert [c.start for c in chunks] == [0, 4608, 9216, 13824, 18432, 23040]
    assert chunks[0].left == 0 and chunks[1].left == 1024 and chunks[-1].right == 0
    assert all(c.data.shape[1] == c.left + (c.stop - c.start) + c.right for c in chunks)
    assert chunk_frames_for(6, 1e9, 192000) == CHUNK_SAMPLES // 6


def test_streamed_ltas_eq_equals_one_shot(tmp_path: Path) -> None:
    x = _write(tmp_path / "in.wav", 12.0)
    reference = compute_ltas(np.random.default_rng(1).standard_normal(SR * 10), SR, 1024)
    assert np.allclose(ltas_of_file(tmp_path / "in.wav", 1024, frames_per_chunk=37).power,
                       compute_ltas(x, SR, 1024).power, rtol=1e-9)
    one_shot, diff, _ = ltas_equalize(x, SR, reference, n_fft=1024)
    diff_file, _ = ltas_equalize_file(tmp_path / "in.wav", tmp_path / "eq.wav", reference, n_fft=1024,
                                      chunk_s=2.3)
    streamed = sf.read(tmp_path / "eq.wav", always_2d=True, dtype="float32")[0].T
    assert np.allclose(diff, diff_file)
    assert np.max(np.abs(streamed - one_shot)) < 1e-5 * np.abs(one_shot).max()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_ltas_of_file_batch_size_does_not_change_a_bit(tmp_path: Path) -> None:
    _write(tmp_path / "in.wav", 12.0)
    one_batch = ltas_of_file(tmp_path / "in.wav", 1024, frames_per_chunk=100, frames_per_batch=100).power
    for batch in (1, 7, 64):
        power = ltas_of_file(tmp_path / "in.wav", 1024, frames_per_chunk=100, frames_per_batch=batch).power
        assert np.array_equal(power, one_batch)


def _file_pages_mb() -> float:
    """File-backed resident memory of this process (MB)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no RssFile in /proc/self/status")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pages are released on Linux only")
def test_released_pages_leave_memory_and_keep_their_data(tmp_path: Path) -> None:
    n, step = 8 << 20, 1 << 20  # 32 MB of float32, written 4 MB at a time
    expected = np.arange(n, dtype=np.float32)
    before = _file_pages_mb()
    out = np.lib.format.open_memmap(tmp_path / "x.npy", mode="w+", dtype=np.float32, shape=(n,))
    for start in range(0, n, step):
        out[start:start + step] = expected[start:start + step]
        release_pages(out, start + step)
    assert _file_pages_mb() - before < 8
    out.flush()
    del out
    mapped = np.load(tmp_path / "x.npy", mmap_mode="r")
    view = np.asarray(mapped[1000:], dtype=np.float32)  # a plain ndarray over the same map
    assert np.array_equal(view, expected[1000:]) and _file_pages_mb() - before > 24
    release_pages(view, view.shape[0])
    assert _file_pages_mb() - before < 8
    assert np.array_equal(mapped, expected)

    plain = np.ones(step, dtype=np.float32)
    release_pages(plain, step)
    copy_on_write = np.load(tmp_path / "x.npy", mmap_mode="c")
    copy_on_write[:step] = -1.0
    release_pages(copy_on_write, n)
    assert (plain == 1.0).all() and (copy_on_write[:step] == -1.0).all()


def test_chunked_gate_on_the_frame_grid_matches_one_shot(tmp_path: Path) -> None:
    x = _write(tmp_path / "in.wav", 10.0, channels=1)
    noise = (0.02 * np.random.default_rng(3).standard_normal(SR)).astype(np.float32)
    one_shot = gate(x, SR, noise, n_fft=512)
    map_file(tmp_path / "in.wav", tmp_path / "g.wav", lambda c: c.centre(gate(c.data, SR, noise, n_fft=512)),
             chunk_s=3.0, margin_s=1.0, align=128)
    streamed = sf.read(tmp_path / "g.wav", always_2d=True, dtype="float32")[0].T
    error = np.sqrt(np.mean((streamed - one_shot) ** 2)) / np.sqrt(np.mean(one_shot**2))
    assert error < 1e-3
