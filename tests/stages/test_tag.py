"""The access copy: FLAC tags and PREMIS sidecar read back; master fixity re-verified."""

import json
import shutil
from pathlib import Path

import numpy as np
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
    job = job_for(catalog_dir, "a", master_path=str(masters / "a.wav"), source_root=str(masters))
    plan = job_plan(job)
    from shellac.stages.chain import begin_recording, execute_step

    begin_recording(job, plan)
    for i in range(3):
        execute_step(job, plan, i)
    with open(masters / "a.wav", "r+b") as fh:  # bit rot after ingest
        fh.seek(-2, 2)
        fh.write(b"\x01\x02")
    with pytest.raises(FixityError, match="changed since it was last processed"):
        execute_step(job, plan, 3)


def _wav_job(catalog_dir: Path, rec_id: str):  # type: ignore[no-untyped-def]
    base = job_for(catalog_dir, rec_id)
    tag = {**base.overrides.get("tag", {}), "format": "wav", "bit_depth": 16}
    return base.model_copy(update={"overrides": {**base.overrides, "tag": tag}})


def test_wav_deliverable_has_bext_and_id3(catalog_dir: Path) -> None:
    from mutagen.wave import WAVE

    from shellac.engine.bwf import read_bext, riff_chunks

    job = _wav_job(catalog_dir, "a")
    run_plan(job, job_plan(job))
    rec = Path(job.recording_dir)
    access = rec / "a.wav"
    assert not (rec / "a.flac").exists()
    info = sf.info(access)
    assert (info.samplerate, info.channels, info.subtype) == (22050, 1, "PCM_16")
    assert [c.id for c in riff_chunks(access)] == ["fmt ", "bext", "data", "id3 "]
    bext = read_bext(access)
    assert bext.description.startswith("Song A, Enrico Caruso, 1907. Restored access copy by Shellac")
    assert bext.originator == "Shellac 0.1.0" and bext.version == 2
    assert len(bext.originator_reference) == 32
    assert bext.origination_date[:2] == "20" and bext.origination_time.count("-") == 2
    lines = bext.coding_history.split("\r\n")
    # Each stage line names the code that made its output (the code hash in state.json; coding
    # history text has its commas turned into semicolons).
    code = {k: v["code_hash"][:12] for k, v in json.loads((rec / "state.json").read_text())["stages"].items()}
    assert all(len(c) == 12 for c in code.values())
    assert lines == [
        "A=PCM,F=22050,W=16,M=mono,T=master a.wav",
        f"A=PCM,F=22050,W=32,M=mono,T=Shellac 0.1.0 ingest (stage version 2; code {code['ingest']})",
        f"A=PCM,F=22050,W=32,M=mono,T=Shellac 0.1.0 denoise (stage version 4; code {code['denoise']})",
        f"A=PCM,F=22050,W=32,M=mono,T=Shellac 0.1.0 ltas_eq (stage version 2; code {code['ltas_eq']})",
        "A=PCM,F=22050,W=16,M=mono,T=Shellac 0.1.0 tag",
        "",
    ]
    tags = WAVE(access).tags
    assert tags["TIT2"].text == ["Song A"] and tags["TPE1"].text == ["Enrico Caruso"]
    assert str(tags["TDRC"].text[0]) == "1907"
    assert tags["TXXX:SOURCE_SHA256"].text == [sha256_file(catalog_dir / "masters" / "a.wav")]
    assert tags["TXXX:SHELLAC_CHAIN"].text == ["ingest > denoise > ltas_eq > tag"]
    assert tags["TXXX:SHELLAC_META_SHELFMARK"].text == ["SH-1"]
    sidecar = json.loads((rec / "a.premis.json").read_text())
    assert sidecar["object"]["access_copy"]["format"].startswith("WAVE")
    assert sidecar["object"]["access_copy"]["sha256"] == sha256_file(access)
    assert not list(rec.glob(".*.tmp*"))


