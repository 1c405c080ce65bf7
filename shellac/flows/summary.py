"""A collection run's dashboard: the recordings table, the markdown summary and summary.json."""

from __future__ import annotations

from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from shellac.catalogs import Catalog
from shellac.engine.atomic import atomic_write_json
from shellac.report.dashboard import Dashboard
from shellac.stages.state import utc_now


def artifact_key(name: str, what: str) -> str:
    """Artifact key of collection ``name``: ``shellac-<slug>-<what>`` (keys allow a-z, 0-9, -)."""
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return f"shellac-{slug}-{what}"


def orchestration(timings: dict[str, tuple[float, float]], run: dict[str, Any]) -> dict[str, Any]:
    """What the run spent outside the stages, seconds: per recording run, and for the whole run."""
    fan_out = run.get("fan_out") or {}
    if fan_out:
        wall, inside, count = fan_out["chain_wall_s"], fan_out["stage_s"], fan_out["recordings"]
    else:
        wall = sum(w for w, _ in timings.values())
        inside = sum(t for _, t in timings.values())
        count = len(timings)
    result: dict[str, Any] = {
        "recordings": count, "chain_wall_s": round(wall, 3), "stage_s": round(inside, 3),
        "overhead_s": round(wall - inside, 3),
        "overhead_per_recording_s": round((wall - inside) / count, 3) if count else None,
        "overhead_fraction": round((wall - inside) / wall, 4) if wall > 0 else None,
        "current": run.get("current", 0), "current_check_s": run.get("current_check_s"),
    }
    if "wall_s" in run:
        # The whole flow body: catalog, checks, dispatch, waiting, artifacts; only the stages excluded.
        total = float(run["wall_s"])
        # Per recording, the run's cost outside the stages: with fan-out, what a recording adds to a
        # collection run on a warm worker (flow-run start, polling, tasks), queueing excluded.
        result.update(run_wall_s=round(total, 3), run_overhead_s=round(total - inside, 3),
                      run_overhead_per_recording_s=round((total - inside) / count, 3) if count else None,
                      run_overhead_fraction=round((total - inside) / total, 4) if total > 0 else None)
    if fan_out:
        result["fan_out"] = fan_out
    return result


def orchestration_lines(orch: dict[str, Any]) -> list[str]:
    """The summary's markdown lines on orchestration overhead."""
    lines = []
    if orch.get("current"):
        lines += [f"{orch['current']} recording(s) already current: checked from state.json in "
                  f"{orch['current_check_s']:.2f} s, no flow run created.", ""]
    if orch.get("overhead_fraction") is not None:
        lines += [f"Overhead per recording run (outside the stages): {orch['overhead_s']:.2f} s of "
                  f"{orch['chain_wall_s']:.2f} s ({100 * orch['overhead_fraction']:.1f} %; "
                  f"{orch['overhead_per_recording_s']:.2f} s per recording"
                  + (f", {orch['fan_out']['waiting_for_start_s']:.1f} s of it waiting for workers to "
                     "start runs" if "fan_out" in orch else "") + ").", ""]
    if orch.get("run_overhead_fraction") is not None:
        lines += [f"Whole run (Prefect start-up excluded): {orch['run_wall_s']:.2f} s, of which "
                  f"{orch['run_overhead_s']:.2f} s outside the stages "
                  f"({100 * orch['run_overhead_fraction']:.1f} %"
                  + (f"; {orch['run_overhead_per_recording_s']:.2f} s per recording"
                     if orch.get("run_overhead_per_recording_s") is not None else "") + ").", ""]
    return lines


def publish_summary(
    catalog: Catalog,
    selected: int,
    outcomes: dict[str, str],
    *,
    mode: str = "in-process",
    timings: dict[str, tuple[float, float]] | None = None,
    run: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Publish the recordings table and markdown summary, write summary.json, return the summary.

    ``timings`` (recording -> wall time of its sub-flow call, time inside stages; seconds)
    and ``run`` (the collection flow's ``wall_s``, the ``current`` recordings left alone
    after ``current_check_s`` seconds of checking, and the ``fan_out`` costs) give the
    orchestration overhead: everything outside the stages (Prefect's own start-up excepted).
    """
    name = catalog.config.name
    board = Dashboard.of(catalog)
    rows = board.table_rows()
    create_table_artifact(rows, key=artifact_key(name, "recordings"),
                          description=f"Recordings of collection {name}: status, audio length (s), "
                          "processing time (s) and real-time factor")
    failed = [r for r in rows if r["status"] == "failed"]
    summary: dict[str, Any] = {
        "collection": name,
        "finished": utc_now(),
        "mode": mode,
        "selected": selected,
        "done": sum(r["status"] == "done" for r in rows),
        "failed": len(failed),
        "busy": sorted(k for k, v in outcomes.items() if v == "busy"),
        "unfinished": sorted(k for k, v in outcomes.items() if v == "unfinished"),
        "cancelled": sorted(k for k, v in outcomes.items() if v == "cancelled"),
        "catalog_errors": [str(e) for e in catalog.errors],
        "outcomes": outcomes,
    }
    summary["orchestration"] = orchestration(timings or {}, run or {})
    timing = orchestration_lines(summary["orchestration"])
    create_markdown_artifact(board.markdown(unfinished=summary["unfinished"], timing_lines=timing),
                             key=artifact_key(name, "summary"), description=board.headline())
    atomic_write_json(catalog.config.collection_dir / "summary.json", summary)
    return summary
