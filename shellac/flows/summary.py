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


def publish_summary(
    catalog: Catalog,
    selected: int,
    outcomes: dict[str, str],
    *,
    mode: str = "in-process",
    timings: dict[str, tuple[float, float]] | None = None,
) -> dict[str, Any]:
    """Publish the recordings table and markdown summary, write summary.json, return the summary.

    ``timings`` (recording -> chain wall time, time inside stages; seconds) gives the
    orchestration overhead: the share of the chain's time spent outside the stages.
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
        "catalog_errors": [str(e) for e in catalog.errors],
        "outcomes": outcomes,
    }
    if timings:
        wall = sum(w for w, _ in timings.values())
        inside = sum(t for _, t in timings.values())
        summary["orchestration"] = {
            "recordings": len(timings), "chain_wall_s": round(wall, 3), "stage_s": round(inside, 3),
            "overhead_s": round(wall - inside, 3),
            "overhead_fraction": round((wall - inside) / wall, 4) if wall > 0 else None,
        }
    timing: list[str] = []
    if "orchestration" in summary and summary["orchestration"]["overhead_fraction"] is not None:
        orch = summary["orchestration"]
        timing += [f"Orchestration overhead (outside the stages, Prefect start-up excluded): "
                   f"{orch['overhead_s']:.2f} s of {orch['chain_wall_s']:.2f} s "
                   f"({100 * orch['overhead_fraction']:.1f} %)."]
    create_markdown_artifact(board.markdown(unfinished=summary["unfinished"], timing_lines=timing),
                             key=artifact_key(name, "summary"), description=board.headline())
    atomic_write_json(catalog.config.collection_dir / "summary.json", summary)
    return summary
