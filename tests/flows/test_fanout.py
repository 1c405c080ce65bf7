"""Fan-out routing from the stage records, its overhead figures, and how a collection run ends."""

from __future__ import annotations

import dataclasses
import pickle
from datetime import UTC, datetime, timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from prefect.client.schemas.objects import FlowRun
from prefect.exceptions import FailedRun

from shellac.flows.collection import CollectionFailed, final_state, summary_of
from shellac.flows.fanout import Segment, overhead, route
from shellac.flows.summary import orchestration, orchestration_lines
from shellac.stages.registry import STAGES

CPU, GPU = "restore-recording/restore-recording-cpu", "restore-recording/restore-recording"


def _route(*names: str, cpu: str = CPU, gpu: str = GPU) -> list[tuple[int, int, str]]:
    return [(s.first, s.last, s.deployment) for s in route([STAGES[n] for n in names], cpu, gpu)]


def test_cpu_stages_go_to_the_cpu_pool_and_gpu_stages_to_the_gpu_pool() -> None:
    # voice-accompaniment: separate and generative_eq are GPU stages; ltas_eq between them stays.
    chain = ("ingest", "denoise", "separate", "ltas_eq", "generative_eq", "remix", "tag")
    assert _route(*chain) == [(0, 1, CPU), (2, 4, GPU), (5, 6, CPU)]
    assert _route("ingest", "denoise", "ltas_eq", "generative_eq", "tag") == [(0, 2, CPU), (3, 3, GPU),
                                                                               (4, 4, CPU)]
    assert _route("ingest", "denoise", "ltas_eq", "tag") == [(0, 3, CPU)]  # model-free: one run
    assert _route("ingest", "declip", "denoise", "inpaint", "tag") == [(0, 0, CPU), (1, 3, GPU), (4, 4, CPU)]
    # Both names on one deployment (a CPU-only site): one run per recording.
    assert _route(*chain, gpu=CPU) == [(0, 6, CPU)]


def test_routing_reads_the_declaration_not_the_name() -> None:
    plain = [STAGES["ingest"], dataclasses.replace(STAGES["ltas_eq"], gpu=True), STAGES["tag"]]
    assert route(plain, CPU, GPU) == [Segment(0, 0, CPU), Segment(1, 1, GPU), Segment(2, 2, CPU)]


def _summary(outcomes: dict[str, str], errors: int = 0) -> dict[str, object]:
    return {"selected": len(outcomes), "done": sum(v == "done" for v in outcomes.values()),
            "outcomes": outcomes, "catalog_errors": ["x"] * errors}


def test_a_collection_run_is_red_unless_every_recording_is_done() -> None:
    path = Path("/out/c/summary.json")
    ok = final_state(_summary({"a": "done", "b": "done"}), path)
    assert ok.is_completed() and ok.message == "2 of 2 recordings done; summary: /out/c/summary.json"
    bad = final_state(_summary({"a": "done", "b": "failed", "c": "cancelled", "d": "unfinished"}, 1), path)
    assert bad.is_failed()
    assert bad.message == ("1 of 4 recordings failed; 1 cancelled; 1 unfinished; 1 catalog row(s) rejected; "
                           "summary: /out/c/summary.json")
    assert summary_of(bad)["outcomes"]["b"] == "failed"  # the summary travels along


def test_a_failed_collection_run_raises_one_line_not_a_type_error() -> None:
    """A worker's flow-run process raises a Failed final state's data (Prefect's engine calls
    ``state.result()``); the collection's summary must come out as a ``FailedRun`` the log filter
    shortens, not as Prefect's "dict cannot be resolved into an exception" TypeError."""
    summary = _summary({"a": "done", "b": "failed"})
    bad = final_state(summary, Path("/out/c/summary.json"))
    with pytest.raises(CollectionFailed) as raised:
        bad.result()
    assert isinstance(raised.value, FailedRun) and raised.value.summary == summary
    assert str(raised.value) == "1 of 2 recordings failed; summary: /out/c/summary.json"
    again = pickle.loads(pickle.dumps(raised.value))  # result persistence pickles it
    assert (str(again), again.summary) == (str(raised.value), summary)


def _run(created: float, started: float, ended: float) -> FlowRun:
    t0 = datetime(2026, 11, 30, tzinfo=UTC)
    return FlowRun(flow_id=uuid4(), name="r", created=t0 + timedelta(seconds=created),
                   start_time=t0 + timedelta(seconds=started), end_time=t0 + timedelta(seconds=ended))


def test_fan_out_overhead_separates_queueing_from_the_runs_own_cost() -> None:
    # Two recordings created together; the second waits behind the first on a one-slot worker.
    runs = {"a": [_run(0, 2, 8)], "b": [_run(0, 10, 17)]}
    costs = overhead(runs, {"a": 1.0, "b": 2.0})
    assert costs["chain_wall_s"] == 25.0 and costs["overhead_per_recording_s"] == 11.0
    assert costs["waiting_for_start_s"] == 12.0
    assert costs["running_s"] == 13.0 and costs["in_run_overhead_per_recording_s"] == 5.0
    # The collection run's body took 20 s: per recording, 8.5 s of it lay outside the stages.
    orch = orchestration({}, {"wall_s": 20.0, "fan_out": costs})
    assert orch["run_overhead_s"] == 17.0 and orch["run_overhead_per_recording_s"] == 8.5
    assert "17.00 s outside the stages (85.0 %; 8.50 s per recording)" in "\n".join(orchestration_lines(orch))
