"""inpaint: gaps from the click map and from dropout detection, in the demo-research profile and alone."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from shellac.engine.audio_io import write_audio
from shellac.engine.errors import ParameterError
from shellac.stages.base import MasterInfo, StageContext
from shellac.stages.chain import job_plan, run_plan
from shellac.stages.inpaint import InpaintParams, run
from shellac.stages.models import ModelStore
from shellac.stages.state import load_state

from ..conftest import SR, harmonic_tone
from ..fixtures.bundles import make_tiny_bundle
from .helpers import job_for
from .test_declip import add_recording

FAST = {"model": "tiny", "n_steps": 3, "sigma_start": 0.4}  # 4 sigma_data of the tiny model: inpaint's least


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def test_demo_research_profile_declips_and_inpaints(catalog_dir: Path, tmp_path: Path) -> None:
    make_tiny_bundle(tmp_path / "models", "tiny")
    audio = np.clip(2.5 * harmonic_tone(2.0, noise=0.002), -0.5, 0.5)
    gap = slice(SR // 4, SR // 4 + SR // 20)  # 50 ms dropout inside a sounding note
    audio[gap] = 0.0
    add_recording(catalog_dir, "faulty", audio)
    job = job_for(catalog_dir, "faulty", profile="demo-research", models_dir=str(tmp_path / "models"),
                  overrides={"declip": FAST, "inpaint": {**FAST, "repaint_u": 1},
                             "denoise": {"n_fft": 1024}})
    results = run_plan(job, job_plan(job))
    assert [r.stage for r in results] == ["ingest", "declip", "denoise", "inpaint", "tag"]
    rec = Path(job.recording_dir)
    report = json.loads((rec / "03-inpaint" / "gaps.json").read_text())
    assert report["dropouts_found"] >= 1 and report["click_map"] == "02-denoise/clicks.json"
    before, _ = sf.read(rec / "02-denoise" / "audio.wav", dtype="float32")
    after, _ = sf.read(rec / "03-inpaint" / "audio.wav", dtype="float32")
    filled = np.zeros(before.size, dtype=bool)
    for g in report["gaps"]:
        filled[g["start_sample"]:g["start_sample"] + g["length_samples"]] = True
    # The dropout is filled whole but for the 5 ms (110 samples) the denoiser's STFT smears at
    # its edges; the declicker may hand it over as one gap or in pieces.
    assert filled[gap.start + 110:gap.stop - 110].all()
    assert np.array_equal(after[~filled], before[~filled])
    inner = slice(gap.start + 110, gap.stop - 110)  # the denoiser's STFT smears 5 ms of the edges

    def rms(x: np.ndarray) -> float:
        return float(np.sqrt(np.mean(x**2)))

    assert rms(after[inner]) > 10 * rms(before[inner])
    metrics = load_state(rec).stages["inpaint"].metrics
    assert metrics["method"] == "repaint" and metrics["gaps_filled"] == len(report["gaps"])


def _context(tmp_path: Path, history: tuple[dict, ...]) -> StageContext:
    stage_dir = tmp_path / "rec" / "03-inpaint"
    stage_dir.mkdir(parents=True)
    return StageContext(recording_id="r", metadata={}, master=MasterInfo(tmp_path / "m.wav"),
                        recording_dir=tmp_path / "rec", stage_dir=stage_dir, base_dir=tmp_path,
                        models=ModelStore(tmp_path / "models"), code_hash="test", history=history)


def test_click_map_gaps_are_filled_short_ones_by_lsar(tmp_path: Path) -> None:
    make_tiny_bundle(tmp_path / "models", "tiny", sample_rate=SR)
    record = {"stage": "denoise", "outputs": {"click_map": {"path": "clicks.json", "sha256": ""}}}
    ctx = _context(tmp_path, (record,))
    audio = harmonic_tone(1.0)[None]
    write_audio(tmp_path / "in.wav", audio, SR, bit_depth=32)
    clicks = {"sample_rate": SR, "clicks": [
        {"start_sample": 5000, "length_samples": 300, "status": "needs_inpainting"},
        {"start_sample": 9000, "length_samples": 20, "status": "repaired"}]}
    (tmp_path / "rec" / "clicks.json").write_text(json.dumps(clicks))
    params = InpaintParams(**FAST, detect_dropouts=False, margin_ms=0.0, lsar_max_ms=50.0)
    out = run({"audio": tmp_path / "in.wav", "history": tmp_path}, params, ctx)
    report = json.loads(Path(out.artifacts["gaps"]).read_text())
    assert report["gaps"] == [{"start_sample": 5000, "length_samples": 300, "start_s": round(5000 / SR, 6),
                               "length_ms": round(300000 / SR, 3), "filled_by": "lsar"}]
    after, _ = sf.read(out.artifacts["audio"], always_2d=True, dtype="float32")
    keep = np.ones(audio.shape[1], dtype=bool)
    keep[5000:5300] = False
    assert np.array_equal(after[keep, 0], audio[0, keep])
    assert not np.array_equal(after[~keep, 0], audio[0, ~keep])
    # 14 ms of a harmonic tone in hiss, interpolated from its neighbourhood: close to what was there
    err = after[~keep, 0] - audio[0, ~keep]
    assert 10 * np.log10(np.sum(audio[0, ~keep] ** 2) / np.sum(err**2)) > 15.0
    assert out.metrics["from_click_map"] == 1 and out.metrics["samples_filled"] == 300
    assert out.metrics["gaps_filled_by_lsar"] == 1


def test_long_runs_and_runs_at_the_edges_go_to_the_prior(tmp_path: Path) -> None:
    """A 100 ms gap is over ``lsar_max_ms``; a 5 ms one 10 ms from the start lacks LSAR's 23 ms of context;
    a 5 ms one 10 ms after the 100 ms gap would lean on its unfilled samples."""
    make_tiny_bundle(tmp_path / "models", "tiny", sample_rate=SR)
    ctx = _context(tmp_path, ())
    audio = harmonic_tone(1.0)[None]
    audio[0, 220:330] = 0.0
    audio[0, 5000:7205] = 0.0
    audio[0, 12000:12441] = 0.0
    audio[0, 7425:7535] = 0.0
    write_audio(tmp_path / "in.wav", audio, SR, bit_depth=32)
    params = InpaintParams(**FAST, use_click_map=False, min_zero_ms=2.0, margin_ms=0.0, lsar_max_ms=50.0)
    out = run({"audio": tmp_path / "in.wav", "history": tmp_path}, params, ctx)
    report = json.loads(Path(out.artifacts["gaps"]).read_text())
    assert [(g["start_sample"], g["length_samples"], g["filled_by"]) for g in report["gaps"]] == [
        (220, 110, "prior"), (5000, 2205, "prior"), (7425, 110, "prior"), (12000, 441, "lsar")]
    assert out.metrics["gaps_filled"] == 4 and out.metrics["gaps_filled_by_lsar"] == 1
    assert sorted(p.name for p in (ctx.stage_dir / "blocks" / "channel0").glob("block_*.pt"))  # the prior ran


def test_a_rerun_resumes_from_the_block_checkpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_tiny_bundle(tmp_path / "models", "tiny", sample_rate=SR)
    ctx = _context(tmp_path, ())
    audio = harmonic_tone(1.0)[None]
    audio[0, 5000:5200] = 0.0
    audio[0, 15000:15200] = 0.0
    write_audio(tmp_path / "in.wav", audio, SR, bit_depth=32)
    params = InpaintParams(**FAST, use_click_map=False, min_zero_ms=2.0, margin_ms=0.0)
    first = run({"audio": tmp_path / "in.wav", "history": tmp_path}, params, ctx)
    assert first.metrics["gaps_filled"] == 2
    blocks = sorted((ctx.stage_dir / "blocks" / "channel0").glob("block_*.pt"))
    assert len(blocks) >= 2
    expected = Path(first.artifacts["audio"]).read_bytes()

    class NoNetwork(torch.nn.Module):
        def __init__(self, *args: object, **kwargs: object) -> None:
            super().__init__()

        def forward(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
            raise AssertionError("a checkpointed block was sampled again")

    monkeypatch.setattr("shellac.engine.models.loaded.EDMPrecond", NoNetwork)
    Path(first.artifacts["audio"]).unlink()
    again = run({"audio": tmp_path / "in.wav", "history": tmp_path}, params, ctx)
    assert Path(again.artifacts["audio"]).read_bytes() == expected


def test_a_burst_of_short_runs_counts_as_the_stretch_it_spans(tmp_path: Path) -> None:
    """Two 10 ms runs 10 ms apart span 30 ms: LSAR. Four 15 ms runs 15 ms apart are each short but span
    105 ms, over ``lsar_max_ms``: the prior (one LSAR solve over the span would cost its square)."""
    make_tiny_bundle(tmp_path / "models", "tiny", sample_rate=SR)
    ctx = _context(tmp_path, ())
    audio = harmonic_tone(1.0)[None]
    pair = [(3000, 220), (3440, 220)]
    burst = [(10000 + k * 662, 331) for k in range(4)]
    for start, length in [*pair, *burst]:
        audio[0, start:start + length] = 0.0
    write_audio(tmp_path / "in.wav", audio, SR, bit_depth=32)
    params = InpaintParams(**FAST, use_click_map=False, min_zero_ms=2.0, margin_ms=0.0, lsar_max_ms=50.0)
    out = run({"audio": tmp_path / "in.wav", "history": tmp_path}, params, ctx)
    report = json.loads(Path(out.artifacts["gaps"]).read_text())
    assert [(g["start_sample"], g["length_samples"], g["filled_by"]) for g in report["gaps"]] == [
        *[(s, ln, "lsar") for s, ln in pair], *[(s, ln, "prior") for s, ln in burst]]
    assert out.metrics["gaps_filled_by_lsar"] == 2


def test_a_start_too_low_for_the_models_sigma_data_is_refused(tmp_path: Path) -> None:
    """From the zeros at half σ_data the singer models' fills came out 6-14 dB too quiet: refused, with the
    least sigma_start this model takes."""
    make_tiny_bundle(tmp_path / "models", "tiny", sample_rate=SR)  # sigma_data 0.1
    write_audio(tmp_path / "in.wav", harmonic_tone(0.5)[None], SR, bit_depth=32)
    params = InpaintParams(**{**FAST, "sigma_start": 0.2}, use_click_map=False)
    with pytest.raises(ParameterError, match=r"0.2 is 2 x this model's sigma_data \(0.1\).*least 0.4"):
        run({"audio": tmp_path / "in.wav", "history": tmp_path}, params, _context(tmp_path, ()))


def test_a_warm_started_stretch_is_restored_from_lsars_fill(tmp_path: Path) -> None:
    """A 100 ms dropout, over ``lsar_max_ms``: LSAR fills it, then the prior restores it from that fill at
    a quarter of σ_data, so the fill keeps LSAR's waveform where the prior from the zeros does not."""
    clean = harmonic_tone(1.0)[None]
    audio = clean.copy()
    gap = slice(8000, 8000 + 2205)
    audio[0, gap] = 0.0
    write_audio(tmp_path / "in.wav", audio, SR, bit_depth=32)
    snr = {}
    for warm_ms in (0.0, 200.0):
        make_tiny_bundle(tmp_path / f"w{warm_ms:.0f}" / "models", "tiny", sample_rate=SR)
        ctx = _context(tmp_path / f"w{warm_ms:.0f}", ())
        params = InpaintParams(**FAST, use_click_map=False, min_zero_ms=2.0, margin_ms=0.0, lsar_max_ms=50.0,
                               lsar_warm_max_ms=warm_ms)
        out = run({"audio": tmp_path / "in.wav", "history": tmp_path}, params, ctx)
        report = json.loads(Path(out.artifacts["gaps"]).read_text())
        assert [g["filled_by"] for g in report["gaps"]] == ["lsar+prior" if warm_ms else "prior"]
        assert out.metrics["gaps_warm_started"] == (1 if warm_ms else 0)
        assert (ctx.stage_dir / "blocks" / "warm").is_dir() == bool(warm_ms)
        after, _ = sf.read(out.artifacts["audio"], always_2d=True, dtype="float32")
        assert np.array_equal(after[:gap.start, 0], audio[0, :gap.start].astype(np.float32))
        err = after[gap, 0] - clean[0, gap]
        snr[warm_ms] = 10 * np.log10(np.sum(clean[0, gap] ** 2) / np.sum(err**2))
    assert snr[200.0] > 10.0 and snr[200.0] > snr[0.0] + 10.0


def test_a_warm_start_at_or_under_sigma_min_is_refused_before_any_work(tmp_path: Path) -> None:
    make_tiny_bundle(tmp_path / "models", "tiny", sample_rate=SR)  # sigma_data 0.1; sigma_min 1e-4 below
    write_audio(tmp_path / "in.wav", harmonic_tone(0.5)[None], SR, bit_depth=32)
    ctx = _context(tmp_path, ())
    params = InpaintParams(**FAST, sigma_min=1e-2, use_click_map=False, lsar_warm_max_ms=110.0,
                           lsar_warm_sigma=0.05)
    with pytest.raises(ParameterError, match="warm_sigma 0.05 x sigma_data 0.1 is not above sigma_min 0.01"):
        run({"audio": tmp_path / "in.wav", "history": tmp_path}, params, ctx)
    assert not (ctx.stage_dir / "work").exists()
