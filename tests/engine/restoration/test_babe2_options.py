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
from shellac.engine.restoration.consistency import EqCurves
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


def _run(observed: tuple[Path, Path], tmp_path: Path, eq_curves: EqCurves | None = None,
         source: Path | None = None, **options: object) -> tuple[np.ndarray, float]:
    torch.set_num_threads(1)
    bundle_dir, tones = observed
    settings = Babe2Settings(sampler=SamplerSettings(n_steps=3, sigma_start=0.5, sigma_min=1e-4, rho=13.0,
                                                     xi=1.0, sigma_y=0.1, s_churn=1.0),
                             filter_iters=3, seed=3)
    result = restore(source or tones, load_bundle(bundle_dir), replace(settings, **options), work=tmp_path,
                     eq_curves=eq_curves)
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


@pytest.mark.parametrize("option", ["consistency_floor", "consistency_evidence", "consistency_balance",
                                    "consistency_withheld", "consistency_floor_low",
                                    "consistency_noise_slope_db"])
def test_a_consistency_option_without_a_form_is_refused(observed: tuple[Path, Path], tmp_path: Path,
                                                        option: str) -> None:
    with pytest.raises(ParameterError, match=f"{option} .* set consistency too"):
        _run(observed, tmp_path, **{option: True})


def test_a_floor_margin_without_the_floor_is_refused(observed: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="set consistency_floor too"):
        _run(observed, tmp_path, consistency="anchored", consistency_floor_db=10.0)


@pytest.mark.parametrize("option", ["consistency_balance_smooth", "consistency_balance_in_range"])
def test_a_balance_shape_without_the_balance_pass_is_refused(observed: tuple[Path, Path], tmp_path: Path,
                                                             option: str) -> None:
    with pytest.raises(ParameterError, match=f"{option} shapes the balance pass.s gain"):
        _run(observed, tmp_path, consistency="posterior", **{option: True})


def _eq_curves(withheld_db: float) -> EqCurves:
    centres = 1000.0 * 2.0 ** (np.arange(-15, 7) / 3.0)
    return EqCurves(centres_hz=centres, inverse_db=np.where(centres < 500.0, withheld_db, 0.0),
                    gain_db=np.zeros_like(centres))


def test_the_withheld_boost_needs_an_anchored_form_the_eq_stages_curves_and_its_target(
        observed: tuple[Path, Path], tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="set consistency to 'anchored'"):
        _run(observed, tmp_path, consistency="posterior", consistency_withheld=1.0)
    with pytest.raises(ParameterError, match="needs that stage's curves"):
        _run(observed, tmp_path, consistency="anchored", consistency_withheld=1.0)
    with pytest.raises(ParameterError, match="this restoration's own LTAS-EQ"):
        _run(observed, tmp_path, consistency="anchored", consistency_withheld=1.0, eq_curves=_eq_curves(6.0))


def test_the_withheld_boost_is_given_back_where_the_music_stands_over_the_hiss(
        observed: tuple[Path, Path], with_hiss: Path, tmp_path: Path) -> None:
    options = {"consistency": "anchored", "ltas_eq_objective": False, "source": with_hiss}
    plain, _ = _run(observed, tmp_path / "a", **options)
    given, _ = _run(observed, tmp_path / "b", **options, consistency_withheld=1.0, eq_curves=_eq_curves(6.0))
    assert not np.allclose(plain, given)

    def below(x: np.ndarray) -> float:
        power, freqs = np.abs(np.fft.rfft(x)) ** 2, np.fft.rfftfreq(x.size, 1.0 / SR)
        return float(10 * np.log10(power[(freqs > 150.0) & (freqs < 400.0)].sum()))

    # Most of the 6 dB withheld below 500 Hz comes back; the decaying tones' tails, sinking into the hiss,
    # keep the prior's content (4.5 dB in all when written), and nothing goes past the 6 dB.
    assert 3.5 < below(given) - below(plain) < 6.5


