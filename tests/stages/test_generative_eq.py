"""generative_eq through the chain on a tiny random model: outputs, reports, skip, missing model."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from shellac.engine.errors import ModelLoadingError, ParameterError
from shellac.stages.chain import job_plan, run_plan

from ..fixtures.bundles import make_tiny_bundle
from .helpers import job_for

FAST = {"model": "tiny", "n_steps": 3, "filter_iters": 2}


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _write_profile(catalog_dir: Path) -> None:
    folder = catalog_dir / "profiles"
    folder.mkdir(exist_ok=True)
    (folder / "gen.toml").write_text(
        '[[steps]]\nstage = "ingest"\n[[steps]]\nstage = "generative_eq"\nparams = { model = "tiny" }\n'
        '[[steps]]\nstage = "tag"\n'
    )


def test_generative_eq_in_chain(catalog_dir: Path, tmp_path: Path) -> None:
    make_tiny_bundle(tmp_path / "models", "tiny")
    _write_profile(catalog_dir)
    job = job_for(catalog_dir, "b", profile="gen", models_dir=str(tmp_path / "models"),
                  overrides={"generative_eq": FAST})
    results = run_plan(job, job_plan(job))
    assert [r.outcome for r in results] == ["ran", "ran", "ran"]
    stage_dir = Path(job.recording_dir) / "01-generative_eq"
    out, sr = sf.read(stage_dir / "audio.wav", always_2d=True)
    assert sr == 22050 and out.shape == (3 * 22050, 2)  # master's rate, length and channels
    assert np.isfinite(out).all() and np.abs(out).max() > 0
    filters = json.loads((stage_dir / "filters.json").read_text())
    assert filters["sample_rate"] == 8000 and len(filters["blocks"]) == 2
    assert set(filters["blocks"][0]["filter"]) >= {"f_ref", "fc_p", "a_p", "fc_m", "a_m"}
    curves = json.loads((stage_dir / "ltas.json").read_text())
    assert len(curves["input_db"]) == len(curves["output_db"]) == 513
    assert len(list((stage_dir / "blocks").glob("block_*.pt"))) == 2
    # Above the model's Nyquist (4 kHz) the access copy is the stage's input: the model never saw that band.
    source, _ = sf.read(Path(job.recording_dir) / "00-ingest" / "audio.wav", always_2d=True)
    record = json.loads((Path(job.recording_dir) / "state.json").read_text())["stages"]["generative_eq"]
    assert record["metrics"]["input_kept_above_hz"] == 4000.0

    def band_db(x: np.ndarray) -> float:
        power, freqs = np.abs(np.fft.rfft(x)) ** 2, np.fft.rfftfreq(x.size, 1.0 / sr)
        return float(10.0 * np.log10(power[(freqs > 4500.0) & (freqs < 10000.0)].sum()))

    assert band_db(out[:, 0]) == pytest.approx(band_db(source.mean(axis=1)), abs=0.1)

    again = run_plan(job, job_plan(job))
    assert [r.outcome for r in again] == ["skipped"] * 3


def test_missing_model_fails_recording_clearly(catalog_dir: Path, tmp_path: Path) -> None:
    _write_profile(catalog_dir)
    job = job_for(catalog_dir, "a", profile="gen", models_dir=str(tmp_path / "empty"), overrides={})
    with pytest.raises(ModelLoadingError, match=r"model 'tiny' is not installed.*empty/tiny/"):
        run_plan(job, job_plan(job))


def test_voice_with_accompaniment_full_chain(catalog_dir: Path, tiny_models_dir: Path) -> None:
    """denoise > separate > ltas_eq > generative_eq > remix > tag with tiny models."""
    for key in ("voice", "piano"):
        if not (tiny_models_dir / key).exists():
            make_tiny_bundle(tiny_models_dir, key)
    job = job_for(catalog_dir, "b", profile="voice-accompaniment", models_dir=str(tiny_models_dir),
                  overrides={"generative_eq": {**FAST, "model": "voice"}, "separate": {"segment_s": 1.0}})
    results = run_plan(job, job_plan(job))
    assert [r.stage for r in results] == [
        "ingest", "denoise", "separate", "ltas_eq", "generative_eq", "remix", "tag"]
    access = Path(job.recording_dir) / "b.flac"
    info = sf.info(access)
    assert (info.samplerate, info.channels, info.frames) == (22050, 2, 3 * 22050)
    from shellac.stages.state import load_state

    remix = load_state(Path(job.recording_dir)).stages["remix"].metrics
    assert abs(remix["balance_after_db"] - remix["balance_original_db"]) < 0.1
    assert remix["true_peak_dbtp"] <= -1.0 + 1e-6


def test_generated_bands_are_contiguous_ranges() -> None:
    from shellac.engine.dsp.ltas import Ltas
    from shellac.engine.restoration.reports import generated_bands

    freqs = np.fft.rfftfreq(1024, 1 / 8000)
    before = Ltas(8000, 1024, np.ones(513))
    after_power = np.ones(513)
    after_power[(freqs > 2000) & (freqs < 3000)] = 100.0  # +20 dB
    bands = generated_bands(before, Ltas(8000, 1024, after_power))
    assert len(bands) == 1
    # Third-octave smoothing widens the edges a little.
    assert 1500 < bands[0][0] < 2100 and 2900 < bands[0][1] < 4000


def test_chain_filter_init_is_recorded(catalog_dir: Path, tmp_path: Path) -> None:
    # The chain fitted over the whole input starts every block's filter; filters.json says which.
    make_tiny_bundle(tmp_path / "models", "tiny")
    _write_profile(catalog_dir)
    job = job_for(catalog_dir, "b", profile="gen", models_dir=str(tmp_path / "models"),
                  overrides={"generative_eq": {**FAST, "filter_init": "chain"}})
    results = run_plan(job, job_plan(job))
    assert [r.outcome for r in results] == ["ran", "ran", "ran"]
    filters = json.loads((Path(job.recording_dir) / "01-generative_eq" / "filters.json").read_text())
    start = filters["chain_init"]
    # Steady test tones give no noise floor to fit against: BABE-2's start is kept, with the reason.
    if start["params"] is None:
        assert "noise floor" in start["fallback_reason"]
    else:
        assert start["chain"]["lowpass_hz"] > start["chain"]["highpass_hz"]
        assert set(start["params"]) == {"f_ref", "fc_p", "a_p", "fc_m", "a_m"}


def test_posterior_consistency_reuses_blocks_and_follows_the_cards_spectral_bias(catalog_dir: Path,
                                                                                 tmp_path: Path) -> None:
    from shellac.engine.models.spectral_bias import SpectralBias, record_spectral_bias
    from shellac.stages.state import load_state

    bundle_dir = make_tiny_bundle(tmp_path / "models", "tiny")
    _write_profile(catalog_dir)
    job = job_for(catalog_dir, "b", profile="gen", models_dir=str(tmp_path / "models"),
                  overrides={"generative_eq": FAST})
    run_plan(job, job_plan(job))
    stage_dir = Path(job.recording_dir) / "01-generative_eq"
    sampled = sf.read(stage_dir / "audio.wav")[0]

    posterior = job_for(catalog_dir, "b", profile="gen", models_dir=str(tmp_path / "models"),
                        overrides={"generative_eq": {**FAST, "consistency": "posterior"}})
    assert [r.outcome for r in run_plan(posterior, job_plan(posterior))] == ["skipped", "ran", "ran"]
    state = load_state(Path(job.recording_dir))
    assert state is not None
    metrics = state.stages["generative_eq"].metrics
    assert metrics["resumed_blocks"] == metrics["blocks"] == 2  # the sampling was not redone
    entry = json.loads((stage_dir / "filters.json").read_text())["consistency"]
    assert entry["method"] == "posterior" and entry["spectral_bias_corrected"] is False
    fused = sf.read(stage_dir / "audio.wav")[0]
    assert fused.shape == sampled.shape and not np.allclose(fused, sampled)

    # The balance pass (the voice profile's) also runs after the blocks: same blocks, its record, new output.
    balance = {**FAST, "consistency": "posterior", "consistency_balance": 1.0}
    balanced = job_for(catalog_dir, "b", profile="gen", models_dir=str(tmp_path / "models"),
                       overrides={"generative_eq": balance})
    assert [r.outcome for r in run_plan(balanced, job_plan(balanced))] == ["skipped", "ran", "ran"]
    metrics = load_state(Path(job.recording_dir)).stages["generative_eq"].metrics  # type: ignore[union-attr]
    assert metrics["resumed_blocks"] == metrics["blocks"] == 2
    entry = json.loads((stage_dir / "filters.json").read_text())["consistency"]
    assert entry["balance"]["share"] == 1.0 and entry["balance"]["bins_changed"] > 0
    assert not np.allclose(sf.read(stage_dir / "audio.wav")[0], fused)

    # A spectral bias measured at the sampler's N changes the stage's key: it reruns and applies it.
    bias = SpectralBias(edges_hz=[125.0, 250.0, 500.0, 1000.0, 2000.0, 4000.0],
                        excess_db={3: [0.0, 0.0, 3.0, 6.0, 12.0]}, sigma_start=0.5, sigma_min=4e-5, rho=13.0,
                        segments=1, measured_on="test")
    record_spectral_bias(bundle_dir, bias)
    assert [r.outcome for r in run_plan(posterior, job_plan(posterior))] == ["skipped", "ran", "ran"]
    entry = json.loads((stage_dir / "filters.json").read_text())["consistency"]
    assert entry["spectral_bias_corrected"] is True
    # The anchored form with the floor (the piano profiles'): same blocks, its own record of the edges it
    # levelled to and of the noise-only bins it held down.
    anchored = job_for(catalog_dir, "b", profile="gen", models_dir=str(tmp_path / "models"),
                       overrides={"generative_eq": {**FAST, "consistency": "anchored",
                                                    "consistency_floor": True, "consistency_evidence": True}})
    assert [r.outcome for r in run_plan(anchored, job_plan(anchored))] == ["skipped", "ran", "ran"]
    metrics = load_state(Path(job.recording_dir)).stages["generative_eq"].metrics  # type: ignore[union-attr]
    assert metrics["resumed_blocks"] == metrics["blocks"] == 2
    entry = json.loads((stage_dir / "filters.json").read_text())["consistency"]
    assert entry["method"] == "anchored" and entry["spectral_bias_corrected"] is True
    assert entry["floor"] is True and 0 <= entry["floored_bins"] <= 512 and entry["evidence"] is True
    assert set(entry["anchors"]) == {"signal_low_hz", "signal_high_hz", "level_db", "low_db", "high_db"}
    assert entry["anchors"]["signal_low_hz"] < entry["anchors"]["signal_high_hz"]
    assert "noise_slope" not in entry
    # Its noise floor slope-limited: same blocks again, and the record of how far each band's floor fell.
    sloped = job_for(catalog_dir, "b", profile="gen", models_dir=str(tmp_path / "models"),
                     overrides={"generative_eq": {**FAST, "consistency": "anchored",
                                                  "consistency_floor": True, "consistency_evidence": True,
                                                  "consistency_noise_slope_db": 6.0}})
    assert [r.outcome for r in run_plan(sloped, job_plan(sloped))] == ["skipped", "ran", "ran"]
    metrics = load_state(Path(job.recording_dir)).stages["generative_eq"].metrics  # type: ignore[union-attr]
    assert metrics["resumed_blocks"] == metrics["blocks"] == 2
    slope = json.loads((stage_dir / "filters.json").read_text())["consistency"]["noise_slope"]
    assert slope["db_per_octave"] == 6.0 and all(v >= -1.0 for k, v in slope.items() if k != "db_per_octave")
    # Back to the plain run: its blocks are still there, and the card's bias is not part of its key.
    assert [r.outcome for r in run_plan(job, job_plan(job))] == ["skipped", "ran", "ran"]
    np.testing.assert_array_equal(sf.read(stage_dir / "audio.wav")[0], sampled)


def test_an_instrument_reference_is_used_keyed_and_checked(catalog_dir: Path, tmp_path: Path) -> None:
    # generative_eq.reference (a folder of clean recordings of the instrument) replaces the bundle's LTAS:
    # ltas.json shows it, the stage reruns with fresh blocks, and a reference that is not there fails the
    # recording at this stage with the path it looked at.
    from shellac.engine.dsp.ltas import ltas_from_files
    from shellac.engine.models.bundle import read_reference_ltas
    from shellac.stages.state import load_state

    from ..conftest import SR, harmonic_tone

    (catalog_dir / "instrument").mkdir()
    sf.write(catalog_dir / "instrument" / "clean.wav", harmonic_tone(2.0, f0=330.0), SR)
    bundle_dir = make_tiny_bundle(tmp_path / "models", "tiny")
    _write_profile(catalog_dir)
    chain_start = {**FAST, "filter_init": "chain"}
    own = job_for(catalog_dir, "b", profile="gen", models_dir=str(tmp_path / "models"),
                  overrides={"generative_eq": chain_start})
    run_plan(own, job_plan(own))
    curves_path = Path(own.recording_dir) / "01-generative_eq" / "ltas.json"
    bundle_db = json.loads(curves_path.read_text())["reference_db"]

    given = job_for(catalog_dir, "b", profile="gen", models_dir=str(tmp_path / "models"),
                    overrides={"generative_eq": {**chain_start, "reference": "instrument"}})
    assert [r.outcome for r in run_plan(given, job_plan(given))] == ["skipped", "ran", "ran"]
    state = load_state(Path(given.recording_dir))
    assert state is not None and state.stages["generative_eq"].metrics["resumed_blocks"] == 0
    folder = sorted((catalog_dir / "instrument").iterdir())
    expected = ltas_from_files(folder, 8000, read_reference_ltas(bundle_dir).n_fft).db()
    used = np.array(json.loads(curves_path.read_text())["reference_db"])
    np.testing.assert_allclose(used, expected, atol=1e-3)
    # A harmonic tone's LTAS, not the bundle's flat noise: tens of dB apart between its partials.
    assert np.ptp(used - np.array(bundle_db)) > 30.0

    missing = job_for(catalog_dir, "b", profile="gen", models_dir=str(tmp_path / "models"),
                      overrides={"generative_eq": {**chain_start, "reference": "nowhere"}})
    with pytest.raises(ModelLoadingError, match="reference 'nowhere' not found"):
        run_plan(missing, job_plan(missing))
    state = load_state(Path(missing.recording_dir))
    assert state is not None and state.status == "failed" and state.error_stage == "generative_eq"
    assert "nowhere" in (state.error or "")



def test_blocks_sampled_by_other_code_are_not_reused(catalog_dir: Path, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # The stage reruns when its code changes (its cache key holds the code hash); its block checkpoints
    # must not then hand back blocks the old code sampled (another chain fit, sampler or network).
    import shellac.stages.chain as chain
    from shellac.stages.state import load_state

    make_tiny_bundle(tmp_path / "models", "tiny")
    _write_profile(catalog_dir)
    job = job_for(catalog_dir, "b", profile="gen", models_dir=str(tmp_path / "models"),
                  overrides={"generative_eq": FAST})
    run_plan(job, job_plan(job))
    blocks = Path(job.recording_dir) / "01-generative_eq" / "blocks"
    assert len(list(blocks.glob("block_*.pt"))) == 2
    real = chain.stage_code_hash
    monkeypatch.setattr(chain, "stage_code_hash",
                        lambda stage: real(stage) + ("-changed" if stage.name == "generative_eq" else ""))
    assert [r.outcome for r in run_plan(job, job_plan(job))] == ["skipped", "ran", "ran"]
    state = load_state(Path(job.recording_dir))
    assert state is not None
    metrics = state.stages["generative_eq"].metrics
    assert metrics["resumed_blocks"] == 0 and metrics["blocks"] == 2


def _hissy_master(catalog_dir: Path) -> None:
    """Recording 'h': struck tones through a horn-like band-pass (bass and treble rolled off), over hiss."""
    from scipy.signal import butter, sosfilt

    from ..conftest import SR

    rng = np.random.default_rng(8)
    n = 4 * SR
    t = np.arange(n) / SR
    x = np.zeros(n)
    for start in np.arange(0.0, 3.8, 0.2):
        f0 = float(rng.choice([110.0, 147.0, 196.0, 262.0]))
        env = np.where(t >= start, np.exp(-(t - start) / 0.15), 0.0)
        x += env * sum(0.3 / k * np.sin(2 * np.pi * f0 * k * t) for k in range(1, 30) if f0 * k < 6000.0)
    x = sosfilt(butter(2, [400.0, 3000.0], btype="bandpass", fs=SR, output="sos"), x)
    x = 0.4 * x / np.abs(x).max() + 10 ** (-50 / 20) * rng.standard_normal(n)
    sf.write(catalog_dir / "masters" / "h.wav", x.astype(np.float32), SR, subtype="FLOAT")
    with (catalog_dir / "catalog.csv").open("a", encoding="utf-8") as f:
        f.write("h,h.wav,Hiss,,1920,piano,SH-9\n")
    folder = catalog_dir / "profiles"
    folder.mkdir(exist_ok=True)
    (folder / "genw.toml").write_text(
        '[[steps]]\nstage = "ingest"\n[[steps]]\nstage = "ltas_eq"\n'
        'params = { reference = "reference", method = "chain" }\n'
        '[[steps]]\nstage = "generative_eq"\n'
        'params = { model = "tiny", consistency = "anchored", ltas_eq_init = false, '
        'ltas_eq_objective = false }\n'
        '[[steps]]\nstage = "tag"\n')


def test_the_withheld_boost_is_read_from_the_eq_stage_and_keeps_the_blocks(catalog_dir: Path,
                                                                          tmp_path: Path) -> None:
    from shellac.stages.state import load_state

    make_tiny_bundle(tmp_path / "models", "tiny")
    _hissy_master(catalog_dir)
    plain = job_for(catalog_dir, "h", profile="genw", models_dir=str(tmp_path / "models"),
                    overrides={"generative_eq": FAST})
    assert [r.outcome for r in run_plan(plain, job_plan(plain))] == ["ran"] * 4
    stage_dir = Path(plain.recording_dir) / "02-generative_eq"
    before = sf.read(stage_dir / "audio.wav")[0]
    chain = json.loads((Path(plain.recording_dir) / "01-ltas_eq" / "ltas.json").read_text())["chain"]
    withheld = np.array(chain["inverse_db"]) - np.maximum(np.array(chain["gain_db"]), 0.0)
    # The fit found the band-pass; the noise limits withheld boost at both ends (20+ dB below 60 Hz).
    assert chain["not_fitted_reason"] is None
    assert withheld[np.array(chain["band_centres_hz"]) < 60.0].min() > 20.0
    given = job_for(catalog_dir, "h", profile="genw", models_dir=str(tmp_path / "models"),
                    overrides={"generative_eq": {**FAST, "consistency_withheld": 1.0}})
    assert [r.outcome for r in run_plan(given, job_plan(given))] == ["skipped", "skipped", "ran", "ran"]
    metrics = load_state(Path(given.recording_dir)).stages["generative_eq"].metrics  # type: ignore[union-attr]
    assert metrics["resumed_blocks"] == metrics["blocks"]  # the sampling was not redone
    entry = json.loads((stage_dir / "filters.json").read_text())["consistency"]["withheld_boost"]
    assert entry["max_db"] == entry["limit_db"] == 20.0 and entry["bins_given_back"] > 0
    after = sf.read(stage_dir / "audio.wav")[0]

    def bass_db(x: np.ndarray) -> float:
        power, freqs = np.abs(np.fft.rfft(x)) ** 2, np.fft.rfftfreq(x.size, 1.0 / 22050)
        return float(10 * np.log10(power[(freqs > 60.0) & (freqs < 130.0)].sum()))

    # The lowest fundamentals (110 Hz) and the band under them, where 3–20 dB were withheld, get it back
    # where they stand over the hiss (4.1 dB in all when written).
    assert bass_db(after) > bass_db(before) + 3.0

    # Without a chain EQ step before it there is nothing to give back: the recording fails, saying why.
    _write_profile(catalog_dir)
    alone = job_for(catalog_dir, "h", profile="gen", models_dir=str(tmp_path / "models"),
                    overrides={"generative_eq": {**FAST, "consistency": "anchored", "ltas_eq_init": False,
                                                 "ltas_eq_objective": False, "consistency_withheld": 1.0}})
    with pytest.raises(ParameterError, match="needs an ltas_eq step before generative_eq"):
        run_plan(alone, job_plan(alone))


def test_the_withheld_boost_needs_a_chain_eq_step(tmp_path: Path) -> None:
    from types import SimpleNamespace

    from shellac.stages.generative_eq import eq_stage_curves

    (tmp_path / "01-ltas_eq").mkdir()
    (tmp_path / "01-ltas_eq" / "ltas.json").write_text(json.dumps({"freqs_hz": [100.0]}))
    history = ({"stage": "ingest", "outputs": {}},
               {"stage": "ltas_eq", "outputs": {"ltas_curves": {"path": "01-ltas_eq/ltas.json"}}})
    ctx = SimpleNamespace(history=history, recording_dir=tmp_path)
    with pytest.raises(ParameterError, match="method 'chain' .* not 'ltas'"):
        eq_stage_curves(ctx)  # type: ignore[arg-type]
    chain = {"band_centres_hz": [100.0, 200.0], "inverse_db": [9.0, 1.0], "gain_db": [3.0, 1.0]}
    (tmp_path / "01-ltas_eq" / "ltas.json").write_text(json.dumps({"method": "chain", "chain": chain}))
    curves = eq_stage_curves(ctx)  # type: ignore[arg-type]
    assert curves.inverse_db.tolist() == [9.0, 1.0] and curves.gain_db.tolist() == [3.0, 1.0]
    assert curves.centres_hz.tolist() == [100.0, 200.0]
