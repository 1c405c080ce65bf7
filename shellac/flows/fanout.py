"""Fan-out: one deployment run of restore-recording per recording, so any worker can take each one."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from uuid import UUID

from prefect.client.orchestration import get_client
from prefect.deployments import run_deployment

from shellac.stages.chain import RecordingJob

# The deployment prefect.yaml defines for the per-recording flow ("<flow name>/<deployment name>").
RECORDING_DEPLOYMENT = "restore-recording/restore-recording"


@dataclass(frozen=True)
class Dispatched:
    """A recording handed to the recording deployment, and how its flow run ended."""

    recording_id: str
    flow_run_id: UUID
    state: str  # Prefect state type: COMPLETED, FAILED, CRASHED, CANCELLED, ... or PENDING/RUNNING


def dispatch(jobs: Sequence[RecordingJob], deployment: str = RECORDING_DEPLOYMENT) -> dict[str, UUID]:
    """Create one flow run of ``deployment`` per job, without waiting (recording id -> flow run id).

    The runs are linked to the calling flow run as its sub-flows, so the UI shows them
    under the collection run, while each can be retried or cancelled on its own.
    """
    runs: dict[str, UUID] = {}
    for job in jobs:
        flow_run = run_deployment(
            name=deployment,
            parameters={"job": job.model_dump(mode="json")},
            flow_run_name=f"{job.collection}/{job.recording_id}",
            timeout=0,
            as_subflow=True,
        )
        runs[job.recording_id] = flow_run.id
    return runs


def wait_for(
    runs: dict[str, UUID],
    *,
    timeout_s: float,
    poll_s: float = 2.0,
    on_finished: Callable[[int, int], None] | None = None,
) -> list[Dispatched]:
    """Poll the API until every run is final or ``timeout_s`` seconds have passed.

    Runs still going at the deadline are reported with their current state (they keep
    running on their workers; the next collection run sees their state.json).
    ``on_finished(done, total)`` is called whenever more runs have finished.
    """
    deadline = time.monotonic() + timeout_s
    final: dict[str, str] = {}
    latest: dict[str, str] = {rid: "SCHEDULED" for rid in runs}
    with get_client(sync_client=True) as client:
        while True:
            for rid, run_id in runs.items():
                if rid in final:
                    continue
                state = client.read_flow_run(run_id).state
                if state is None:
                    continue
                latest[rid] = state.type.value
                if state.is_final():
                    final[rid] = state.type.value
                    if on_finished is not None:
                        on_finished(len(final), len(runs))
            if len(final) == len(runs) or time.monotonic() >= deadline:
                break
            time.sleep(poll_s)
    return [Dispatched(rid, runs[rid], final.get(rid, latest[rid])) for rid in runs]
