"""Each master of the bad-input matrix is restored or fails with its own clear reason."""

import json
from pathlib import Path

import pytest
import soundfile as sf

from shellac.catalogs import load_catalog
from shellac.engine.errors import AudioLoadError, ShellacError, UnsafePathError
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


def _linked_catalog(catalog_dir: Path, tmp_path: Path, opt_in: bool = False) -> Path:
    """Masters reached through links: a file link and a folder link out of the source root,
    and a link to /dev/zero."""
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.wav").write_bytes((catalog_dir / "masters" / "a.wav").read_bytes())
    masters = catalog_dir / "masters"
    (masters / "file-link.wav").symlink_to(outside / "x.wav")
    (masters / "folder-link").symlink_to(outside)
    (masters / "zero.wav").symlink_to("/dev/zero")
    (catalog_dir / "catalog.csv").write_text(
        "id,file,content\nfilelink,file-link.wav,piano\nfolderlink,folder-link/x.wav,piano\n"
        "zero,zero.wav,piano\n", encoding="utf-8")
    if opt_in:
        text = (catalog_dir / "collection.toml").read_text()
        (catalog_dir / "collection.toml").write_text(
            text.replace('output_root = "../out"\n',
                         'output_root = "../out"\nallow_masters_outside_source_root = true\n'))
    return outside


@pytest.mark.parametrize("rec_id", ["filelink", "folderlink"])
def test_links_out_of_the_source_root_are_refused(catalog_dir: Path, tmp_path: Path, rec_id: str) -> None:
    _linked_catalog(catalog_dir, tmp_path)
    catalog = load_catalog(catalog_dir)
    job = build_job(catalog, catalog.get(rec_id))
    with pytest.raises(UnsafePathError, match="outside the source root"):
        run_plan(job, job_plan(job))
    state = load_state(Path(job.recording_dir))
    assert state.status == "failed" and "allow_masters_outside_source_root" in state.error
    assert not (Path(job.recording_dir) / f"{rec_id}.flac").exists()


def test_links_out_of_the_source_root_with_opt_in_record_the_real_path(
    catalog_dir: Path, tmp_path: Path
) -> None:
    outside = _linked_catalog(catalog_dir, tmp_path, opt_in=True)
    catalog = load_catalog(catalog_dir)
    job = build_job(catalog, catalog.get("folderlink"))
    run_plan(job, job_plan(job))
    source = json.loads((Path(job.recording_dir) / "folderlink.premis.json").read_text())["object"]["source"]
    assert source["file"] == str(catalog_dir / "masters" / "folder-link" / "x.wav")
    assert source["real_path"] == str((outside / "x.wav").resolve())


def test_a_link_to_dev_zero_is_refused_as_a_device(catalog_dir: Path, tmp_path: Path) -> None:
    _linked_catalog(catalog_dir, tmp_path)
    catalog = load_catalog(catalog_dir)
    job = build_job(catalog, catalog.get("zero"))
    with pytest.raises(AudioLoadError, match=r"is a character device \(/dev/zero\), not a regular file"):
        run_plan(job, job_plan(job))
