"""Jobs: the real-path settings a job carries, and per-run summaries that never clobber each other."""

import json
from pathlib import Path

from shellac.catalogs import load_catalog
from shellac.jobs import build_job, write_run_summary


def test_job_carries_the_source_root_and_the_opt_in(catalog_dir: Path) -> None:
    catalog = load_catalog(catalog_dir)
    job = build_job(catalog, catalog.get("a"))
    assert job.source_root == str((catalog_dir / "masters").resolve())
    assert job.allow_external_master is False


def test_concurrent_runs_keep_their_own_summaries(catalog_dir: Path) -> None:
    catalog = load_catalog(catalog_dir)
    first = write_run_summary(catalog, {"done": 1}, "run-one")
    second = write_run_summary(catalog, {"done": 2}, "run-two")
    third = write_run_summary(catalog, {"done": 3})  # no run id: a random one
    assert len({first, second, third}) == 3
    assert first.parent == catalog.config.collection_dir / "runs" and first.name.endswith("-run-one.json")
    assert [json.loads(p.read_text())["done"] for p in (first, second, third)] == [1, 2, 3]
