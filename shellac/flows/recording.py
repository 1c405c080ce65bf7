"""The per-recording flow: hold the recording's lock and run its plan, one task per stage."""

from __future__ import annotations

import contextlib
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
    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(recording_lock(Path(job.recording_dir)))
        except RecordingBusyError as exc:
            logger.warning("%s", exc)
            return {"recording_id": job.recording_id, "status": "busy", "reason": str(exc)}
        try:
            plan = job_plan(job)
            begin_recording(job, plan)
            outcomes = []
            delays = retry_delays()
            for index, step in enumerate(plan.steps):
                stage_task = run_stage.with_options(task_run_name=f"{job.recording_id}:{step.stage}",
                                                    retry_delay_seconds=delays)
                outcomes.append(stage_task(job, index))
        except Exception as exc:
            state = finish_recording(job, error=exc)
            logger.error("%s failed: %s", job.recording_id, state.error or describe_error(exc))
            raise
        state = finish_recording(job)
    return {"recording_id": job.recording_id, "status": state.status, "stages": outcomes}
