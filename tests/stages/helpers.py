"""Build jobs for the test catalog without Prefect."""

from pathlib import Path
from typing import Any

from shellac.catalogs import load_catalog
from shellac.jobs import build_job
from shellac.stages.chain import RecordingJob


def job_for(catalog_dir: Path, rec_id: str, **overrides: Any) -> RecordingJob:
    catalog = load_catalog(catalog_dir)
    job = build_job(catalog, catalog.get(rec_id))
    return job.model_copy(update=overrides) if overrides else job
