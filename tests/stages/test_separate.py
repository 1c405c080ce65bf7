"""The separate stage through the chain: stems on disk, cache keys from the model files, clear errors."""

from pathlib import Path

import numpy as np
import pytest

from shellac.engine.audio_io import read_audio
from shellac.engine.errors import ModelLoadingError
from shellac.stages.base import MasterInfo, StageContext
from shellac.stages.chain import job_plan, run_plan
from shellac.stages.models import ModelStore
from shellac.stages.profiles import load_plan
from shellac.stages.separate import SeparateParams, fingerprint
from shellac.stages.state import load_state
from tests.fixtures.tiny_demucs import make_tiny_demucs_repo

from .helpers import job_for

PROFILE = """
description = "test: separation, vocal EQ and remix"
[[steps]]
stage = "ingest"
[[steps]]
stage = "separate"
params = { model = "htdemucs", model_dir = "demucs" }
[[steps]]
stage = "ltas_eq"
params = { reference = "reference", n_fft = 2048 }
[[steps]]
stage = "remix"
params = { accompaniment_reference = "reference", n_fft = 2048 }
[[steps]]
stage = "tag"
"""


def _job(catalog_dir: Path, models: Path, **extra):  # type: ignore[no-untyped-def]
    (catalog_dir / "profiles").mkdir(exist_ok=True)
    (catalog_dir / "profiles" / "sep-test.toml").write_text(PROFILE, encoding="utf-8")
    return job_for(catalog_dir, "b", profile="sep-test", overrides={}, models_dir=str(models), **extra)


def test_builtin_separated_profile_loads() -> None:
    plan = load_plan("voice-accompaniment-separated")
    assert [s.stage for s in plan.steps] == ["ingest", "denoise", "separate", "ltas_eq", "remix", "tag"]
    assert plan.step("separate").params.model_dir == "demucs"
    assert plan.step("ltas_eq").params.reference == "model:voice"


def test_separate_and_remix_through_the_chain(catalog_dir: Path, tiny_models_dir: Path) -> None:
    job = _job(catalog_dir, tiny_models_dir)
    results = run_plan(job, job_plan(job))
    assert [r.outcome for r in results] == ["ran"] * 5
    rec = Path(job.recording_dir)
    state = load_state(rec)
    sep = state.stages["separate"]
    assert set(sep.outputs) == {"audio", "vocals", "accompaniment", "mix"}
    assert sep.outputs["audio"].path == sep.outputs["vocals"].path == "01-separate/vocals.wav"
    assert sep.metrics["model_sample_rate"] == 44100 and sep.metrics["sources"][-1] == "vocals"
    assert len(sep.model_hash) == 64
    master, sr = read_audio(catalog_dir / "masters" / "b.flac")
    for name in ("vocals", "accompaniment", "mix"):
        stem, stem_sr = read_audio(rec / sep.outputs[name].path)
        assert stem.shape == master.shape and stem_sr == sr
    mix, _ = read_audio(rec / sep.outputs["mix"].path)
    np.testing.assert_allclose(mix, master, atol=1e-6)
    remix = state.stages["remix"]
    assert remix.metrics["lag_samples"] == 0
    assert remix.metrics["balance_after_db"] == pytest.approx(sep.metrics["balance_db"], abs=0.02)
    assert remix.metrics["true_peak_dbtp"] <= -1.0 + 1e-3
    assert remix.metrics["accompaniment_eq"] is True
    out, out_sr = read_audio(rec / remix.outputs["audio"].path)
    assert out.shape == master.shape and out_sr == sr
    assert (rec / "b.flac").is_file()

    again = run_plan(job, job_plan(job))
    assert {r.outcome for r in again} == {"skipped"}


def test_fingerprint_follows_model_content(tmp_path: Path) -> None:
    ctx = StageContext(recording_id="r", metadata={}, master=MasterInfo(tmp_path / "m.wav"),
                       recording_dir=tmp_path, stage_dir=tmp_path / "s", base_dir=tmp_path,
                       models=ModelStore(tmp_path / "models"), code_hash="test")
    params = SeparateParams()
    make_tiny_demucs_repo(tmp_path / "models" / "demucs", seed=0)
    first = fingerprint(params, ctx)
    assert fingerprint(params, ctx) == first and len(first) == 64
    for old in (tmp_path / "models" / "demucs").glob("*.th"):
        old.unlink()
    make_tiny_demucs_repo(tmp_path / "models" / "demucs", seed=1)
    assert fingerprint(params, ctx) != first
    absolute = SeparateParams(model_dir=str(tmp_path / "models" / "demucs"))
    assert fingerprint(absolute, ctx) == fingerprint(params, ctx)


@pytest.mark.slow
def test_changed_model_reruns_separation(catalog_dir: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    make_tiny_demucs_repo(models / "demucs", seed=0)
    job = _job(catalog_dir, models)
    run_plan(job, job_plan(job))
    first = load_state(Path(job.recording_dir)).stages["separate"].model_hash
    for old in (models / "demucs").glob("*.th"):
        old.unlink()
    make_tiny_demucs_repo(models / "demucs", seed=1)
    results = {r.stage: r.outcome for r in run_plan(job, job_plan(job))}
    assert results["ingest"] == "skipped" and results["separate"] == "ran"
    assert load_state(Path(job.recording_dir)).stages["separate"].model_hash != first


def test_missing_model_fails_with_expected_files(catalog_dir: Path, tmp_path: Path) -> None:
    job = _job(catalog_dir, tmp_path / "no-models")
    with pytest.raises(ModelLoadingError, match=r"htdemucs\.yaml.*955717e8-8726e21a\.th"):
        run_plan(job, job_plan(job))
    state = load_state(Path(job.recording_dir))
    assert state.status == "failed" and state.error_stage == "separate"
    assert "no-models/demucs" in state.error
