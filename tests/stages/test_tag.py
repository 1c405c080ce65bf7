"""The access copy: FLAC tags and PREMIS sidecar read back; master fixity re-verified."""

import json
import shutil
from pathlib import Path

import pytest
import soundfile as sf
from mutagen.flac import FLAC

from shellac.engine.errors import FixityError
from shellac.engine.fixity import sha256_file
from shellac.stages.chain import job_plan, run_plan

from .helpers import job_for


def test_tags_and_sidecar(catalog_dir: Path) -> None:
    job = job_for(catalog_dir, "a")
    run_plan(job, job_plan(job))
    rec = Path(job.recording_dir)
    access = rec / "a.flac"
    info = sf.info(access)
    assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_24")
    tags = FLAC(access)
    assert tags["TITLE"] == ["Song A"] and tags["ARTIST"] == ["Enrico Caruso"]
    assert tags["DATE"] == ["1907"]
    assert tags["SHELLAC_META_SHELFMARK"] == ["SH-1"]
    assert tags["SOURCE_SHA256"] == [sha256_file(catalog_dir / "masters" / "a.wav")]
    assert tags["SHELLAC_CHAIN"] == ["ingest > denoise > ltas_eq > tag"]
    ltas_params = json.loads(tags["SHELLAC_STAGE_LTAS_EQ"][0])
    assert ltas_params["params"]["reference"] == "reference"
    assert len(ltas_params["model_sha256"]) == 64

    sidecar = json.loads((rec / "a.premis.json").read_text())
    assert [e["stage"] for e in sidecar["events"]] == ["ingest", "denoise", "ltas_eq", "tag"]
    assert sidecar["events"][0]["eventType"] == "ingestion"
    assert all(e["eventOutcome"] == "success" for e in sidecar["events"])
    assert sidecar["object"]["access_copy"]["sha256"] == sha256_file(access)
    assert sidecar["events"][1]["parameters"]["prop_decrease"] == 0.8


def test_stereo_master_gives_stereo_copy_at_master_rate(catalog_dir: Path) -> None:
    job = job_for(catalog_dir, "b")
    run_plan(job, job_plan(job))
    info = sf.info(Path(job.recording_dir) / "b.flac")
    assert (info.samplerate, info.channels) == (22050, 2)
    assert info.frames == 3 * 22050


def test_changed_master_fails_fixity_before_tagging(catalog_dir: Path, tmp_path: Path) -> None:
    masters = tmp_path / "writable"
    shutil.copytree(catalog_dir / "masters", masters)
    for p in masters.iterdir():
        p.chmod(0o644)
    job = job_for(catalog_dir, "a", master_path=str(masters / "a.wav"))
    plan = job_plan(job)
    from shellac.stages.chain import begin_recording, execute_step

    begin_recording(job, plan)
    for i in range(3):
        execute_step(job, plan, i)
    with open(masters / "a.wav", "r+b") as fh:  # bit rot after ingest
        fh.seek(-2, 2)
        fh.write(b"\x01\x02")
    with pytest.raises(FixityError, match="changed since ingest"):
        execute_step(job, plan, 3)
