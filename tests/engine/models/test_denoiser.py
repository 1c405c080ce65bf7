"""LoadedBundle.denoiser: the one D(x; σ) of a bundle, with the CQT network's band filter."""

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest
import torch

from shellac.engine.diffusion.precond import EDMPrecond
from shellac.engine.models.bundle import LoadedBundle, load_bundle
from shellac.engine.models.import_babe2 import import_babe2
from shellac.engine.networks.cqt_reference import reference_output_filter
from tests.fixtures.bundles import make_tiny_bundle


def _checkpoint_helpers() -> ModuleType:
    path = Path(__file__).with_name("test_babe2_checkpoint.py")
    spec = importlib.util.spec_from_file_location("babe2_ckpt_helpers", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["babe2_ckpt_helpers"] = module
    spec.loader.exec_module(module)
    return module


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
