"""A collection run's dashboard: the recordings table, the markdown summary and summary.json."""

from __future__ import annotations

from typing import Any

from prefect.artifacts import create_markdown_artifact, create_table_artifact

from shellac.catalogs import Catalog
from shellac.engine.atomic import atomic_write_json
from shellac.jobs import collection_status
from shellac.report.timing import audio_duration_s, processing_s, real_time_factor
from shellac.stages.state import utc_now


def artifact_key(name: str, what: str) -> str:
    """Artifact key of collection ``name``: ``shellac-<slug>-<what>`` (keys allow a-z, 0-9, -)."""
    slug = "".join(c if c.isalnum() else "-" for c in name.lower()).strip("-")
    return f"shellac-{slug}-{what}"


def recording_rows(catalog: Catalog) -> list[dict[str, Any]]:
    """One dashboard row per valid recording: status, stages, audio duration, time and RTF."""
    rows = []
    for entry in collection_status(catalog):
        state = entry.state
        duration = audio_duration_s(state)
        rtf = real_time_factor(state)
        rows.append({
            "id": entry.recording.id,
            "title": entry.recording.title,
            "profile": state.profile if state else "",
            "status": entry.status,
            "stages": " ".join(f"{k}:{v.status}" for k, v in state.stages.items()) if state else "",
            "audio_s": round(duration, 2) if duration is not None else None,
            "duration_s": round(processing_s(state), 2),
            "rtf": round(rtf, 3) if rtf is not None else None,
            "error": (state.error or "") if state else "",
        })
    return rows


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
    rows = recording_rows(catalog)
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
    timed = [r for r in rows if r["rtf"] is not None]
    audio = sum(r["audio_s"] or 0.0 for r in timed)
    spent = sum(r["duration_s"] for r in timed)
    lines = [f"# {name}", "", f"{summary['done']} of {len(rows)} recordings done, "
             f"{len(failed)} failed, {len(catalog.errors)} catalog row(s) rejected.", ""]
    if audio > 0:
        lines += [f"Processing: {spent:.1f} s for {audio:.1f} s of audio "
                  f"(real-time factor {spent / audio:.2f}).", ""]
    if "orchestration" in summary and summary["orchestration"]["overhead_fraction"] is not None:
        orch = summary["orchestration"]
        lines += [f"Orchestration overhead (outside the stages, Prefect start-up excluded): "
                  f"{orch['overhead_s']:.2f} s of {orch['chain_wall_s']:.2f} s "
                  f"({100 * orch['overhead_fraction']:.1f} %).", ""]
    lines += [f"- **{r['id']}** failed: {r['error']}" for r in failed]
    lines += [f"- **{rid}** still running when the run stopped waiting" for rid in summary["unfinished"]]
    lines += [f"- catalog: {e}" for e in catalog.errors]
    create_markdown_artifact("\n".join(lines), key=artifact_key(name, "summary"),
                             description=f"Run summary of {name}")
    atomic_write_json(catalog.config.collection_dir / "summary.json", summary)
    return summary
