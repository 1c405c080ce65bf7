"""LoadedBundle.denoiser: the one D(x; σ) of a bundle, with the CQT network's band filter."""

from pathlib import Path
from types import ModuleType

import pytest
import torch

from shellac.engine.diffusion.precond import EDMPrecond
from shellac.engine.models.bundle import LoadedBundle, load_bundle
from shellac.engine.models.import_babe2 import import_babe2
from shellac.engine.networks.cqt_reference import reference_output_filter
from tests.fixtures.bundles import make_tiny_bundle
from tests.fixtures.modules import load_module


def _checkpoint_helpers() -> ModuleType:
    return load_module(Path(__file__).with_name("test_babe2_checkpoint.py"), "babe2_ckpt_helpers")


@pytest.fixture(scope="module")
def cqt_bundle(tmp_path_factory: pytest.TempPathFactory) -> LoadedBundle:
    """A tiny BABE-2 checkpoint imported the way archivists import the published ones."""
    helpers = _checkpoint_helpers()
    root = tmp_path_factory.mktemp("cqt")
    ckpt = helpers._save_with_fake_omegaconf(root / "tiny.pt", helpers._tiny_state(), helpers.TINY_ARGS)
    return load_bundle(import_babe2(ckpt, root / "models" / "piano", name="piano"))


def _signal(length: int) -> torch.Tensor:
    """A DC offset, a tone and noise: energy in the DC band the CQT network cannot produce."""
    gen = torch.Generator().manual_seed(3)
    t = torch.arange(length) / 8000.0
    return (0.3 + 0.1 * torch.sin(2 * torch.pi * 440.0 * t) + 0.05 * torch.randn(length, generator=gen))[None]


def test_cqt_denoiser_removes_the_dc_band(cqt_bundle: LoadedBundle) -> None:
    denoiser = cqt_bundle.denoiser("cpu")
    bare = EDMPrecond(cqt_bundle.network, sigma_data=cqt_bundle.config.sigma_data)
    x = _signal(cqt_bundle.config.segment_length)
    with torch.no_grad():
        filtered, unfiltered = denoiser(x, 0.1), bare(x, 0.1)
    # c_skip·x carries the DC offset; only the band filter takes it out of D(x; σ).
    assert abs(float(unfiltered.mean())) > 0.05
    assert abs(float(filtered.mean())) < 1e-3 * abs(float(unfiltered.mean()))
    assert torch.allclose(filtered, cqt_bundle.network.band_complement(unfiltered), atol=1e-6)


def test_reference_preset_uses_the_reference_filter(cqt_bundle: LoadedBundle) -> None:
    bare = EDMPrecond(cqt_bundle.network, sigma_data=cqt_bundle.config.sigma_data)
    x = _signal(cqt_bundle.config.segment_length)
    ref_filter = reference_output_filter(cqt_bundle.network)
    assert ref_filter is not None
    with torch.no_grad():
        got = cqt_bundle.denoiser("cpu", preset="reference")(x, 0.1)
        assert torch.allclose(got, ref_filter(bare(x, 0.1)), atol=1e-6)


def test_networks_without_a_cqt_get_no_filter(tmp_path: Path) -> None:
    bundle = load_bundle(make_tiny_bundle(tmp_path, "tiny"))
    denoiser = bundle.denoiser("cpu")
    assert denoiser.output_filter is None and not denoiser.training
    x = _signal(bundle.config.segment_length)
    with torch.no_grad():
        assert torch.equal(denoiser(x, 0.1), EDMPrecond(bundle.network, sigma_data=0.1)(x, 0.1))


def test_every_caller_gets_its_denoiser_from_the_bundle(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """generative_eq (both presets), the bench's BABE-2 row, declip and inpaint: no denoiser of their own."""
    import numpy as np
    import soundfile as sf

    from shellac.engine.restoration.settings import SamplerSettings
    from shellac.lab.evaluation.metrics import log_grid
    from shellac.lab.evaluation.variants import (
        RestorationSettings,
        run_variant_on_excerpt,
        select_variants,
    )
    from shellac.stages import declip, generative_eq, inpaint
    from shellac.stages.base import MasterInfo, StageContext
    from shellac.stages.models import ModelStore

    torch.set_num_threads(1)
    make_tiny_bundle(tmp_path / "models", "tiny", segment_length=4096)
    presets: list[str] = []
    built: list[EDMPrecond] = []
    real_denoiser, real_init = LoadedBundle.denoiser, EDMPrecond.__init__

    def denoiser(self: LoadedBundle, device: torch.device | str, *, preset: str = "shellac") -> EDMPrecond:
        presets.append(preset)
        return real_denoiser(self, device, preset=preset)  # type: ignore[arg-type]

    def init(self: EDMPrecond, *args: object, **kwargs: object) -> None:
        built.append(self)
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(LoadedBundle, "denoiser", denoiser)
    monkeypatch.setattr(EDMPrecond, "__init__", init)
    t = np.arange(4000) / 8000
    x = (0.3 * np.sin(2 * np.pi * 220 * t) + 0.01 * np.sin(2 * np.pi * 1500 * t)).astype(np.float32)
    x[1000:1050] = 0.0
    source = tmp_path / "in.wav"
    sf.write(source, np.clip(x, -0.25, 0.25), 8000, subtype="FLOAT")

    def ctx(name: str) -> StageContext:
        (tmp_path / name).mkdir()
        return StageContext(recording_id="r", metadata={}, master=MasterInfo(source),
                            recording_dir=tmp_path, stage_dir=tmp_path / name, base_dir=tmp_path,
                            models=ModelStore(tmp_path / "models"), code_hash="test")

    fast = {"model": "tiny", "n_steps": 2}
    for preset in ("shellac", "reference"):
        generative_eq.run({"audio": source}, generative_eq.GenerativeEqParams(
            **fast, filter_iters=1, preset=preset, quality_gate=False), ctx(f"geq_{preset}"))
    declip.run({"audio": source}, declip.DeclipParams(**fast), ctx("declip"))
    inpaint.run({"audio": source}, inpaint.InpaintParams(**fast, use_click_map=False), ctx("inpaint"))
    bundle = load_bundle(tmp_path / "models" / "tiny")
    sampler = SamplerSettings(n_steps=2, sigma_start=0.5, sigma_min=1e-3, rho=13.0, xi=1.0, sigma_y=0.25)
    run_variant_on_excerpt(select_variants(["babe2"])[0], x, bundle, log_grid(4000.0),
                           denoiser=bundle.denoiser("cpu"),
                           settings=RestorationSettings(sampler=sampler, filter_iters=1), seed=0,
                           device=torch.device("cpu"))
    assert presets == ["shellac", "reference", "shellac", "shellac", "shellac"]
    assert len(built) == len(presets)
