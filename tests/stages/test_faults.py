"""Injected faults: kill -9 mid-recording and mid-write, disk full, corrupt model, concurrent runs."""

from __future__ import annotations

import errno
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from shellac.engine.errors import AudioWriteError, ModelLoadingError
from shellac.stages.chain import RecordingJob, job_plan, run_plan
from shellac.stages.state import load_state

from ..fixtures.bundles import make_tiny_bundle
from .helpers import job_for

ROOT = Path(__file__).resolve().parents[2]
GEN = {"model": "tiny", "n_steps": 6, "filter_iters": 3}


@pytest.fixture(autouse=True)
def _one_thread() -> None:
    torch.set_num_threads(1)


def _gen_job(catalog_dir: Path, models: Path, rec: str, workdir: Path | None = None) -> RecordingJob:
    folder = catalog_dir / "profiles"
    folder.mkdir(exist_ok=True)
    (folder / "gen.toml").write_text(
        '[[steps]]\nstage = "ingest"\n[[steps]]\nstage = "generative_eq"\nparams = { model = "tiny" }\n'
        '[[steps]]\nstage = "tag"\n'
    )
    update: dict[str, object] = {
        "profile": "gen",
        "models_dir": str(models),
        "overrides": {"generative_eq": GEN},
    }
    if workdir is not None:
        update["recording_dir"] = str(workdir)
    return job_for(catalog_dir, rec, **update)


def _child(job_files: list[Path]) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.fixtures.run_jobs", *map(str, job_files)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )


def _wait_for(path: Path, proc: subprocess.Popen[str], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, "child finished before the fault could be injected"
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.02)


def test_kill_9_during_generative_eq_resumes_to_identical_output(catalog_dir: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    make_tiny_bundle(models, "tiny")
    reference = _gen_job(catalog_dir, models, "a", tmp_path / "uninterrupted")
    run_plan(reference, job_plan(reference))

    job = _gen_job(catalog_dir, models, "a", tmp_path / "killed")
    job_file = tmp_path / "job.json"
    job_file.write_text(job.model_dump_json())
    proc = _child([job_file])
    _wait_for(Path(job.recording_dir) / "01-generative_eq" / "blocks" / "block_00000.pt", proc)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert load_state(Path(job.recording_dir)).stages["generative_eq"].status == "running"

    results = run_plan(job, job_plan(job))
    assert [r.outcome for r in results] == ["skipped", "ran", "ran"]
    state = load_state(Path(job.recording_dir))
    assert state.stages["generative_eq"].metrics["resumed_blocks"] >= 1
    ours = (Path(job.recording_dir) / "01-generative_eq" / "audio.wav").read_bytes()
    theirs = (Path(reference.recording_dir) / "01-generative_eq" / "audio.wav").read_bytes()
    assert ours == theirs


WRITER = """
import sys, numpy as np
from pathlib import Path
from shellac.engine.audio_io import write_audio
audio = np.random.default_rng(0).standard_normal((2, 44100 * 20)).astype(np.float32) * 0.1
print("ready", flush=True)
while True:
    write_audio(Path(sys.argv[1]), audio, 44100, bit_depth=32)
"""


def test_kill_9_during_write_never_exposes_a_partial_file(tmp_path: Path) -> None:
    target = tmp_path / "out.wav"
    rng = np.random.default_rng(1)
    for _ in range(4):
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(target)],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(float(rng.uniform(0.05, 0.6)))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        if target.exists():
            info = sf.info(target)
            assert (info.frames, info.channels) == (44100 * 20, 2)
        visible = [p.name for p in tmp_path.iterdir() if not p.name.startswith(".")]
        assert visible in ([], ["out.wav"])


