"""declip in the chain on a tiny random model: detection, exact unclipped samples, skip, missing model."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from shellac.engine.errors import ModelLoadingError
from shellac.stages.chain import job_plan, run_plan
from shellac.stages.state import load_state

from ..conftest import SR, harmonic_tone
from ..fixtures.bundles import make_tiny_bundle
from .helpers import job_for

FAST = {"model": "tiny", "n_steps": 3, "sigma_start": 0.05}


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def add_recording(catalog_dir: Path, rec_id: str, audio: np.ndarray) -> None:
    """Add a 16-bit master and its catalog row to the test catalog."""
    sf.write(catalog_dir / "masters" / f"{rec_id}.wav", audio, SR, subtype="PCM_16")
    with (catalog_dir / "catalog.csv").open("a", encoding="utf-8") as f:
        f.write(f"{rec_id},{rec_id}.wav,Faulty {rec_id},,1920,piano,SH-{rec_id}\n")


def _profile(catalog_dir: Path, steps: str) -> None:
    folder = catalog_dir / "profiles"
    folder.mkdir(exist_ok=True)
    (folder / "dec.toml").write_text(f'[[steps]]\nstage = "ingest"\n{steps}[[steps]]\nstage = "tag"\n')


def test_declip_restores_clipped_samples_only(catalog_dir: Path, tmp_path: Path) -> None:
    make_tiny_bundle(tmp_path / "models", "tiny")
    add_recording(catalog_dir, "clip", np.clip(2.5 * harmonic_tone(2.0), -0.5, 0.5))
    _profile(catalog_dir, '[[steps]]\nstage = "declip"\nparams = { model = "tiny" }\n')
    for method in ("dc", "rg_drho"):
        job = job_for(catalog_dir, "clip", profile="dec", models_dir=str(tmp_path / "models"),
                      overrides={"declip": {**FAST, "method": method}})
        results = run_plan(job, job_plan(job))
        assert [r.outcome for r in results][1:] == ["ran", "ran"]  # ingest is reused the second time
        rec = Path(job.recording_dir)
        before, _ = sf.read(rec / "00-ingest" / "audio.wav", always_2d=True, dtype="float32")
        after, sr = sf.read(rec / "01-declip" / "audio.wav", always_2d=True, dtype="float32")
        assert sr == SR and after.shape == before.shape == (2 * SR, 1)
        level = 16384 / 32768  # 0.5 in 16-bit PCM
        clipped = np.abs(before) >= level
        assert 0.1 < clipped.mean() < 0.6
        assert np.array_equal(after[~clipped], before[~clipped])  # unclipped samples bit-exact
        assert np.isfinite(after).all() and np.mean(after[clipped] != before[clipped]) > 0.9
        report = json.loads((rec / "01-declip" / "clipping.json").read_text())
        assert report["estimate"]["detected"] and report["estimate"]["level"] == pytest.approx(level)
        metrics = load_state(rec).stages["declip"].metrics
        assert metrics["method"] == method and metrics["restored"] is True
    assert [r.outcome for r in run_plan(job, job_plan(job))] == ["skipped"] * 3


def test_unclipped_audio_passes_through_but_needs_the_model(catalog_dir: Path, tmp_path: Path) -> None:
    make_tiny_bundle(tmp_path / "models", "tiny")
    _profile(catalog_dir, '[[steps]]\nstage = "declip"\nparams = { model = "tiny" }\n')
    job = job_for(catalog_dir, "a", profile="dec", models_dir=str(tmp_path / "models"),
                  overrides={"declip": FAST})
    run_plan(job, job_plan(job))
    rec = Path(job.recording_dir)
    before, _ = sf.read(rec / "00-ingest" / "audio.wav", dtype="float32")
    after, _ = sf.read(rec / "01-declip" / "audio.wav", dtype="float32")
    assert np.array_equal(before, after)
    assert load_state(rec).stages["declip"].metrics["clipping_detected"] is False

    job = job_for(catalog_dir, "a", profile="dec", models_dir=str(tmp_path / "none"), overrides={})
    with pytest.raises(ModelLoadingError, match="model 'tiny' is not installed"):
        run_plan(job, job_plan(job))
