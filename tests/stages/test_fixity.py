"""Fixity across runs: a changed master fails loudly, its stale access copy is withdrawn, and only
``shellac accept-master`` lets the next run restore the new file (with the change on record)."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from mutagen.flac import FLAC

from shellac.cli.main import main
from shellac.engine.errors import AudioLoadError, FixityError
from shellac.engine.fixity import sha256_file
from shellac.stages.chain import RecordingJob, job_plan, run_plan
from shellac.stages.fixity import accept_master
from shellac.stages.state import load_state

from ..conftest import SR, harmonic_tone
from .helpers import job_for


def _job(catalog_dir: Path) -> RecordingJob:
    return job_for(catalog_dir, "a", profile="ltas-only")


def _replace_master(path: Path, audio: np.ndarray) -> str:
    path.chmod(0o644)
    sf.write(path, audio, SR, subtype="PCM_16")
    path.chmod(0o444)
    return sha256_file(path)


def test_changed_master_fails_with_both_checksums_and_withdraws_the_access_copy(
    catalog_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    job = _job(catalog_dir)
    rec_dir, master = Path(job.recording_dir), Path(job.master_path)
    run_plan(job, job_plan(job))
    old = sha256_file(master)
    new = _replace_master(master, harmonic_tone(4.0, seed=3))

    for _ in range(2):  # a rerun does not quietly accept it either
        with pytest.raises(FixityError, match=f"sha256 {old} was recorded, {new} found now"):
            run_plan(job, job_plan(job))
    assert sha256_file(master) == new  # never written
    state = load_state(rec_dir)
    assert (state.status, state.error_stage, state.master_sha256) == ("failed", "ingest", old)
    checks = [e for e in state.events if e["eventType"] == "fixity check"]
    assert len(checks) == 2
    assert checks[0]["eventOutcome"] == "fail"
    assert (checks[0]["old_sha256"], checks[0]["new_sha256"]) == (old, new)
    # The access copy of the old master is out of place, tagged as withdrawn, and said so everywhere.
    assert not (rec_dir / "a.flac").exists() and not (rec_dir / "a.premis.json").exists()
    withdrawn = rec_dir / state.withdrawn
    assert withdrawn.parent.name == "withdrawn" and withdrawn.suffix == ".flac"
    assert "master changed" in FLAC(withdrawn)["SHELLAC_WITHDRAWN"][0]
    sidecar = json.loads(next(withdrawn.parent.glob("a.*.premis.json")).read_text())
    assert "master changed" in sidecar["withdrawn"]["reason"]
    assert state.withdrawn in state.error
    assert [state.stages[s].status for s in ("ingest", "ltas_eq", "tag")] == ["failed", "pending", "pending"]
    assert main(["status", str(catalog_dir)]) == 0
    out = capsys.readouterr().out
    assert "ingest✗ ltas_eq· tag·" in out and "stale access copy withdrawn to" in out

    # Accepting the new master records the change; the next run restores it.
    assert main(["accept-master", str(catalog_dir), "a"]) == 0
    assert f"sha256 {old} → {new}" in capsys.readouterr().out
    state = load_state(rec_dir)
    assert state.master_sha256 == new
    accepted = state.events[-1]
    assert accepted["eventType"] == "message digest calculation"
    assert (accepted["old_sha256"], accepted["new_sha256"]) == (old, new)
    results = run_plan(job, job_plan(job))
    assert [r.outcome for r in results] == ["ran", "ran", "ran"]
    state = load_state(rec_dir)
    assert state.status == "done" and state.withdrawn is None
    premis = json.loads((rec_dir / "a.premis.json").read_text())
    assert premis["object"]["source"]["sha256"] == new
    types = [(e["eventType"], e["eventOutcome"]) for e in premis["events"]]
    assert ("fixity check", "fail") in types and ("message digest calculation", "success") in types
    assert accept_master(rec_dir, master) == (new, new)  # nothing to accept any more


def test_failed_reingest_of_an_accepted_master_leaves_no_current_looking_copy(catalog_dir: Path) -> None:
    job = _job(catalog_dir)
    rec_dir, master = Path(job.recording_dir), Path(job.master_path)
    run_plan(job, job_plan(job))
    _replace_master(master, np.zeros(SR * 2, dtype=np.float32))  # the "new master" is silent
    accept_master(rec_dir, master)
    with pytest.raises(AudioLoadError, match="is silent"):
        run_plan(job, job_plan(job))
    state = load_state(rec_dir)
    assert not (rec_dir / "a.flac").exists()
    assert state.withdrawn is not None and (rec_dir / state.withdrawn).is_file()
    assert f"withdrawn to {state.withdrawn}" in state.error
    assert [state.stages[s].status for s in ("ingest", "ltas_eq", "tag")] == ["failed", "pending", "pending"]


def test_accept_master_of_a_recording_that_never_ran_is_refused(
    catalog_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["accept-master", str(catalog_dir), "b"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "never ran, nothing to accept" in err


def test_a_master_that_failed_ingest_may_be_replaced_without_accepting(catalog_dir: Path) -> None:
    job = job_for(catalog_dir, "silent", profile="ltas-only")
    with pytest.raises(AudioLoadError, match="is silent"):
        run_plan(job, job_plan(job))
    assert load_state(Path(job.recording_dir)).master_sha256 is None  # never accepted into the chain
    _replace_master(Path(job.master_path), harmonic_tone(3.0, seed=4))
    run_plan(job, job_plan(job))
    state = load_state(Path(job.recording_dir))
    assert state.status == "done" and state.master_sha256 == sha256_file(Path(job.master_path))
    assert not [e for e in state.events if e["eventType"] == "fixity check"]
