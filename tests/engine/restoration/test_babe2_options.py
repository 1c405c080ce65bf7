"""BABE-2 pipeline options of the Shellac preset: the reference's hand-over, a fit that ignores the mask."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from shellac.engine.errors import ParameterError
from shellac.engine.models.bundle import load_bundle
from shellac.engine.restoration.babe2 import Babe2Settings, restore
from shellac.engine.restoration.settings import SamplerSettings
from tests.fixtures.bundles import make_tiny_bundle

SR = 8000


@pytest.fixture(scope="module")
def observed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("babe2opts")
    make_tiny_bundle(root / "models", "tiny", sample_rate=SR, segment_length=4096)
    t = np.arange(int(1.6 * SR)) / SR
    x = sum(0.2 / k * np.sin(2 * np.pi * 220.0 * k * t) for k in range(1, 10)) * (0.6 + 0.4 * np.sin(2 * t))
    sf.write(root / "in.wav", x.astype(np.float32), SR, subtype="FLOAT")
    return root / "models" / "tiny", root / "in.wav"


def _run(observed: tuple[Path, Path], tmp_path: Path, **options: object) -> tuple[np.ndarray, float]:
    torch.set_num_threads(1)
    bundle_dir, source = observed
    settings = Babe2Settings(sampler=SamplerSettings(n_steps=3, sigma_start=0.5, sigma_min=1e-4, rho=13.0,
                                                     xi=1.0, sigma_y=0.1, s_churn=1.0),
                             filter_iters=3, seed=3)
    result = restore(source, load_bundle(bundle_dir), replace(settings, **options), work=tmp_path)
    return np.array(result.restored), result.gain


def test_options_change_the_result_and_nothing_else(observed: tuple[Path, Path], tmp_path: Path) -> None:
    base, base_gain = _run(observed, tmp_path / "a")
    again, _ = _run(observed, tmp_path / "b")
    assert np.array_equal(base, again)  # the defaults are deterministic
    unmasked, _ = _run(observed, tmp_path / "c", mask_aware_fit=False)
    handed, handed_gain = _run(observed, tmp_path / "d", hand_over="reference")
    n = base.shape[0]
    for other in (unmasked, handed):
        assert other.shape == (n,) and np.isfinite(other).all()
        assert not np.array_equal(other, base)
    # The first block has no known samples: the fit is the same with or without the mask.
    first = 4096 - int(0.1 * 4096)
    assert np.array_equal(unmasked[:first], base[:first])
    # The reference hand-over scales to σ_norm (no entry for 8 kHz: σ_data) over all blocks.
    assert handed_gain != pytest.approx(base_gain, rel=1e-6)


def test_a_floor_without_a_consistency_form_is_refused(observed: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="consistency_floor .* set consistency too"):
        _run(observed, tmp_path, consistency_floor=True)
