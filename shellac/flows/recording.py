"""The per-recording flow: hold the recording's lock and run its plan, one task per stage."""

from __future__ import annotations

import contextlib
import time
from pathlib import Path
from typing import Any

from prefect import flow
from prefect.logging import get_run_logger

from shellac.flows.tasks import retry_delays, run_stage
from shellac.stages.chain import (
    RecordingJob,
    begin_recording,
    describe_error,
    finish_recording,
    guard_writes,
    job_plan,
)
from shellac.stages.state import RecordingBusyError, recording_lock


@flow(name="restore-recording", flow_run_name="{job.collection}/{job.recording_id}")
def restore_recording(job: RecordingJob) -> dict[str, Any]:
    """Run one recording through its profile's chain; failures are recorded, then raised.

    A recording another process is working on is left alone: the flow returns
    status ``busy`` without touching its state.
    """
    logger = get_run_logger()
    guard_writes(job)  # before the lock file is made: nothing is ever written among the masters
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(recording_lock(Path(job.recording_dir)))
        except RecordingBusyError as exc:
            logger.warning("%s", exc)
            return {"recording_id": job.recording_id, "status": "busy", "reason": str(exc)}
        try:
            started = time.monotonic()
            plan = job_plan(job)
            begin_recording(job, plan)
            outcomes = []
            delays = retry_delays()
            for index, step in enumerate(plan.steps):
                stage_task = run_stage.with_options(task_run_name=f"{job.recording_id}:{step.stage}",
                                                    retry_delay_seconds=delays)
                # The task returns a State (named "Cached" when skipped); keep its data.
                outcomes.append(stage_task(job, index).result())
        except Exception as exc:
            state = finish_recording(job, error=exc)
            logger.error("%s failed: %s", job.recording_id, state.error or describe_error(exc))
            raise
        state = finish_recording(job)
    # Wall time of the chain against the time the stages themselves report: the difference
    # is what orchestration (tasks, state writes, hashing for cache keys) costs this recording.
    wall = time.monotonic() - started
    stage_s = sum(float(o["duration_s"] or 0.0) for o in outcomes)
    return {"recording_id": job.recording_id, "status": state.status, "stages": outcomes,
            "wall_s": round(wall, 3), "stage_s": round(stage_s, 3)}