def test_disk_full_is_a_clear_error_and_state_stays_intact(
    catalog_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = job_for(catalog_dir, "a")
    plan = job_plan(job)
    real_write = sf.SoundFile.write
    calls = {"n": 0}

    def full_disk(self: sf.SoundFile, data: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # ingest's write succeeds, denoise's hits a full disk
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(self, data)

    monkeypatch.setattr(sf.SoundFile, "write", full_disk)
    with pytest.raises(AudioWriteError, match="no space left on device"):
        run_plan(job, plan)
    state = load_state(Path(job.recording_dir))
    assert state.stages["ingest"].status == "done"
    assert state.stages["denoise"].status == "failed" and "no space left" in state.stages["denoise"].error
    assert not list((Path(job.recording_dir) / "01-denoise").glob("*.wav"))

    monkeypatch.setattr(sf.SoundFile, "write", real_write)
    results = run_plan(job, plan)
    assert [r.outcome for r in results] == ["skipped", "ran", "ran", "ran"]


def test_corrupt_model_fails_the_recording_with_model_loading_error(
    catalog_dir: Path, tmp_path: Path
) -> None:
    models = tmp_path / "models"
    bundle = make_tiny_bundle(models, "tiny")
    weights = bundle / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0x55
    weights.write_bytes(bytes(data))
    job = _gen_job(catalog_dir, models, "a")
    with pytest.raises(ModelLoadingError, match="checksum"):
        run_plan(job, job_plan(job))
    state = load_state(Path(job.recording_dir))
    assert state.error_stage == "generative_eq" and "checksum" in state.error


def test_two_concurrent_runs_never_process_a_recording_twice(catalog_dir: Path, tmp_path: Path) -> None:
    models = tmp_path / "models"
    make_tiny_bundle(models, "tiny")
    files = []
    for rec in ("a", "b"):
        path = tmp_path / f"{rec}.json"
        path.write_text(_gen_job(catalog_dir, models, rec).model_dump_json())
        files.append(path)
    first, second = _child(files), _child(files)
    outputs = [json.loads(line) for proc in (first, second) for line in proc.communicate()[0].splitlines()]
    assert first.returncode == 0 and second.returncode == 0
    ran: dict[tuple[str, str], int] = {}
    for out in outputs:
        for stage, outcome in out["stages"].items():
            ran[(out["id"], stage)] = ran.get((out["id"], stage), 0) + (outcome == "ran")
    for rec in ("a", "b"):
        assert all(ran.get((rec, stage), 0) <= 1 for stage in ("ingest", "generative_eq", "tag"))
        state = load_state(Path(_gen_job(catalog_dir, models, rec).recording_dir))
        assert state.status in ("done", "running")  # never clobbered into an invalid file
    # Rerunning after both finished completes anything left busy, and runs nothing twice.
    for rec in ("a", "b"):
        job = _gen_job(catalog_dir, models, rec)
        run_plan(job, job_plan(job))
        assert load_state(Path(job.recording_dir)).status == "done"


@pytest.mark.parametrize("free", [0, 10 * 1024**3])
def test_disk_full_reported_by_libsndfile_names_the_disk_and_the_path(
    catalog_dir: Path, monkeypatch: pytest.MonkeyPatch, free: int
) -> None:
    import shellac.engine.atomic as atomic

    job = job_for(catalog_dir, "a")
    real_write = sf.SoundFile.write
    calls = {"n": 0}

    def failing_write(self: sf.SoundFile, data: object) -> None:
        calls["n"] += 1
        if calls["n"] == 2:  # libsndfile says only "System error." when the disk fills up
            raise sf.LibsndfileError(2, "Error writing: ")
        real_write(self, data)

    monkeypatch.setattr(sf.SoundFile, "write", failing_write)
    monkeypatch.setattr(atomic, "free_bytes", lambda folder: free)
    if free:  # plenty of room: the library's own error stands, nothing is blamed on the disk
        with pytest.raises(sf.LibsndfileError):
            run_plan(job, job_plan(job))
        return
    target = Path(job.recording_dir) / "01-denoise" / "audio.wav"
    disk = atomic.mount_point(target.parent)
    with pytest.raises(AudioWriteError, match=f"the disk mounted at {disk} is full while writing {target}"):
        run_plan(job, job_plan(job))
    assert "no space left on device" in load_state(Path(job.recording_dir)).stages["denoise"].error


def test_corrupt_state_json_fails_only_its_recording(
    catalog_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from shellac.catalogs import load_catalog
    from shellac.cli.main import main
    from shellac.jobs import collection_status, select_recordings

    for rec in ("a", "b"):
        job = job_for(catalog_dir, rec, profile="ltas-only")
        run_plan(job, job_plan(job))
    (Path(job_for(catalog_dir, "b").recording_dir) / "state.json").write_text('{"recording_id": "b", ')
    catalog = load_catalog(catalog_dir)
    status = {s.recording.id: s for s in collection_status(catalog)}
    assert (status["a"].status, status["b"].status, status["silent"].status) == ("done", "failed", "pending")
    assert "unreadable" in status["b"].state.error and "move it aside" in status["b"].state.error
    assert [r.id for r in select_recordings(catalog, "failed")] == ["b"]
    assert main(["status", str(catalog_dir)]) == 0
    assert "1 done, 1 failed, 2 pending" in capsys.readouterr().out
    assert main(["report", str(catalog_dir)]) == 0
    page = (catalog.config.collection_dir / "report.html").read_text()
    assert "state.json is unreadable" in page


def test_killed_run_is_reported_interrupted_and_its_lock_reclaimed(catalog_dir: Path) -> None:
    from shellac.catalogs import load_catalog
    from shellac.jobs import collection_status
    from shellac.stages.state import RecordingBusyError, RecordingState, recording_lock, save_state

    job = job_for(catalog_dir, "a", profile="ltas-only")
    rec_dir = Path(job.recording_dir)
    rec_dir.mkdir(parents=True)
    save_state(rec_dir, RecordingState(recording_id="a", status="running"))
    (rec_dir / ".lock").write_text("pid 999999 on gone-host since 2026-01-01T00:00:00+00:00")
    catalog = load_catalog(catalog_dir)
    entry = {s.recording.id: s for s in collection_status(catalog)}["a"]
    assert (entry.status, entry.holder) == ("interrupted", None)  # nobody holds it: its run died

    with recording_lock(rec_dir):  # a live run holds it: "running", and who holds it is named
        entry = {s.recording.id: s for s in collection_status(catalog)}["a"]
        assert entry.status == "running" and entry.holder.startswith(f"pid {os.getpid()} on ")
        busy = f"a is busy: another run is processing it \\(pid {os.getpid()}"
        with pytest.raises(RecordingBusyError, match=busy):
            run_plan(job, job_plan(job))

    run_plan(job, job_plan(job))  # the lock of the dead run is simply taken over
    assert load_state(rec_dir).status == "done"
    assert (rec_dir / ".lock").read_text().startswith(f"pid {os.getpid()} on ")
