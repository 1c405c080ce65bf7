"""The collection flow on the embedded API: one sub-flow per recording, failures isolated, reruns cached."""

import asyncio
import json
from pathlib import Path

import pytest
import soundfile as sf
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    ArtifactCollectionFilter,
    ArtifactCollectionFilterKey,
    ArtifactFilter,
    ArtifactFilterKey,
    FlowRunFilter,
)

from shellac.catalogs import load_catalog
from shellac.engine.fixity import sha256_file
from shellac.flows import restore_collection, summary_of
from shellac.jobs import build_job, collection_status, recording_dir
from shellac.stages.chain import is_current
from shellac.stages.fixity import accept_master
from tests.conftest import SR, harmonic_tone

pytestmark = pytest.mark.usefixtures("prefect_api")


async def _artifact_keys(prefix: str) -> set[str]:
    async with get_client() as client:
        arts = await client.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_=prefix))
        )
    return {a.key for a in arts if a.key}


async def _table_rows(key: str) -> list[dict[str, object]]:
    async with get_client() as client:
        art = await client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=[key])))
    data = art[0].data
    return json.loads(data) if isinstance(data, str) else data


async def _flow_run_states(name_like: str) -> dict[str, str]:
    from prefect.client.schemas.filters import FlowRunFilterName

    async with get_client() as client:
        runs = await client.read_flow_runs(
            flow_run_filter=FlowRunFilter(name=FlowRunFilterName(like_=name_like))
        )
    return {r.name: r.state.type.value for r in runs if r.state}


def test_collection_run_isolates_failures_and_caches(catalog_dir: Path) -> None:
    masters = {p.name: sha256_file(p) for p in (catalog_dir / "masters").iterdir()}
    final = restore_collection(catalog_dir=str(catalog_dir), return_state=True)
    summary = summary_of(final)
    assert {p.name: sha256_file(p) for p in (catalog_dir / "masters").iterdir()} == masters
    assert summary["done"] == 2 and summary["failed"] == 2
    # Failed recordings turn the collection run red, with the count and where the summary is.
    summary_path = catalog_dir.parent / "out" / "testcoll" / "summary.json"
    assert final.is_failed()
    assert final.message == f"2 of 4 recordings failed; 2 catalog row(s) rejected; summary: {summary_path}"
    assert summary["outcomes"] == {"a": "done", "b": "done", "silent": "failed", "gone": "failed"}
    assert len(summary["catalog_errors"]) == 2
    orch = summary["orchestration"]
    assert orch["recordings"] == 2 and 0 < orch["stage_s"] <= orch["chain_wall_s"]
    assert orch["overhead_s"] == round(orch["chain_wall_s"] - orch["stage_s"], 3)
    # The whole run's overhead counts everything outside the stages, so it is the larger one.
    assert orch["run_wall_s"] > orch["chain_wall_s"] and orch["run_overhead_s"] > orch["overhead_s"]
    assert orch["current"] == 0

    catalog = load_catalog(catalog_dir)
    status = {s.recording.id: s for s in collection_status(catalog)}
    assert "master file not found" in status["gone"].state.error
    assert (status["a"].directory / "a.flac").is_file()
    written = json.loads((catalog.config.collection_dir / "summary.json").read_text())
    assert written["failed"] == 2

    states = asyncio.run(_flow_run_states("testcoll/%"))
    assert states["testcoll/a"] == "COMPLETED" and states["testcoll/gone"] == "FAILED"
    keys = asyncio.run(_artifact_keys("shellac-testcoll-%"))
    assert {"shellac-testcoll-recordings", "shellac-testcoll-summary", "shellac-testcoll-progress"} <= keys

    rows = {r["id"]: r for r in asyncio.run(_table_rows("shellac-testcoll-recordings"))}
    assert rows["a"]["audio_s"] == 4.0
    assert rows["a"]["rtf"] == pytest.approx(rows["a"]["duration_s"] / 4.0, abs=2e-3)
    assert rows["gone"]["rtf"] is None and rows["gone"]["status"] == "failed"
    assert written["mode"] == "in-process"

    # Second run over failed recordings only: 'a' is not even visited.
    again = summary_of(restore_collection(catalog_dir=str(catalog_dir), only="failed", return_state=True))
    assert again["selected"] == 2 and set(again["outcomes"]) == {"silent", "gone"}


def test_current_recordings_get_no_flow_run(catalog_dir: Path) -> None:
    """A rerun decides from state.json that a finished recording has nothing to do and
    creates no flow run for it; a changed master makes it run again."""
    catalog_dir.joinpath("catalog.csv").write_text(
        "id,file,title,content\na,a.wav,Song A,piano\nb,b.flac,Song B,piano\n", encoding="utf-8")
    catalog_dir.joinpath("collection.toml").write_text(
        catalog_dir.joinpath("collection.toml").read_text().replace("testcoll", "noopcoll"))
    first = restore_collection(catalog_dir=str(catalog_dir), return_state=True)
    assert first.is_completed() and summary_of(first)["outcomes"] == {"a": "done", "b": "done"}
    runs_before = asyncio.run(_flow_run_states("noopcoll/%"))
    catalog = load_catalog(catalog_dir)
    assert all(is_current(build_job(catalog, rec)) for rec in catalog.recordings)

    again = summary_of(restore_collection(catalog_dir=str(catalog_dir), return_state=True))
    assert again["outcomes"] == {"a": "done", "b": "done"} and again["orchestration"]["current"] == 2
    assert asyncio.run(_flow_run_states("noopcoll/%")) == runs_before  # no new recording run

    master = catalog_dir / "masters" / "a.wav"
    master.chmod(0o644)
    sf.write(master, harmonic_tone(3.5, seed=4), SR, subtype="PCM_16")  # a new transfer of 'a'
    assert not is_current(build_job(catalog, catalog.get("a")))
    # A changed master is a fixity alarm: 'a' runs again and fails; 'b' is still left alone.
    third = restore_collection(catalog_dir=str(catalog_dir), return_state=True)
    assert third.is_failed() and summary_of(third)["outcomes"] == {"a": "failed", "b": "done"}
    assert summary_of(third)["orchestration"]["current"] == 1
    # Once the operator accepts the new transfer, the next run restores it.
    accept_master(recording_dir(catalog, catalog.get("a")), master)
    fourth = summary_of(restore_collection(catalog_dir=str(catalog_dir), return_state=True))
    assert fourth["outcomes"] == {"a": "done", "b": "done"}
    assert fourth["orchestration"]["current"] == 1 and fourth["orchestration"]["recordings"] == 1
