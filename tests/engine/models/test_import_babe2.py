"""A published-format BABE-2 checkpoint converts into a bundle that loads and denoises the same."""

from pathlib import Path

import numpy as np
import pytest
import torch

from shellac.engine.dsp.ltas import unit_variance_total
from shellac.engine.errors import ModelLoadingError
from shellac.engine.models.bundle import load_bundle
from shellac.engine.models.import_babe2 import import_babe2
from tests.fixtures.modules import load_module


def _checkpoint_helpers():  # type: ignore[no-untyped-def]
    return load_module(Path(__file__).with_name("test_babe2_checkpoint.py"), "babe2_ckpt_helpers")


def test_import_writes_a_loadable_bundle(tmp_path: Path) -> None:
    helpers = _checkpoint_helpers()
    ema = helpers._tiny_state()
    ckpt = helpers._save_with_fake_omegaconf(tmp_path / "tiny.pt", ema, helpers.TINY_ARGS)
    bundle_dir = import_babe2(
        ckpt, tmp_path / "models" / "piano", name="piano", command="shellac models import"
    )
    bundle = load_bundle(bundle_dir)
    assert bundle.config.family == "cqt_unet" and bundle.config.sample_rate == 8000
    assert bundle.config.sigma_data == pytest.approx(0.063) and bundle.card.training_steps == 850000
    reference = helpers.CQTUNet(helpers.TINY)
    reference.load_state_dict(ema)
    x = 0.1 * torch.randn(1, 4000, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert torch.equal(bundle.network(x, torch.zeros(1)), reference(x, torch.zeros(1)))
    # The checkpoint's LTAS (2049 bins) is kept in shape and calibrated in level.
    ltas = bundle.reference_ltas
    assert ltas.n_fft == 4096 and ltas.power.shape == (2049,)
    weights = np.full(2049, 2.0)
    weights[[0, -1]] = 1.0
    assert float(np.sum(weights * ltas.power)) == pytest.approx(unit_variance_total(4096))
    assert np.allclose(ltas.power / ltas.power[0], np.linspace(1.0, 2.0, 2049))


def test_missing_checkpoint_is_a_model_loading_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadingError):
        import_babe2(tmp_path / "nope.pt", tmp_path / "out", name="x")
