"""Fan-out routing from the stage records' declarations, and how a collection run's end is stated."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from shellac.flows.collection import final_state
from shellac.flows.fanout import Segment, route
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
    assert bad.result(raise_on_failure=False)["outcomes"]["b"] == "failed"  # the summary travels along
