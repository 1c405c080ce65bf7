"""The published dashboard: markdown that leads with counts, table rows with stages in chain order."""

import asyncio
import contextlib
import json
from pathlib import Path

import pytest
from prefect import flow
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import ArtifactCollectionFilter, ArtifactCollectionFilterKey

from shellac.catalogs import load_catalog
from shellac.engine.errors import ShellacError
from shellac.flows.summary import publish_summary
from shellac.report.dashboard import Dashboard
from shellac.stages.chain import job_plan, run_plan
from tests.stages.helpers import job_for

pytestmark = pytest.mark.usefixtures("prefect_api")


async def _latest(key: str) -> tuple[object, str | None]:
    async with get_client() as client:
        (art,) = await client.read_latest_artifacts(
            artifact_filter=ArtifactCollectionFilter(key=ArtifactCollectionFilterKey(any_=[key])))
    return art.data, art.description


def test_publish_summary_publishes_the_dashboard(catalog_dir: Path) -> None:
    for rec_id in ("a", "silent"):
        job = job_for(catalog_dir, rec_id)
        with contextlib.suppress(ShellacError):
            run_plan(job, job_plan(job))
    catalog = load_catalog(catalog_dir)
    summary = flow(name="publish-test")(publish_summary)(catalog, 2, {"a": "done", "silent": "failed"})
    assert (summary["done"], summary["failed"]) == (1, 1)

    board = Dashboard.of(catalog)
    markdown, description = asyncio.run(_latest("shellac-testcoll-summary"))
    assert markdown == board.markdown(unfinished=[])
    assert description == board.headline()
    assert str(markdown).startswith("# testcoll: 1 of 4 done, 1 failed, 2 pending; real-time factor ")

    data, _ = asyncio.run(_latest("shellac-testcoll-recordings"))
    rows = {r["id"]: r for r in (json.loads(data) if isinstance(data, str) else data)}
    assert rows["a"]["stages"] == "ingest:done denoise:done ltas_eq:done tag:done"  # chain order
    assert rows["silent"]["stages"] == "ingest:failed denoise:pending ltas_eq:pending tag:pending"
    assert rows["silent"]["error"].startswith("ingest: silent.wav is silent")
