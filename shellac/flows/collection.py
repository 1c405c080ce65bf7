"""The collection flow: every selected recording of a catalog as its own sub-flow run, then a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import (
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    update_progress_artifact,
)
from prefect.logging import get_run_logger

from shellac.catalogs import load_catalog
from shellac.engine.atomic import atomic_write_json
from shellac.flows.recording import restore_recording
from shellac.jobs import Selection, build_job, collection_status, select_recordings
from shellac.stages.state import utc_now


def _artifact_key(name: str, what: str) -> str:
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return f"shellac-{slug}-{what}"


@flow(name="restore-collection", flow_run_name="collection {catalog_dir}")
def restore_collection(
    catalog_dir: str,
    output: str | None = None,
    only: Selection = "all",
    models_dir: str | None = None,
    device: str = "cpu",
) -> dict[str, Any]:
    """Restore the recordings of the catalog in ``catalog_dir``.

    Parameters
    ----------
    catalog_dir
        Folder with catalog.csv and collection.toml.
    output
        Output root overriding collection.toml's ``output_root``.
    only
        ``all`` (finished stages are skipped by their content keys), ``pending``
        (recordings not yet done) or ``failed`` (recordings whose last run failed).
    models_dir
        Models directory overriding collection.toml and $SHELLAC_MODELS_DIR.
    device
        ``cpu`` or ``cuda``.
    """
    logger = get_run_logger()
    catalog = load_catalog(Path(catalog_dir), output_root=Path(output) if output else None)
    name = catalog.config.name
    catalog.config.collection_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(
        catalog.config.collection_dir / "catalog-errors.json",
        [{"line": e.line, "id": e.id, "reason": e.reason} for e in catalog.errors],
    )
    for err in catalog.errors:
        logger.warning("skipped %s", err)
    selected = select_recordings(catalog, only)
    logger.info("%s: %d of %d recordings selected (--only %s)",
                name, len(selected), len(catalog.recordings), only)
    progress_id = create_progress_artifact(
        progress=0.0, key=_artifact_key(name, "progress"),
        description=f"Recordings of {name} processed in this run",
    )
    outcomes: dict[str, str] = {}
    for done, recording in enumerate(selected, start=1):
        job = build_job(catalog, recording, models_dir=Path(models_dir) if models_dir else None,
                        device=device)
        final = restore_recording(job, return_state=True)
        outcomes[recording.id] = final.result()["status"] if final.is_completed() else "failed"
        update_progress_artifact(progress_id, progress=100.0 * done / max(1, len(selected)))
    if not selected:
        update_progress_artifact(progress_id, progress=100.0)

    rows = []
    for entry in collection_status(catalog):
        state = entry.state
        rows.append({
            "id": entry.recording.id,
            "title": entry.recording.title,
            "profile": state.profile if state else "",
            "status": entry.status,
            "stages": " ".join(f"{k}:{v.status}" for k, v in state.stages.items()) if state else "",
            "duration_s": round(state.total_duration_s(), 2) if state else 0.0,
            "error": (state.error or "") if state else "",
        })
    create_table_artifact(rows, key=_artifact_key(name, "recordings"),
                          description=f"Recordings of collection {name}")
    failed = [r for r in rows if r["status"] == "failed"]
    summary = {
        "collection": name,
        "finished": utc_now(),
        "selected": len(selected),
        "done": sum(r["status"] == "done" for r in rows),
        "failed": len(failed),
        "busy": sorted(k for k, v in outcomes.items() if v == "busy"),
        "catalog_errors": [str(e) for e in catalog.errors],
        "outcomes": outcomes,
    }
    lines = [f"# {name}", "", f"{summary['done']} of {len(rows)} recordings done, "
             f"{len(failed)} failed, {len(catalog.errors)} catalog row(s) rejected.", ""]
    lines += [f"- **{r['id']}** failed: {r['error']}" for r in failed]
    lines += [f"- catalog: {e}" for e in catalog.errors]
    create_markdown_artifact("\n".join(lines), key=_artifact_key(name, "summary"),
                             description=f"Run summary of {name}")
    atomic_write_json(catalog.config.collection_dir / "summary.json", summary)
    return summary
