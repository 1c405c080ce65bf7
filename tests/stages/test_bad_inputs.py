"""Each master of the bad-input matrix is restored or fails with its own clear reason."""

from pathlib import Path

import pytest
import soundfile as sf

from shellac.catalogs import load_catalog
from shellac.engine.errors import ShellacError
from shellac.engine.fixity import sha256_file
from shellac.jobs import build_job
from shellac.stages.chain import job_plan, run_plan
from shellac.stages.state import load_state

from ..fixtures.bad_inputs import matrix, write_catalog

CASES = matrix()


@pytest.fixture(scope="module")
def bad_catalog(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_catalog(tmp_path_factory.mktemp("bad"), CASES)


def test_catalog_rejects_duplicate_and_escaping_rows(bad_catalog: Path) -> None:
    catalog = load_catalog(bad_catalog)
    assert len(catalog.recordings) == len(CASES)
    reasons = sorted(e.reason for e in catalog.errors)
    assert len(reasons) == 2
    assert "duplicate id" in reasons[0] and "escapes the source root" in reasons[1]


@pytest.mark.parametrize("index", range(len(CASES)), ids=[c.name for c in CASES])
def test_each_bad_input(bad_catalog: Path, index: int) -> None:
    case = CASES[index]
    catalog = load_catalog(bad_catalog)
    recording = catalog.get(f"case{index:02d}")
    master = catalog.master_path(recording)
    before = sha256_file(master) if master.exists() else None
    job = build_job(catalog, recording)
    if case.expect == "ok":
        run_plan(job, job_plan(job))
        state = load_state(Path(job.recording_dir))
        assert state is not None and state.status == "done"
        access = Path(job.recording_dir) / f"{recording.id}.flac"
        info, master_info = sf.info(access), sf.info(master)
        assert (info.samplerate, info.channels) == (master_info.samplerate, master_info.channels)
    else:
        with pytest.raises(ShellacError):  # a narrow, expected error, never a crash
            run_plan(job, job_plan(job))
        state = load_state(Path(job.recording_dir))
        assert state is not None and state.status == "failed"
        assert case.expect in (state.error or ""), state.error
        assert state.error_stage == "ingest"
    if before is not None:
        assert sha256_file(master) == before
