"""The collection flow: each recording not already current runs as its own flow run(s), then a summary."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.artifacts import create_progress_artifact, update_progress_artifact
from prefect.client.orchestration import get_client
from prefect.exceptions import FailedRun
from prefect.logging import get_run_logger
from prefect.runtime import flow_run
from prefect.states import Completed, Failed, State

from shellac.catalogs import Catalog, load_catalog
from shellac.engine.atomic import atomic_write_json
from shellac.engine.errors import ShellacError
from shellac.flows.fanout import CPU_DEPLOYMENT, GPU_DEPLOYMENT, FanOut, NoWorkerError, await_worker, overhead
from shellac.flows.params import Device, Seconds
from shellac.flows.recording import restore_recording
from shellac.flows.summary import artifact_key, publish_summary
from shellac.jobs import Selection, build_job, select_recordings, write_run_summary
from shellac.stages.chain import RecordingJob, is_current, job_plan
from shellac.stages.profiles import Plan
from shellac.stages.state import load_state


def _run_in_process(
    jobs: list[RecordingJob], progress_id: Any
) -> tuple[dict[str, str], dict[str, tuple[float, float]]]:
    """Outcome per recording, and (wall time of its sub-flow call, stage time) in seconds."""
    outcomes: dict[str, str] = {}
    timings: dict[str, tuple[float, float]] = {}
    for done, job in enumerate(jobs, start=1):
        # Timed around the whole sub-flow call: Prefect's flow-run creation and state
        # reports count as overhead, not only what happens inside the flow body.
        started = time.monotonic()
        final = restore_recording(job, return_state=True)
        wall = time.monotonic() - started
        if final.is_completed():
            result = final.result()
            outcomes[job.recording_id] = result["status"]
            if "stage_s" in result:
                timings[job.recording_id] = (wall, result["stage_s"])
        else:
            outcomes[job.recording_id] = "cancelled" if final.is_cancelled() else "failed"
        update_progress_artifact(progress_id, progress=100.0 * done / len(jobs))
    return outcomes, timings


def _stage_seconds(job: RecordingJob) -> float:
    """Time the recording's stages took in this run (their recorded durations), seconds."""
    state = load_state(Path(job.recording_dir))
    return state.total_duration_s() if state else 0.0


def _run_fanned_out(jobs: list[RecordingJob], progress_id: Any, cpu_deployment: str, gpu_deployment: str,
                    timeout_s: float, worker_wait_s: float) -> tuple[dict[str, str], dict[str, Any]]:
    logger = get_run_logger()
    fan = FanOut(jobs, cpu_deployment, gpu_deployment)
    with get_client(sync_client=True) as client:
        for deployment in sorted(fan.deployments()):
            pool = await_worker(client, deployment, worker_wait_s)
            logger.info("%s: work pool %r has a worker online", deployment, pool)
    before = {job.recording_id: _stage_seconds(job) for job in jobs}
    logger.info("dispatching %d recording(s) (%s); waiting up to %.0f s", len(jobs),
                ", ".join(sorted(fan.deployments())), timeout_s)
    result = fan.run(timeout_s=timeout_s, on_finished=lambda n, total: update_progress_artifact(
        progress_id, progress=100.0 * n / total))
    # Stage time of this run: what the recorded stage durations grew by (skipped stages add 0).
    stage_s = {job.recording_id: max(0.0, _stage_seconds(job) - before[job.recording_id]) for job in jobs}
    return result.outcomes, overhead(result.runs, stage_s)


def current_recordings(jobs: list[RecordingJob]) -> set[str]:
    """Ids of the jobs with nothing to do (``is_current``), each profile setting parsed once."""
    plans: dict[str, Plan | None] = {}
    current = set()
    for job in jobs:
        key = job.model_dump_json(include={"profile", "profile_dirs", "overrides"})
        if key not in plans:
            plans[key] = None
            with contextlib.suppress(ShellacError):  # the recording's own run reports it
                plans[key] = job_plan(job)
        plan = plans[key]
        if plan is not None and is_current(job, plan):
            current.add(job.recording_id)
    return current


def _write_catalog_errors(catalog: Catalog) -> None:
    catalog.config.collection_dir.mkdir(parents=True, exist_ok=True)
    atomic_write_json(
        catalog.config.collection_dir / "catalog-errors.json",
        [{"line": e.line, "id": e.id, "reason": e.reason} for e in catalog.errors],
    )


def final_state(summary: dict[str, Any], summary_path: Path) -> State[Any]:
    """Completed when every selected recording is done (or current); otherwise Failed, saying so.

    A scheduled run with a failed, cancelled or unfinished recording, or a rejected
    catalog row, shows red in the UI with "k of n recordings failed" and the summary's path.
    """
    outcomes = summary["outcomes"]
    n = summary["selected"]
    counts = {kind: sum(v == kind for v in outcomes.values())
              for kind in ("failed", "cancelled", "unfinished")}
    problems = [f"{counts['failed']} of {n} recordings failed"] if counts["failed"] else []
    problems += [f"{counts[k]} {k}" for k in ("cancelled", "unfinished") if counts[k]]
    if summary["catalog_errors"]:
        problems.append(f"{len(summary['catalog_errors'])} catalog row(s) rejected")
    if not problems:
        return Completed(message=f"{summary['done']} of {n} recordings done; summary: {summary_path}",
                         data=summary)
    message = f"{'; '.join(problems)}; summary: {summary_path}"
    return Failed(message=message, data=CollectionFailed(message, summary))


