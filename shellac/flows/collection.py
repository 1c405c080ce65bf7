"""The collection flow: each recording its own flow run (in-process or fanned out), then a summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.logging import get_run_logger
from prefect.runtime import flow_run

from shellac.catalogs import Catalog, load_catalog
from shellac.engine.atomic import atomic_write_json
from shellac.flows.fanout import RECORDING_DEPLOYMENT, dispatch, wait_for
from shellac.flows.params import Device, Seconds
from shellac.flows.recording import restore_recording
from shellac.flows.summary import artifact_key, publish_summary
from shellac.jobs import Selection, build_job, select_recordings, write_run_summary
from shellac.stages.chain import RecordingJob
from shellac.stages.state import read_state


def _outcome_from_state(job: RecordingJob, prefect_state: str) -> str:
    """done / failed / busy / unfinished, from the run's final Prefect state and its state.json."""
    if prefect_state != "COMPLETED":
        return "failed" if prefect_state in ("FAILED", "CRASHED", "CANCELLED") else "unfinished"
    state = read_state(Path(job.recording_dir), job.recording_id)
    # A completed run whose state.json is not 'done' found the recording busy (locked elsewhere).
    return "done" if state is not None and state.status == "done" else "busy"


def _run_in_process(
    jobs: list[RecordingJob], progress_id: Any
) -> tuple[dict[str, str], dict[str, tuple[float, float]]]:
    """Outcome per recording, and (chain wall time, stage time) in seconds per completed one."""
    outcomes: dict[str, str] = {}
    timings: dict[str, tuple[float, float]] = {}
    for done, job in enumerate(jobs, start=1):
        final = restore_recording(job, return_state=True)
        if final.is_completed():
            result = final.result()
            outcomes[job.recording_id] = result["status"]
            if "wall_s" in result:
                timings[job.recording_id] = (result["wall_s"], result["stage_s"])
        else:
            outcomes[job.recording_id] = "failed"
        update_progress_artifact(progress_id, progress=100.0 * done / len(jobs))
    return outcomes, timings


def _run_fanned_out(jobs: list[RecordingJob], progress_id: Any, deployment: str,
                    timeout_s: float) -> dict[str, str]:
    logger = get_run_logger()
    runs = dispatch(jobs, deployment)
    logger.info("dispatched %d recording run(s) to %s; waiting up to %.0f s", len(runs), deployment,
                timeout_s)
    finished = wait_for(
        runs, timeout_s=timeout_s,
        on_finished=lambda n, total: update_progress_artifact(progress_id, progress=100.0 * n / total),
    )
    by_id = {job.recording_id: job for job in jobs}
    return {d.recording_id: _outcome_from_state(by_id[d.recording_id], d.state) for d in finished}


def _write_catalog_errors(catalog: Catalog) -> None:
    catalog.config.collection_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(
        catalog.config.collection_dir / "catalog-errors.json",
        [{"line": e.line, "id": e.id, "reason": e.reason} for e in catalog.errors],
    )


@flow(name="restore-collection", flow_run_name="collection {catalog_dir}")
def restore_collection(
    catalog_dir: str,
    output: str | None = None,
    only: Selection = "all",
    models_dir: str | None = None,
    device: Device = "cpu",
    fan_out: bool = False,
    recording_deployment: str = RECORDING_DEPLOYMENT,
    fan_out_timeout_s: Seconds = 24 * 3600.0,
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
        ``cpu``, ``cuda`` or ``cuda:N``.
    recording_deployment, fan_out_timeout_s
        Where recordings fan out to, and how long to wait for them (seconds).
    fan_out
        ``False``: recordings run one after another in this process, each as a sub-flow.
        ``True``: each becomes a run of ``recording_deployment`` (any worker of its pool
        takes it); this flow waits at most ``fan_out_timeout_s`` seconds for them.
    """
    logger = get_run_logger()
    catalog = load_catalog(Path(catalog_dir), output_root=Path(output) if output else None)
    name = catalog.config.name
    _write_catalog_errors(catalog)
    for err in catalog.errors:
        logger.warning("skipped %s", err)
    selected = select_recordings(catalog, only)
    logger.info("%s: %d of %d recordings selected (--only %s)",
                name, len(selected), len(catalog.recordings), only)
    progress_id = create_progress_artifact(
        progress=0.0, key=artifact_key(name, "progress"),
        description=f"Recordings of {name} processed in this run",
    )
    jobs = [build_job(catalog, rec, models_dir=Path(models_dir) if models_dir else None, device=device)
            for rec in selected]
    timings: dict[str, tuple[float, float]] = {}
    if not jobs:
        outcomes: dict[str, str] = {}
        update_progress_artifact(progress_id, progress=100.0)
    elif fan_out:
        outcomes = _run_fanned_out(jobs, progress_id, recording_deployment, fan_out_timeout_s)
    else:
        outcomes, timings = _run_in_process(jobs, progress_id)
    summary = publish_summary(catalog, len(selected), outcomes,
                              mode="fan-out" if fan_out else "in-process", timings=timings)
    summary["run_summary"] = str(write_run_summary(catalog, summary, str(flow_run.id or "") or None))
    return summary
