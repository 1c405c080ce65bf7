"""The stage chain: content-keyed skipping, reruns after a parameter change, failures recorded."""

import json
import os
from pathlib import Path

import pytest

from shellac.engine.errors import AudioLoadError, ModelLoadingError
from shellac.engine.fixity import sha256_file
from shellac.stages.chain import execute_step, job_plan, run_plan
from shellac.stages.state import StateError, load_state, recording_lock

from .helpers import job_for


def _outcomes(results: list) -> dict[str, str]:
    return {r.stage: r.outcome for r in results}


def test_full_chain_then_rerun_skips_everything(catalog_dir: Path) -> None:
    job = job_for(catalog_dir, "a")
    first = run_plan(job, job_plan(job))
    assert _outcomes(first) == {"ingest": "ran", "denoise": "ran", "ltas_eq": "ran", "tag": "ran"}
    state = load_state(Path(job.recording_dir))
    assert state is not None and state.status == "done"
    assert state.plan == ["ingest", "denoise", "ltas_eq", "tag"]
    ingest = state.stages["ingest"]
    assert ingest.inputs["master"] == sha256_file(catalog_dir / "masters" / "a.wav")
    assert ingest.metrics["sample_rate"] == 22050 and ingest.metrics["channels"] == 1
    assert all(r.duration_s is not None and r.key for r in state.stages.values())
    durations = {k: v.duration_s for k, v in state.stages.items()}

    second = run_plan(job, job_plan(job))
    assert set(_outcomes(second).values()) == {"skipped"}
    state2 = load_state(Path(job.recording_dir))
    assert {k: v.duration_s for k, v in state2.stages.items()} == durations


def test_changed_parameter_reruns_that_stage_and_later_ones(catalog_dir: Path) -> None:
    job = job_for(catalog_dir, "a")
    run_plan(job, job_plan(job))
    before = load_state(Path(job.recording_dir))
    new_eq = {"reference": "reference", "max_boost_db": 12.0}
    changed = job.model_copy(update={"overrides": {**job.overrides, "ltas_eq": new_eq}})
    results = run_plan(changed, job_plan(changed))
    assert _outcomes(results) == {"ingest": "skipped", "denoise": "skipped", "ltas_eq": "ran", "tag": "ran"}
    after = load_state(Path(job.recording_dir))
    assert after.stages["ltas_eq"].key != before.stages["ltas_eq"].key
    assert after.stages["ltas_eq"].params["max_boost_db"] == 12.0


def test_rerun_clears_the_stage_folder_but_keeps_block_checkpoints(catalog_dir: Path) -> None:
    # An earlier run's output that the new run does not write (a generative_rejected.wav after a
    # fallback that is now kept) must not lie beside the new outputs looking current.
    job = job_for(catalog_dir, "a")
    run_plan(job, job_plan(job))
    stage_dir = Path(job.recording_dir) / "02-ltas_eq"
    (stage_dir / "generative_rejected.wav").write_bytes(b"stale")
    (stage_dir / "work").mkdir()
    (stage_dir / "work" / "scratch.npy").write_bytes(b"stale")
    (stage_dir / "blocks").mkdir()
    (stage_dir / "blocks" / "block_00000.npz").write_bytes(b"checkpoint")
    (stage_dir / "blocks" / ".block_00001.npz.tmp123").write_bytes(b"half written")
    changed = job.model_copy(update={"overrides": {**job.overrides, "ltas_eq": {"max_boost_db": 12.0}}})
    run_plan(changed, job_plan(changed))
    left = sorted(str(p.relative_to(stage_dir)) for p in stage_dir.rglob("*"))
    assert left == ["audio.wav", "blocks", "blocks/block_00000.npz", "ltas.json"]
    state = load_state(Path(job.recording_dir))
    assert {a.path for a in state.stages["ltas_eq"].outputs.values()} == {
        "02-ltas_eq/audio.wav", "02-ltas_eq/ltas.json"}


def test_deleted_output_is_recomputed(catalog_dir: Path) -> None:
    job = job_for(catalog_dir, "a")
    run_plan(job, job_plan(job))
    (Path(job.recording_dir) / "01-denoise" / "audio.wav").unlink()
    results = run_plan(job, job_plan(job))
    # denoise reruns; its output is bit-identical, so later stages keep their keys and skip.
    assert _outcomes(results) == {
        "ingest": "skipped", "denoise": "ran", "ltas_eq": "skipped", "tag": "skipped"}