class CollectionFailed(FailedRun):
    """A collection run that ended Failed (a recording failed, was cancelled or is unfinished, or a
    catalog row was rejected), with its summary.

    The Failed state carries this rather than the bare summary: a worker's flow-run process raises
    the data of a Failed final state as an exception, and a dict cannot be raised (Prefect logs a
    ``TypeError`` traceback instead). As a ``FailedRun`` it is logged as one line
    (``shellac.flows.logs``).
    """

    def __init__(self, message: str, summary: dict[str, Any]) -> None:
        super().__init__(message)
        self.summary = summary

    def __reduce__(self) -> tuple[type[CollectionFailed], tuple[str, dict[str, Any]]]:
        return type(self), (str(self), self.summary)


class CollectionRunError(ShellacError):
    """A collection run ended without a summary (e.g. no worker for a pool); its message says why."""


def summary_of(final: State[Any]) -> dict[str, Any]:
    """The summary a collection run's final state carries; its error if it carries none."""
    data = final.result(raise_on_failure=False)
    if isinstance(data, CollectionFailed):
        return data.summary
    if isinstance(data, BaseException):
        raise data
    if not isinstance(data, dict):
        raise CollectionRunError(final.message or f"the collection run ended {final.type.value}")
    return data


@flow(name="restore-collection", flow_run_name="collection {catalog_dir}")
def restore_collection(
    catalog_dir: str,
    output: str | None = None,
    only: Selection = "all",
    models_dir: str | None = None,
    device: Device = "cpu",
    fan_out: bool = False,
    cpu_deployment: str = CPU_DEPLOYMENT,
    gpu_deployment: str = GPU_DEPLOYMENT,
    fan_out_timeout_s: Seconds = 24 * 3600.0,
    worker_wait_s: Seconds = 300.0,
) -> State[Any]:
    """Restore the recordings of the catalog in ``catalog_dir``; the run fails if any recording does.

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
        ``cpu``, ``cuda`` or ``cuda:N`` (a worker without that device refuses the recording).
    fan_out
        ``False``: recordings run one after another in this process, each as a sub-flow.
        ``True``: each becomes runs of the recording deployments (any worker of their pool
        takes each); this flow waits at most ``fan_out_timeout_s`` seconds for them.
    cpu_deployment, gpu_deployment
        Where the CPU stages and the GPU stages (``Stage.gpu``) of a fanned-out recording run.
    fan_out_timeout_s, worker_wait_s
        How long to wait for the recordings, and for a worker of each pool to be online (s).

    A recording whose state.json says every stage is current (same content keys) is
    not run at all: no flow run is created for it.
    """
    logger = get_run_logger()
    started = time.monotonic()
    catalog = load_catalog(Path(catalog_dir), output_root=Path(output) if output else None)
    name = catalog.config.name
    _write_catalog_errors(catalog)
    for err in catalog.errors:
        logger.warning("skipped %s", err)
    selected = select_recordings(catalog, only)
    progress_id = create_progress_artifact(
        progress=0.0, key=artifact_key(name, "progress"),
        description=f"Recordings of {name} processed in this run",
    )
    jobs = [build_job(catalog, rec, models_dir=Path(models_dir) if models_dir else None, device=device)
            for rec in selected]
    checked = time.monotonic()
    current = current_recordings(jobs)
    check_s = time.monotonic() - checked
    todo = [job for job in jobs if job.recording_id not in current]
    logger.info("%s: %d of %d recordings selected (--only %s); %d already current (checked in %.1f s), "
                "%d to run", name, len(selected), len(catalog.recordings), only, len(current), check_s,
                len(todo))
    outcomes: dict[str, str] = dict.fromkeys(sorted(current), "done")
    timings: dict[str, tuple[float, float]] = {}
    fan_out_cost: dict[str, Any] = {}
    if not todo:
        update_progress_artifact(progress_id, progress=100.0)
    elif fan_out:
        try:
            ran, fan_out_cost = _run_fanned_out(todo, progress_id, cpu_deployment, gpu_deployment,
                                                fan_out_timeout_s, worker_wait_s)
        except NoWorkerError as exc:
            logger.error("%s", exc)
            return Failed(message=str(exc))
        outcomes.update(ran)
    else:
        ran, timings = _run_in_process(todo, progress_id)
        outcomes.update(ran)
    summary = publish_summary(
        catalog, len(selected), outcomes, mode="fan-out" if fan_out else "in-process", timings=timings,
        run={"wall_s": round(time.monotonic() - started, 3), "current": len(current),
             "current_check_s": round(check_s, 3), "fan_out": fan_out_cost},
    )
    summary["run_summary"] = str(write_run_summary(catalog, summary, str(flow_run.id or "") or None))
    state = final_state(summary, catalog.config.collection_dir / "summary.json")
    (logger.info if state.is_completed() else logger.error)("%s: %s", name, state.message)
    return state
