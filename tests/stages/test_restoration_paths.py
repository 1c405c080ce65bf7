"""One restoration path: each stage and its `shellac bench` entry give bit-identical audio, same seed."""

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from shellac.engine.models.bundle import load_bundle
from shellac.engine.restoration.settings import SamplerSettings
from shellac.lab.evaluation.metrics import log_grid
from shellac.lab.evaluation.runner import declip_excerpt, inpaint_excerpt
from shellac.lab.evaluation.variants import RestorationSettings, run_variant_on_excerpt, select_variants
from shellac.stages import declip, generative_eq, inpaint
from shellac.stages.base import MasterInfo, StageContext
from shellac.stages.models import ModelStore
from tests.fixtures.bundles import make_tiny_bundle

SR = 8000  # the tiny model's rate: the stage's resampling is then the identity on both paths


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


@pytest.fixture(scope="module")
def models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("models")
    make_tiny_bundle(root, "tiny", sample_rate=SR, segment_length=8192)
    return root


def _context(root: Path, models: Path, name: str) -> StageContext:
    stage_dir = root / name
    stage_dir.mkdir()
    return StageContext(recording_id="r", metadata={}, master=MasterInfo(root / "master.wav"),
                        recording_dir=root, stage_dir=stage_dir, base_dir=root, models=ModelStore(models),
                        code_hash="test")


def _music(seconds: float, channels: int = 1) -> np.ndarray:
    """Harmonic tones with a slow swell and a little noise, (channels, frames) float32."""
    t = np.arange(int(seconds * SR)) / SR
    x = sum(0.2 / k * np.sin(2 * np.pi * 196.0 * k * t + k) for k in range(1, 12))
    x = x * (0.6 + 0.4 * np.sin(3 * t))
    x = x + 0.003 * np.random.default_rng(0).standard_normal(t.size)
    return np.stack([x * (1.0 - 0.1 * c) for c in range(channels)]).astype(np.float32)


def _stage_audio(stage_dir: Path) -> np.ndarray:
    """The stage's ``audio.wav``, (channels, frames) float32."""
    audio, sr = sf.read(stage_dir / "audio.wav", dtype="float32", always_2d=True)
    assert sr == SR
    return audio.T


ROWS = [("babe2_ltas_both", "shellac"), ("babe2_reference", "reference")]


@pytest.mark.parametrize(("row", "preset"), ROWS)
def test_generative_eq_stage_equals_the_bench_row(tmp_path: Path, models: Path, row: str,
                                                  preset: str) -> None:
    x = _music(2.5)
    source = tmp_path / "in.wav"
    sf.write(source, x.T, SR, subtype="FLOAT")
    params = generative_eq.GenerativeEqParams(model="tiny", n_steps=3, filter_iters=2, seed=4, preset=preset,
                                              quality_gate=False)
    generative_eq.run({"audio": source}, params, _context(tmp_path, models, "stage"))
    staged = _stage_audio(tmp_path / "stage")

    bundle = load_bundle(models / "tiny")
    (variant,) = select_variants([row])
    sampler = SamplerSettings(n_steps=3, sigma_start=params.sigma_start, sigma_min=params.sigma_min,
                              rho=params.rho, xi=params.xi, sigma_y=params.sigma_y, s_churn=params.s_churn)
    bench = run_variant_on_excerpt(
        variant, x[0], bundle, log_grid(SR / 2), denoiser=bundle.denoiser("cpu", preset=preset),
        settings=RestorationSettings(sampler=sampler, filter_iters=2, filter_lr=params.filter_lr,
                                     overlap_fraction=params.overlap_fraction,
                                     max_boost_db=params.max_boost_db),
        seed=4, device=torch.device("cpu"))
    assert staged.shape == (1, x.shape[1]) and np.abs(staged).max() > 0
    assert np.array_equal(staged[0], bench.audio.astype(np.float32))
    assert len(bench.response_db) == 3  # one filter estimate per block


def test_declip_stage_equals_the_bench_entry(tmp_path: Path, models: Path) -> None:
    clipped = np.clip(2.5 * _music(1.5, channels=2), -0.5, 0.5)
    source = tmp_path / "in.wav"
    sf.write(source, clipped.T, SR, subtype="FLOAT")
    params = declip.DeclipParams(model="tiny", n_steps=3, sigma_start=0.05, seed=2)
    out = declip.run({"audio": source}, params, _context(tmp_path, models, "stage"))
    bench, result = declip_excerpt(load_bundle(models / "tiny"), clipped, SR, params.declip_settings())
    staged = _stage_audio(tmp_path / "stage")
    assert result.restored and out.metrics["restored"]
    assert np.array_equal(staged, bench)
    changed = staged != clipped
    assert changed.any() and not changed[np.abs(clipped) < 0.49].any()  # only clipped samples move


def test_inpaint_stage_equals_the_bench_entry(tmp_path: Path, models: Path) -> None:
    x = _music(1.5, channels=2)
    x[:, 4000:4100] = 0.0  # a dropout of exact zeros
    source = tmp_path / "in.wav"
    sf.write(source, x.T, SR, subtype="FLOAT")
    params = inpaint.InpaintParams(model="tiny", n_steps=3, sigma_start=0.4, use_click_map=False, seed=1)
    out = inpaint.run({"audio": source}, params, _context(tmp_path, models, "stage"))
    bench, result = inpaint_excerpt(load_bundle(models / "tiny"), x, SR, [], params.inpaint_settings())
    staged = _stage_audio(tmp_path / "stage")
    assert out.metrics["gaps_filled"] == len(result.filled) == 1 and result.dropouts == 1
    assert np.array_equal(staged, bench)
    assert np.abs(staged[:, 4000:4100]).max() > 0 and np.array_equal(staged[:, :3990], x[:, :3990])