@pytest.fixture(scope="module")
def with_hiss(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Struck, decaying tones through a 2.5 kHz low-pass, over hiss: a chain fit has a floor to work with."""
    from scipy.signal import butter, sosfilt

    rng = np.random.default_rng(5)
    n = int(1.6 * SR)
    t = np.arange(n) / SR
    x = np.zeros(n)
    for start in np.arange(0.0, 1.5, 0.15):
        f0 = float(rng.choice([196.0, 262.0, 330.0, 392.0, 523.0]))
        env = np.where(t >= start, np.exp(-(t - start) / 0.12), 0.0)
        x += env * sum(0.3 / k * np.sin(2 * np.pi * f0 * k * t) for k in range(1, 12) if f0 * k < SR / 2)
    x = sosfilt(butter(6, 2500.0, fs=SR, output="sos"), x) + 10 ** (-40 / 20) * rng.standard_normal(n)
    path = tmp_path_factory.mktemp("hiss") / "in.wav"
    sf.write(path, (0.5 * x / np.abs(x).max()).astype(np.float32), SR, subtype="FLOAT")
    return path


def test_an_instrument_reference_moves_the_chain_start_and_keys_the_blocks(
        observed: tuple[Path, Path], with_hiss: Path, tmp_path: Path) -> None:
    # The reference stands for the instrument: against a darker one, less of the observation's dull treble
    # is the chain's. The fit moves, and so the blocks sampled from it are not the bundle reference's.
    from shellac.engine.dsp.ltas import Ltas

    torch.set_num_threads(1)
    bundle = load_bundle(observed[0])
    settings = Babe2Settings(sampler=SamplerSettings(n_steps=2, sigma_start=0.5, sigma_min=1e-4, rho=13.0,
                                                     xi=1.0, sigma_y=0.1, s_churn=1.0),
                             filter_iters=2, seed=3, filter_init="chain", ltas_eq_init=False,
                             ltas_eq_objective=False)  # the piano profiles': an EQ stage ran before
    own = bundle.reference_ltas
    tilt_db = -12.0 * np.log2(np.maximum(own.freqs_hz, 1000.0) / 1000.0)
    darker = Ltas(sample_rate=own.sample_rate, n_fft=own.n_fft, power=own.power * 10 ** (tilt_db / 10))
    runs = {}
    for name, reference in (("bundle", None), ("same", own), ("darker", darker)):
        runs[name] = restore(with_hiss, bundle, settings, work=tmp_path / name / "work",
                             checkpoints=tmp_path / "blocks", reference=reference)
    starts = {name: run.chain_start for name, run in runs.items()}
    assert all(s is not None and s.chain is not None for s in starts.values()), starts
    at = np.array([500.0, 2000.0])
    bundle_db = starts["bundle"].chain.response_db(at) - starts["bundle"].chain.gain_db  # type: ignore[union-attr]
    same_db = starts["same"].chain.response_db(at) - starts["same"].chain.gain_db  # type: ignore[union-attr]
    darker_db = starts["darker"].chain.response_db(at) - starts["darker"].chain.gain_db  # type: ignore[union-attr]
    np.testing.assert_allclose(same_db, bundle_db, atol=1e-9)
    # The darker instrument explains the dull treble: at 2 kHz, at least half of its 12 dB less is no
    # longer the chain's (8.6 dB when written); below 1 kHz, where the two references agree, within 3 dB.
    assert darker_db[1] - bundle_db[1] > 6.0
    assert abs(darker_db[0] - bundle_db[0]) < 3.0
    # The bundle's own LTAS given by hand samples the same blocks, under its own checkpoint key.
    np.testing.assert_array_equal(np.array(runs["same"].restored), np.array(runs["bundle"].restored))
    assert [run.resumed_blocks for run in runs.values()] == [0, 0, 0]
    assert not np.array_equal(np.array(runs["darker"].restored), np.array(runs["bundle"].restored))


def test_the_chain_start_keys_the_blocks(observed: tuple[Path, Path], with_hiss: Path, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    # Blocks sampled from one chain start are not another's: the same observation, settings, model and
    # reference resume from the checkpoints only while the chain fit gives the same start.
    from shellac.engine.restoration import babe2

    torch.set_num_threads(1)
    bundle = load_bundle(observed[0])
    settings = Babe2Settings(sampler=SamplerSettings(n_steps=2, sigma_start=0.5, sigma_min=1e-4, rho=13.0,
                                                     xi=1.0, sigma_y=0.1, s_churn=1.0),
                             filter_iters=2, seed=3, filter_init="chain", ltas_eq_init=False,
                             ltas_eq_objective=False)

    def run(name: str) -> int:
        return restore(with_hiss, bundle, settings, work=tmp_path / name, checkpoints=tmp_path / "blocks"
                       ).resumed_blocks

    first = run("first")
    assert first == 0 and run("again") == 4  # every block resumed
    real = babe2.chain_filter_start

    def moved(observation: Path, reference: object) -> object:
        start = real(observation, reference)  # type: ignore[arg-type]
        assert start.params is not None
        return replace(start, params=replace(start.params, f_ref=start.params.f_ref * 1.1))

    monkeypatch.setattr(babe2, "chain_filter_start", moved)
    assert run("moved") == 0