def test_wav_deliverable_stereo(catalog_dir: Path) -> None:
    from shellac.engine.bwf import read_bext

    job = _wav_job(catalog_dir, "b")
    run_plan(job, job_plan(job))
    access = Path(job.recording_dir) / "b.wav"
    assert sf.info(access).channels == 2
    assert "M=stereo" in read_bext(access).coding_history
    assert read_bext(access).description.startswith("Song B, 1910.")


def test_peaks_over_full_scale_are_scaled_not_clipped(tmp_path: Path) -> None:
    from shellac.engine.audio_io import read_audio, write_audio
    from shellac.stages.base import MasterInfo, StageContext
    from shellac.stages.models import ModelStore
    from shellac.stages.tag import TagParams, run

    rng = np.random.default_rng(4)
    hot = (0.6 * rng.standard_normal((1, 22050))).astype(np.float32)  # peaks near 2.5
    write_audio(tmp_path / "in.wav", hot, 22050)
    master = tmp_path / "m.wav"
    write_audio(master, hot.clip(-1, 1), 22050, bit_depth=16)
    (tmp_path / "probe.json").write_text('{"sample_rate": 22050}')
    ctx = StageContext(recording_id="r", metadata={}, master=MasterInfo(master), recording_dir=tmp_path,
                       stage_dir=tmp_path / "tag", base_dir=tmp_path, models=ModelStore(tmp_path),
                       code_hash="test")
    out = run({"audio": tmp_path / "in.wav", "probe": tmp_path / "probe.json"}, TagParams(), ctx)
    copy, _ = read_audio(tmp_path / "r.flac")
    peak_db = 20 * np.log10(np.abs(copy).max())
    assert peak_db == pytest.approx(-1.0, abs=0.01)
    assert out.metrics["peak_gain_db"] == pytest.approx(-1.0 - 20 * np.log10(np.abs(hot).max()), abs=1e-3)
    # Scaled, not clipped: the waveform keeps its shape.
    assert np.corrcoef(copy[0], hot[0])[0, 1] > 0.9999


def test_illegal_tag_names_are_sanitised_and_nul_bytes_stripped(catalog_dir: Path) -> None:
    from mutagen.wave import WAVE

    from shellac.catalogs import load_catalog
    from shellac.jobs import build_job

    (catalog_dir / "catalog.csv").write_text(
        'id,file,title,content,Signatur Ä,a=b,x~y,a_b\n'
        'a,a.wav,"Vesti\x00 la giubba",piano,S-1,eq,tilde,plain\n', encoding="utf-8")
    catalog = load_catalog(catalog_dir)
    job = build_job(catalog, catalog.get("a")).model_copy(update={"profile": "ltas-only"})
    run_plan(job, job_plan(job))
    rec = Path(job.recording_dir)
    tags = FLAC(rec / "a.flac")
    assert tags["TITLE"] == ["Vesti la giubba"]
    assert (tags["SHELLAC_META_SIGNATUR_A"], tags["SHELLAC_META_A_B"], tags["SHELLAC_META_X_Y"],
            tags["SHELLAC_META_A_B_2"]) == (["S-1"], ["eq"], ["tilde"], ["plain"])
    sidecar = json.loads((rec / "a.premis.json").read_text())["object"]
    assert sidecar["metadata"]["signatur ä"] == "S-1"  # the original column names are kept
    assert sidecar["tagNames"]["a=b"] == "SHELLAC_META_A_B"
    assert sidecar["tagNames"]["a_b"] == "SHELLAC_META_A_B_2"

    wav_job = job.model_copy(update={"overrides": {**job.overrides, "tag": {"format": "wav"}}})
    run_plan(wav_job, job_plan(wav_job))
    id3 = WAVE(rec / "a.wav").tags
    assert str(id3["TIT2"]) == "Vesti la giubba" and str(id3["TXXX:SHELLAC_META_X_Y"]) == "tilde"
