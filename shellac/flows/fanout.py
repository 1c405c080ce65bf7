"""Fan-out: each recording's plan as deployment runs on the pools its stages declare, followed to the end."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from prefect.client.orchestration import SyncPrefectClient, get_client
from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId
from prefect.client.schemas.objects import FlowRun
from prefect.deployments import run_deployment
from prefect.states import Cancelled, Cancelling

from shellac.engine.errors import ShellacError
from shellac.flows.recording import BUSY
from shellac.stages.base import Stage
from shellac.stages.chain import RecordingJob, job_plan
from shellac.stages.registry import get_stage

# The deployments prefect.yaml defines for the per-recording flow ("<flow name>/<deployment name>").
GPU_DEPLOYMENT = "restore-recording/restore-recording"
CPU_DEPLOYMENT = "restore-recording/restore-recording-cpu"
# Runs fetched per API call while polling.
_PAGE = 200


class NoWorkerError(ShellacError):
    """No worker of a deployment's work pool came online within the bounded wait."""


@dataclass(frozen=True)
class Segment:
    """Consecutive steps of a plan (``first``..``last``, included) run as one flow run of ``deployment``."""

    first: int
    last: int
    deployment: str


def route(stages: Sequence[Stage], cpu_deployment: str, gpu_deployment: str) -> list[Segment]:
    """Split a plan into segments by the pool each stage declares (``Stage.gpu``).

    CPU stages go to ``cpu_deployment`` and GPU stages to ``gpu_deployment``, except CPU
    stages lying between two GPU stages (e.g. LTAS-EQ between separation and generative
    EQ): they stay on the GPU worker, since a hand-over costs a flow run's start-up, more
    than such a stage takes. Neighbouring segments on the same deployment are merged, so
    a CPU-only plan, or both names set to one deployment, gives a single run.
    """
    gpu_at = [i for i, s in enumerate(stages) if s.gpu]
    segments: list[Segment] = []
    for index, _ in enumerate(stages):
        on_gpu = bool(gpu_at) and gpu_at[0] <= index <= gpu_at[-1]
        deployment = gpu_deployment if on_gpu else cpu_deployment
        if segments and segments[-1].deployment == deployment:
            segments[-1] = Segment(segments[-1].first, index, deployment)
        else:
            segments.append(Segment(index, index, deployment))
    return segments


@dataclass
class Tracked:
    """One recording's progress through its segments, and the flow runs that carried them."""

    job: RecordingJob
    segments: list[Segment]
    current: int = 0
    run_id: UUID | None = None
    runs: list[FlowRun] = field(default_factory=list)
    outcome: str | None = None  # done, failed, cancelled, busy; None while going

    @property
    def segment(self) -> Segment:
        """The segment being run now."""
        return self.segments[self.current]


@dataclass(frozen=True)
class FanOutResult:
    """Outcome per recording, the flow runs each took (with their timestamps) and the runs made."""

    outcomes: dict[str, str]
    runs: dict[str, list[FlowRun]]


def pool_of(client: SyncPrefectClient, deployment: str) -> str:
    """The work pool of ``deployment`` (a clear error if it does not exist)."""
    from prefect.exceptions import ObjectNotFound

    try:
        dep = client.read_deployment_by_name(deployment)
    except ObjectNotFound as exc:
        raise NoWorkerError(f"deployment {deployment!r} does not exist on the server: "
                            "`prefect --no-prompt deploy --all` from the checkout") from exc
    if not dep.work_pool_name:
        raise NoWorkerError(f"deployment {deployment!r} has no work pool")
    return dep.work_pool_name


def is_online(worker: Any) -> bool:
    """Whether the server counts a worker as online (it has heartbeated recently)."""
    return str(getattr(worker.status, "value", worker.status)).upper() == "ONLINE"


def await_worker(client: SyncPrefectClient, deployment: str, wait_s: float, poll_s: float = 2.0) -> str:
    """Wait at most ``wait_s`` seconds for an online worker of ``deployment``'s pool; return the pool.

    Raises ``NoWorkerError`` naming the pool and the command that starts a worker for it,
    instead of leaving runs scheduled for hours with nobody to take them.
    """
    pool = pool_of(client, deployment)
    deadline = time.monotonic() + wait_s
    while True:
        if any(is_online(w) for w in client.read_workers_for_work_pool(pool)):
            return pool
        if time.monotonic() >= deadline:
            raise NoWorkerError(
                f"no worker of work pool {pool!r} (deployment {deployment}) came online within "
                f"{wait_s:.0f} s; start one: `prefect worker start --pool {pool}` (docs/operations.md)")
        time.sleep(poll_s)


