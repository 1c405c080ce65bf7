"""Prefect task wrapping one stage step, with retries for transient faults only."""

from __future__ import annotations

from typing import Any

from prefect import Task, task
from prefect.cache_policies import NO_CACHE
from prefect.client.schemas.objects import TaskRun
from prefect.logging import get_run_logger
from prefect.states import Completed, State

from shellac.engine.errors import ShellacError, TransientError
from shellac.stages.chain import RecordingJob, execute_step, job_plan


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
        return "out of memory" in str(exc).lower()
    return False


# Skipping is decided from content hashes recorded in state.json (see stages.chain), which
# stay valid across flow runs and without the Prefect database; Prefect's own result cache
# would replay a manifest even after its files were deleted, so it is off.
@task(
    name="stage",
    retries=2,
    retry_delay_seconds=[5, 30],
    retry_condition_fn=is_transient,
    cache_policy=NO_CACHE,
    persist_result=False,
)
def run_stage(job: RecordingJob, index: int) -> State[Any]:
    """Run step ``index`` of the job's plan; a skipped step ends in a state named 'Cached'."""
    plan = job_plan(job)
    result = execute_step(job, plan, index)
    logger = get_run_logger()
    data = {"stage": result.stage, "outcome": result.outcome, "key": result.key,
            "duration_s": result.duration_s}
    if result.outcome == "skipped":
        logger.info("%s: unchanged inputs, parameters and model; skipped", result.stage)
        return Completed(data=data, name="Cached", message="unchanged content key; skipped")
    logger.info("%s: done in %.2f s", result.stage, result.duration_s)
    return Completed(data=data)
