"""What the cache keys follow: each stage's code hash, and the catalog metadata for the tag step."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mutagen.flac import FLAC

from shellac.stages import chain
from shellac.stages.base import Stage
from shellac.stages.chain import is_current, job_plan, run_plan
from shellac.stages.code_hash import stage_code_hash
from shellac.stages.registry import STAGES
from shellac.stages.state import load_state

from .helpers import job_for


def _outcomes(results: list[chain.StepResult]) -> dict[str, str]:
    return {r.stage: r.outcome for r in results}


def _code_changed(monkeypatch: pytest.MonkeyPatch, stage_name: str) -> str:
    """Make ``stage_name``'s code hash read as if its code had changed; return the new hash."""
    changed = "0" * 64

    def code_hash(stage: Stage) -> str:
        return changed if stage.name == stage_name else stage_code_hash(stage)

    monkeypatch.setattr(chain, "stage_code_hash", code_hash)
    return changed


def test_state_records_each_stage_code_hash(catalog_dir: Path) -> None:
    job = job_for(catalog_dir, "a")
    run_plan(job, job_plan(job))
    state = load_state(Path(job.recording_dir))
    assert {n: r.code_hash for n, r in state.stages.items()} == {
        n: stage_code_hash(STAGES[n]) for n in ("ingest", "denoise", "ltas_eq", "tag")}
    assert state.stages["denoise"].version == "4"
    assert is_current(job)  # unchanged code hashes: nothing to do


def test_changed_code_reruns_that_step_and_the_steps_it_reaches(
    catalog_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = job_for(catalog_dir, "a")
    run_plan(job, job_plan(job))
    before = load_state(Path(job.recording_dir))
    changed = _code_changed(monkeypatch, "denoise")
    assert not is_current(job)
    results = run_plan(job, job_plan(job))
    # denoise reruns under its new code; here its output is bit-identical, so ltas_eq's
    # content key holds, while tag (whose history input holds every earlier key) reruns.
    assert _outcomes(results) == {"ingest": "skipped", "denoise": "ran", "ltas_eq": "skipped", "tag": "ran"}
    after = load_state(Path(job.recording_dir))
    assert after.stages["denoise"].code_hash == changed
    assert after.stages["denoise"].key != before.stages["denoise"].key
    assert after.stages["tag"].inputs["history"] != before.stages["tag"].inputs["history"]
    assert is_current(job)


def test_changed_code_of_the_first_step_reruns_every_step_its_output_reaches(
    catalog_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    job = job_for(catalog_dir, "a")
    run_plan(job, job_plan(job))
    _code_changed(monkeypatch, "ingest")
    assert _outcomes(run_plan(job, job_plan(job))) == {
        "ingest": "ran", "denoise": "skipped", "ltas_eq": "skipped", "tag": "ran"}
    assert is_current(job)


def _retitle(catalog_dir: Path, title: str) -> None:
    catalog = catalog_dir / "catalog.csv"
    catalog.write_text(catalog.read_text(encoding="utf-8").replace("a,a.wav,Song A,", f"a,a.wav,{title},"),
                       encoding="utf-8")


def test_changed_catalog_metadata_retags_only(catalog_dir: Path) -> None:
    job = job_for(catalog_dir, "a")
    run_plan(job, job_plan(job))
    before = load_state(Path(job.recording_dir))
    _retitle(catalog_dir, "Song A (1907 take)")
    retitled = job_for(catalog_dir, "a")
    assert retitled.metadata["title"] == "Song A (1907 take)"
    assert not is_current(retitled)
    results = run_plan(retitled, job_plan(retitled))
    assert _outcomes(results) == {
        "ingest": "skipped", "denoise": "skipped", "ltas_eq": "skipped", "tag": "ran"}
    rec = Path(job.recording_dir)
    assert FLAC(rec / "a.flac")["TITLE"] == ["Song A (1907 take)"]
    premis = json.loads((rec / "a.premis.json").read_text(encoding="utf-8"))
    assert premis["object"]["metadata"]["title"] == "Song A (1907 take)"
    after = load_state(rec)
    assert after.stages["tag"].inputs["metadata"] != before.stages["tag"].inputs["metadata"]
    assert is_current(retitled) and not is_current(job)
