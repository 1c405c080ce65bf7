"""The collection dashboard's content: counts first, failures with reasons, RTF, stages in chain order."""

import contextlib
import re
from pathlib import Path

import pytest

from shellac.catalogs import load_catalog
from shellac.engine.errors import ShellacError
from shellac.jobs import collection_status
from shellac.report.dashboard import Dashboard, DashboardEntry, status_counts
from shellac.report.notes import access_copy_note
from shellac.stages.chain import job_plan, run_plan
from shellac.stages.state import load_state, save_state
from tests.stages.helpers import job_for


def test_dashboard_counts_failures_rtf_and_chain_order(mixed_catalog: Path) -> None:
    board = Dashboard.of(load_catalog(mixed_catalog))
    assert board.counts() == {"done": 2, "failed": 1, "running": 0, "pending": 1}
    states = {e.recording.id: e.state for e in collection_status(load_catalog(mixed_catalog))}
    spent = states["a"].total_duration_s() + states["b"].total_duration_s()
    rtf = spent / (4.0 + 3.0)  # a: 4 s, b: 3 s of audio
    assert board.real_time_factor() == pytest.approx((spent, 7.0, 2))
    assert board.headline() == f"testcoll: 2 of 4 done, 1 failed, 1 pending; real-time factor {rtf:.2f}"

    text = board.markdown()
    lines = text.splitlines()
    # A dashboard first: the headline, then the counts table.
    assert lines[0] == f"# {board.headline()}"
    assert lines[2:5] == ["| done | failed | running | pending | rejected catalog rows |",
                          "|---:|---:|---:|---:|---:|", "| 2 | 1 | 0 | 1 | 2 |"]
    assert ("| silent | failed | ingest | silent.wav is silent (peak -240.0 dBFS): nothing to restore |"
            in lines)
    assert f"Real-time factor **{rtf:.2f}**: {spent:.1f} s of processing for 7.0 s of audio " \
           "(2 done recording(s))." in lines
    # Stage columns in the chain's order (not alphabetical, not insertion order of the plans).
    header = next(line for line in lines if line.startswith("| recording | status | real-time"))
    assert header == ("| recording | status | real-time factor | ingest | denoise | ltas_eq | "
                      "generative_eq | tag | notes |")
    grid = lines[lines.index("## Recordings (stages in chain order)"):]
    row_b = next(line for line in grid if line.startswith("| b |"))
    # 'b' ran the tiny random-weight model: the quality gate fell back, and the row says so.
    assert row_b.startswith(f"| b | done | {states['b'].total_duration_s() / 3.0:.2f} | ✓ | – | – | ✓ | ✓ | "
                            "decision: ltas_eq; fallback: yes; reason: generative output implausibly worse")
    assert row_b.endswith(" |") and "music_bands_hz" not in row_b
    assert "| gone | pending | – | – | – | – | – | – |  |" in lines

    rows = {r["id"]: r for r in board.table_rows()}
    assert rows["a"]["stages"] == "ingest:done denoise:done ltas_eq:done tag:done"
    assert rows["b"]["stages"] == "ingest:done generative_eq:done tag:done"
    assert rows["a"]["audio_s"] == 4.0 and rows["gone"]["rtf"] is None
    assert rows["silent"]["error"].startswith("ingest: silent.wav is silent")


def test_stale_access_copy_and_quality_gate_show(catalog_dir: Path) -> None:
    job = job_for(catalog_dir, "a")
    run_plan(job, job_plan(job))
    # A rerun with another LTAS-EQ reference fails at ltas_eq: tag's access copy is the earlier run's.
    rerun = job_for(catalog_dir, "a", overrides={"ltas_eq": {"reference": "no-such-folder"}})
    with contextlib.suppress(ShellacError):
        run_plan(rerun, job_plan(rerun))
    rec_dir = Path(job.recording_dir)
    state = load_state(rec_dir)
    assert state.status == "failed" and state.stages["tag"].status == "done"  # the old access copy
    # Another stage's recorded gate outcome (its shape is that stage's business): shown as recorded.
    state.stages["ltas_eq"].metrics["quality_gate"] = {"passed": False, "fallback": "ltas_eq",
                                                       "reason": "noise floor above the cut-off +9 dB"}
    state.stages["ltas_eq"].metrics["chain_fit_bounds"] = ["lowpass_hz=low"]
    save_state(rec_dir, state)

    board = Dashboard.of(load_catalog(catalog_dir))
    entry = next(e for e in board.entries if e.id == "a")
    assert entry.stages == (("ingest", "done"), ("denoise", "done"), ("ltas_eq", "failed"),
                            ("tag", "done (earlier run)"))
    assert entry.notes == (
        "The access copy is from an earlier run; the latest run failed at ltas_eq, so it does not reflect "
        "the current master and chain.",
        "fallback: ltas_eq; passed: no; reason: noise floor above the cut-off +9 dB",
        "Chain EQ fit on a range limit (low-pass corner at the bottom of its range): its reading of the "
        "chain is least certain there, often the recording's own register taken for a chain; listen to it "
        "first.")
    lines = board.markdown().splitlines()
    failure = next(line for line in lines if line.startswith("| a | failed | ltas_eq | "))
    assert "no-such-folder" in failure
    grid = lines[lines.index("## Recordings (stages in chain order)"):]
    row_a = next(line for line in grid if line.startswith("| a |"))
    assert re.fullmatch(r"\| a \| failed \| [0-9.]+ \| ✓ \| ✓ \| ✗ \| old ✓ \| The access copy is "
                        r"from an earlier run;.* reason: noise floor above the cut-off \+9 dB.* listen to it "
                        r"first\. \|", row_a)
    assert board.real_time_factor() is None  # only finished recordings count; 'a' failed
    assert any(line.startswith("old ✓: done by an earlier run") for line in grid)
    assert board.table_rows()[0]["stages"] == "ingest:done denoise:done ltas_eq:failed tag:done(old)"

    (rec_dir / "a.flac").unlink()  # moved away by hand
    entry = Dashboard.of(load_catalog(catalog_dir)).entries[0]
    assert entry.notes[0] == "The access copy an earlier run made is no longer there (withdrawn or moved)."
    withdrawn = state.model_copy(update={"withdrawn": "withdrawn/a.20261130T100000Z.flac"})
    assert access_copy_note(withdrawn, rec_dir) == (
        "The access copy an earlier run made was withdrawn as stale (to withdrawn/a.20261130T100000Z.flac): "
        "none is current.")


def test_status_counts_keep_the_usual_four_and_add_others() -> None:
    assert status_counts(["done", "failed", "done"]) == {"done": 2, "failed": 1, "running": 0, "pending": 0}
    assert list(status_counts(["cancelled", "paused", "done"])) == [
        "done", "failed", "cancelled", "running", "pending", "paused"]


def test_markdown_cells_cannot_break_the_table() -> None:
    entry = DashboardEntry("x", "", "p", "failed", (("ingest", "failed"),), error="ingest: bad | pipe\nline",
                           error_stage="ingest")
    text = Dashboard("c", (entry,)).markdown(unfinished=["y"], timing_lines=["Overhead: 1.50 s of 10.00 s."])
    assert "| x | failed | ingest | bad \\| pipe line |" in text
    assert "- **y** still running when the run stopped waiting" in text
    assert "No done recording has a real-time factor yet.\n\nOverhead: 1.50 s of 10.00 s.\n" in text
    assert "No done recording has a real-time factor yet." in text
