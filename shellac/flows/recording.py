"""The per-recording flow: hold the recording's lock, run its plan (or a segment of it), a task per stage."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.exceptions import FailedRun
from prefect.logging import get_run_logger
from prefect.states import Completed, Failed, State

from shellac.engine.errors import ShellacError
from shellac.flows.gpu import require_device
from shellac.flows.logs import one_line_failures
from shellac.flows.tasks import retry_delays, run_stage
from shellac.stages.chain import (
    RecordingJob,
    begin_recording,
    check_requirements,
    describe_error,
    finish_recording,
    guard_writes,
    job_plan,
)
from shellac.stages.registry import get_stage
from shellac.stages.state import RecordingBusyError, recording_lock

# Name of the Completed state of a run that found its recording locked by another run.
BUSY = "Busy"

# Loaded by a worker's flow-run process before the flow runs: expected failures stay one line.
one_line_failures()


class StageRejected(ShellacError):
    """A stage task ended Failed with an expected reason, already recorded in state.json."""


@flow(name="restore-recording", flow_run_name="{job.collection}/{job.recording_id}")
def restore_recording(job: RecordingJob, first_step: int = 0, last_step: int | None = None) -> State[Any]:
    """Run one recording through its profile's chain; failures are recorded in state.json.

    Parameters
    ----------
    job
        The recording: master, work directory, profile, overrides, device.
    first_step, last_step
        The segment of the plan to run (indexes, both included; ``last_step=None``: to the
        end). A fanned-out recording runs as segments on the pools their stages declare;
        only the segment that ends the plan marks the recording done.

    Returns a Completed state whose data is the outcome (``status``, per-stage results,
    ``wall_s`` and ``stage_s`` in seconds), named ``Busy`` when another process holds the
    recording; a Failed state with the one-line reason when a stage failed on its input.
    """
    logger = get_run_logger()
    guard_writes(job)  # before the lock file is made: nothing is ever written among the masters
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(recording_lock(Path(job.recording_dir)))
        except RecordingBusyError as exc:
            logger.warning("%s", exc)
            return Completed(name=BUSY, message=str(exc),
                             data={"recording_id": job.recording_id, "status": "busy", "reason": str(exc)})
        started = time.monotonic()
        outcomes: list[dict[str, Any]] = []
        try:
            plan = job_plan(job)
            last = len(plan.steps) - 1 if last_step is None else min(last_step, len(plan.steps) - 1)
            begin_recording(job, plan)
            # A missing CUDA device, model or reference is refused here, before any stage runs.
            require_device(job.device, [get_stage(s.stage) for s in plan.steps[first_step:last + 1]])
            check_requirements(job, plan, range(first_step, last + 1))
            delays = retry_delays()
            for index in range(first_step, last + 1):
                step = plan.steps[index]
                stage_task = run_stage.with_options(task_run_name=f"{job.recording_id}:{step.stage}",
                                                    retry_delay_seconds=delays)
                # The task returns a State (named "Cached" when skipped); keep its data.
                final = stage_task(job, index, return_state=True)
                try:
                    outcomes.append(final.result())
                except FailedRun:  # the task returned its reason (a raised bug re-raises as itself)
                    raise StageRejected(final.message or f"{step.stage} failed") from None
        except ShellacError as exc:
            # Expected (bad input, missing model, no device): one line, no traceback.
            state = finish_recording(job, error=exc)
            reason = state.error or describe_error(exc)
            logger.error("%s failed: %s", job.recording_id, reason)
            return Failed(message=f"{job.recording_id}: {reason}")
        except BaseException as exc:
            # Bugs keep their traceback; a cancellation or a stopped worker is recorded as cancelled.
            state = finish_recording(job, error=exc)
            log = logger.warning if state.status == "cancelled" else logger.error
            log("%s %s: %s", job.recording_id, state.status, state.error or describe_error(exc))
            raise
        ends_plan = last == len(plan.steps) - 1
        status = finish_recording(job).status if ends_plan else "running"
    # Wall time of the segment against the time the stages themselves report: the difference
    # is what orchestration (tasks, state writes, hashing for cache keys) costs this recording.
    wall = time.monotonic() - started
    stage_s = sum(float(o["duration_s"] or 0.0) for o in outcomes)
    return Completed(data={"recording_id": job.recording_id, "status": status, "stages": outcomes,
                           "wall_s": round(wall, 3), "stage_s": round(stage_s, 3)})