def test_failure_is_recorded_with_reason(catalog_dir: Path) -> None:
    job = job_for(catalog_dir, "silent")
    with pytest.raises(AudioLoadError, match="silent"):
        run_plan(job, job_plan(job))
    state = load_state(Path(job.recording_dir))
    assert state.status == "failed" and state.error_stage == "ingest"
    assert state.error.startswith("ingest: silent.wav is silent")
    assert state.stages["ingest"].error_type == "AudioLoadError"


def test_missing_model_names_file_and_place(catalog_dir: Path, tmp_path: Path) -> None:
    job = job_for(catalog_dir, "a", overrides={"ltas_eq": {"reference": "model:piano"}},
                  models_dir=str(tmp_path / "models"))
    with pytest.raises(ModelLoadingError, match=r"model 'piano' is not installed.*models/piano/"):
        run_plan(job, job_plan(job))
    state = load_state(Path(job.recording_dir))
    assert state.error_stage == "ltas_eq" and "SHELLAC_MODELS_DIR" in state.error
    # Refused before any step ran: nothing was ingested or denoised for a chain that cannot finish.
    assert state.status == "failed" and list(state.stages) == ["ltas_eq"]
    assert state.stages["ltas_eq"].error_type == "ModelLoadingError"
    assert not any(Path(job.recording_dir).glob("0*-*"))


def test_missing_reference_folder_fails_before_any_step(catalog_dir: Path) -> None:
    job = job_for(catalog_dir, "a", overrides={"ltas_eq": {"reference": "no-such-folder"}})
    with pytest.raises(ModelLoadingError, match="reference 'no-such-folder' not found"):
        run_plan(job, job_plan(job))
    state = load_state(Path(job.recording_dir))
    assert state.status == "failed" and state.error_stage == "ltas_eq"
    assert state.error.startswith("ltas_eq: reference 'no-such-folder' not found")
    assert list(state.stages) == ["ltas_eq"] and state.stages["ltas_eq"].status == "failed"
    # Once the reference is there, the same recording runs through.
    ref = catalog_dir / "no-such-folder"
    ref.mkdir()
    (ref / "clean.wav").write_bytes((catalog_dir / "masters" / "a.wav").read_bytes())
    assert [r.outcome for r in run_plan(job, job_plan(job))] == ["ran"] * len(job_plan(job).steps)
    assert load_state(Path(job.recording_dir)).status == "done"


def test_resume_after_crash_runs_only_unfinished_steps(catalog_dir: Path) -> None:
    job = job_for(catalog_dir, "a")
    plan = job_plan(job)
    from shellac.stages.chain import begin_recording

    begin_recording(job, plan)
    execute_step(job, plan, 0)
    execute_step(job, plan, 1)
    # The process dies here; a new run picks up at ltas_eq.
    results = run_plan(job, plan)
    assert _outcomes(results) == {"ingest": "skipped", "denoise": "skipped", "ltas_eq": "ran", "tag": "ran"}


def test_master_is_never_modified(catalog_dir: Path) -> None:
    master = catalog_dir / "masters" / "b.flac"
    before = (sha256_file(master), os.stat(master).st_mtime_ns)
    job = job_for(catalog_dir, "b")
    run_plan(job, job_plan(job))
    assert (sha256_file(master), os.stat(master).st_mtime_ns) == before


def test_lock_refuses_second_holder(tmp_path: Path) -> None:
    with recording_lock(tmp_path), pytest.raises(StateError, match="another run"), recording_lock(tmp_path):
        pass
    with recording_lock(tmp_path):  # released after the first holder left
        pass


def test_corrupt_state_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "state.json").write_text("{not json")
    with pytest.raises(StateError, match="move it aside"):
        load_state(tmp_path)


def test_state_json_is_valid_json_after_each_step(catalog_dir: Path) -> None:
    job = job_for(catalog_dir, "a")
    plan = job_plan(job)
    from shellac.stages.chain import begin_recording

    begin_recording(job, plan)
    for index in range(len(plan.steps)):
        execute_step(job, plan, index)
        data = json.loads((Path(job.recording_dir) / "state.json").read_text())
        assert data["stages"][plan.steps[index].stage]["status"] == "done"