class FanOut:
    """Dispatch every recording's first segment, then each next one as the previous completes."""

    def __init__(self, jobs: Sequence[RecordingJob], cpu_deployment: str, gpu_deployment: str) -> None:
        self.tracked: dict[str, Tracked] = {}
        for job in jobs:
            stages = [get_stage(step.stage) for step in job_plan(job).steps]
            self.tracked[job.recording_id] = Tracked(job, route(stages, cpu_deployment, gpu_deployment))

    def deployments(self) -> set[str]:
        """Every deployment some segment goes to."""
        return {s.deployment for t in self.tracked.values() for s in t.segments}

    def _dispatch(self, t: Tracked) -> None:
        seg = t.segment
        flow_run = run_deployment(
            name=seg.deployment,
            parameters={"job": t.job.model_dump(mode="json"), "first_step": seg.first,
                        "last_step": seg.last},
            flow_run_name=f"{t.job.collection}/{t.job.recording_id}",
            timeout=0,
            as_subflow=True,
        )
        t.run_id = flow_run.id

    def run(self, *, timeout_s: float, poll_s: float = 2.0,
            on_finished: Callable[[int, int], None] | None = None) -> FanOutResult:
        """Follow every recording to its end, at most ``timeout_s`` seconds.

        Recordings still going at the deadline are ``unfinished`` (their runs keep going;
        the next collection run sees their state.json). If this flow is cancelled or
        stopped, every run it made that has not finished is cancelled before it stops.
        """
        for t in self.tracked.values():
            self._dispatch(t)
        deadline = time.monotonic() + timeout_s
        try:
            with get_client(sync_client=True) as client:
                while True:
                    going = {t.run_id: t for t in self.tracked.values() if t.outcome is None and t.run_id}
                    for run in _read_runs(client, list(going)):
                        self._advance(going[run.id], run)
                    done = sum(t.outcome is not None for t in self.tracked.values())
                    if on_finished is not None and going:
                        on_finished(done, len(self.tracked))
                    if done == len(self.tracked) or time.monotonic() >= deadline:
                        break
                    time.sleep(poll_s)
        except BaseException:
            self.cancel_all("the collection run was cancelled or stopped")
            raise
        outcomes = {rid: t.outcome or "unfinished" for rid, t in self.tracked.items()}
        return FanOutResult(outcomes, {rid: t.runs for rid, t in self.tracked.items()})

    def _advance(self, t: Tracked, run: FlowRun) -> None:
        state = run.state
        if state is None or not state.is_final():
            return
        t.runs.append(run)
        kind = state.type.value
        if kind != "COMPLETED":
            t.outcome = "cancelled" if kind == "CANCELLED" else "failed"
        elif state.name == BUSY:
            t.outcome = "busy"
        elif t.current + 1 < len(t.segments):
            t.current += 1
            self._dispatch(t)
        else:
            t.outcome = "done"

    def cancel_all(self, reason: str) -> list[str]:
        """Cancel every unfinished run (a running one through its worker); their recording ids."""
        cancelled = []
        with get_client(sync_client=True) as client:
            going = {t.run_id: t for t in self.tracked.values() if t.outcome is None and t.run_id}
            for run in _read_runs(client, list(going)):
                if run.state is None or run.state.is_final():
                    continue
                # A run a worker has started is cancelled by that worker (it stops the process,
                # and the recording records itself cancelled); one still waiting ends at once.
                started = run.state.type.value in ("RUNNING", "PENDING")
                state: Any = Cancelling(message=reason) if started else Cancelled(message=reason)
                client.set_flow_run_state(run.id, state, force=True)
                going[run.id].outcome = "cancelled"
                cancelled.append(going[run.id].job.recording_id)
        return cancelled


def _read_runs(client: SyncPrefectClient, ids: list[UUID | None]) -> list[FlowRun]:
    runs: list[FlowRun] = []
    wanted = [i for i in ids if i is not None]
    for start in range(0, len(wanted), _PAGE):
        page = wanted[start:start + _PAGE]
        runs += client.read_flow_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=page)),
                                      limit=len(page))
    return runs


def overhead(runs: dict[str, list[FlowRun]], stage_s: dict[str, float]) -> dict[str, Any]:
    """Fan-out overhead per recording, seconds: its runs' span (first created to last ended) minus
    the time inside its stages, the part of it spent waiting for a worker to start a run, and the
    part inside its running flow runs (``running_s`` minus ``stage_s``: flow-run process start-up
    after the worker marks it running, stage imports, task runs and their API calls)."""
    spans, queued, running, inside = [], [], [], []
    for rid, taken in runs.items():
        ended = [r for r in taken if r.end_time is not None]
        if not ended or rid not in stage_s:
            continue
        spans.append(_seconds(min(r.created for r in ended if r.created), max(r.end_time for r in ended)))
        queued.append(sum(_seconds(r.created, r.start_time) for r in ended if r.created and r.start_time))
        running.append(sum(_seconds(r.start_time, r.end_time) for r in ended if r.start_time))
        inside.append(stage_s[rid])
    if not spans:
        return {}
    wall, stage = sum(spans), sum(inside)
    return {"recordings": len(spans), "flow_runs": sum(len(v) for v in runs.values()),
            "chain_wall_s": round(wall, 3), "stage_s": round(stage, 3),
            "overhead_s": round(wall - stage, 3),
            "overhead_per_recording_s": round((wall - stage) / len(spans), 3),
            "waiting_for_start_s": round(sum(queued), 3),
            "running_s": round(sum(running), 3),
            "in_run_overhead_per_recording_s": round((sum(running) - stage) / len(spans), 3)}


def _seconds(start: datetime | None, end: datetime | None) -> float:
    return (end - start).total_seconds() if start and end else 0.0
