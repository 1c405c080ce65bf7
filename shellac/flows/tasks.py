"""Prefect task wrapping one stage step: retries for transient faults only, GPU slots, OOM fallback."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.logging import get_run_logger
from prefect.runtime import task_run as current_task_run
from prefect.states import Completed, Failed, State

from shellac.engine.errors import ParameterError, ShellacError, TransientError
from shellac.flows.gpu import gpu_slot, is_out_of_memory, oom_overrides, require_device
from shellac.stages.base import Stage
from shellac.stages.chain import RecordingJob, describe_error, execute_step, job_plan
from shellac.stages.registry import get_stage
from shellac.stages.state import load_state

RETRIES = 2
# Seconds before the first and second retry; "$SHELLAC_RETRY_DELAYS_S=0,0" for tests.
RETRY_DELAYS_ENV = "SHELLAC_RETRY_DELAYS_S"
DEFAULT_RETRY_DELAYS_S = (5.0, 30.0)


def retry_delays() -> list[float]:
    """Delays before each retry, seconds, from ``$SHELLAC_RETRY_DELAYS_S`` or the defaults."""
    raw = os.environ.get(RETRY_DELAYS_ENV)
    if not raw:
        return list(DEFAULT_RETRY_DELAYS_S)
    try:
        delays = [float(x) for x in raw.split(",") if x.strip()]
    except ValueError as exc:
        raise ParameterError(f"${RETRY_DELAYS_ENV}={raw!r}: expected seconds like '5,30'") from exc
    if len(delays) != RETRIES or min(delays) < 0:
        raise ParameterError(f"${RETRY_DELAYS_ENV}={raw!r}: expected {RETRIES} delays >= 0")
    return delays


def is_transient(task_: Task[Any, Any], task_run: TaskRun, state: State[Any]) -> bool:
    """Retry I/O faults and device out-of-memory; never bad input, missing models or bugs."""
    try:
        state.result(raise_on_failure=True)
    except TransientError:
        return True
    except ShellacError:
        return False
    except (OSError, MemoryError):
        return True
    except Exception as exc:  # torch.OutOfMemoryError has no stable import path across builds
        return is_out_of_memory(f"{type(exc).__name__}: {exc}")
    return False


def _retry_job(job: RecordingJob, stage: Stage, params: dict[str, Any], attempt: int) -> RecordingJob:
    """The job for retry ``attempt`` after an out-of-memory: the stage does less work at once."""
    smaller = oom_overrides(stage, params, attempt)
    if not smaller:
        return job
    overrides = {k: dict(v) for k, v in job.overrides.items()}
    overrides.setdefault(stage.name, {}).update(smaller)
    return job.model_copy(update={"overrides": overrides})


# Skipping is decided from content hashes recorded in state.json (see stages.chain), which
# stay valid across flow runs and without the Prefect database; Prefect's own result cache
# would replay a manifest even after its files were deleted, so it is off.
@task(
    name="stage",
    retries=RETRIES,
    retry_delay_seconds=list(DEFAULT_RETRY_DELAYS_S),
    retry_condition_fn=is_transient,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def run_stage(job: RecordingJob, index: int) -> State[Any]:
    """Run step ``index`` of the job's plan; a skipped step ends in a state named 'Cached'.

    GPU stages hold a slot of the ``gpu`` global concurrency limit while they run on
    an accelerator (a CUDA device this worker lacks is refused before the slot is
    asked for). A retry after an out-of-memory runs the stage with the smaller work
    its record declares (``Stage.oom_fallback``); the parameters used are recorded.
    Expected failures (bad input, missing models: ``ShellacError`` that is not
    transient) end the task Failed with their one-line reason, without a traceback.
    """
    logger = get_run_logger()
    plan = job_plan(job)
    step = plan.steps[index]
    stage = get_stage(step.stage)
    attempt = current_task_run.get_run_count() - 1
    if attempt > 0:
        state = load_state(Path(job.recording_dir))
        record = state.stages.get(step.stage) if state else None
        if record is not None and is_out_of_memory(record.error):
            retry_job = _retry_job(job, stage, step.params.model_dump(mode="json"), attempt)
            if retry_job is not job:
                logger.warning("%s: out of memory last time; retrying with %s",
                               step.stage, retry_job.overrides[step.stage])
                job, plan = retry_job, job_plan(retry_job)
    try:
        require_device(job.device, [stage])
        with gpu_slot(stage, job.device) as held:
            if held:
                logger.info("%s: holding a GPU slot on %s", step.stage, job.device)
            result = execute_step(job, plan, index)
    except TransientError:
        raise
    except ShellacError as exc:
        logger.error("%s: %s", step.stage, describe_error(exc))
        return Failed(message=f"{step.stage}: {describe_error(exc)}")
    data = {"stage": result.stage, "outcome": result.outcome, "key": result.key,
            "duration_s": result.duration_s}
    if result.outcome == "skipped":
        logger.info("%s: unchanged inputs, parameters and model; skipped", result.stage)
        return Completed(data=data, name="Cached", message="unchanged content key; skipped")
    logger.info("%s: done in %.2f s", result.stage, result.duration_s)
    return Completed(data=data)
