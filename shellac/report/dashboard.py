"""A collection's dashboard content (table rows, markdown) from its recordings' states, for any publisher."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from shellac.catalogs import Catalog
from shellac.jobs import RecordingStatus, collection_status
from shellac.report.notes import access_copy_note, chain_fit_note, model_standing_note, quality_gate_note
from shellac.report.order import OLD_DONE, chain_columns, stage_statuses
from shellac.report.timing import audio_duration_s, processing_s, real_time_factor

# The order status counts are listed in; any other status a state records follows them.
STATUS_ORDER = ("done", "failed", "cancelled", "running", "pending")
MARKS = {"done": "✓", "failed": "✗", "running": "▶", "pending": "·", OLD_DONE: "old ✓"}


def status_counts(statuses: Sequence[str]) -> dict[str, int]:
    """How many of each status, in ``STATUS_ORDER`` (done, failed, running, pending always shown;
    cancelled when present), then any other status a state records, alphabetically."""
    order = [s for s in STATUS_ORDER if s != "cancelled" or s in statuses]
    order += sorted({s for s in statuses if s not in order})
    return {status: list(statuses).count(status) for status in order}


@dataclass(frozen=True)
class DashboardEntry:
    """One recording on the dashboard: its status, stages in chain order, timing and notes."""

    id: str
    title: str
    profile: str
    status: str
    stages: tuple[tuple[str, str], ...] = ()  # (stage, status or OLD_DONE) in chain order
    error: str = ""
    error_stage: str | None = None
    audio_s: float | None = None
    processing_s: float = 0.0
    rtf: float | None = None
    notes: tuple[str, ...] = ()

    @classmethod
    def of(cls, entry: RecordingStatus) -> DashboardEntry:
        """The entry of one recording from its catalog row and state.json."""
        state, rec = entry.state, entry.recording
        if state is None:
            return cls(rec.id, rec.title or "", "", entry.status)
        stages = stage_statuses(state)
        notes = tuple(n for n in (access_copy_note(state, entry.directory), quality_gate_note(state),
                                  model_standing_note(state), chain_fit_note(state)) if n)
        return cls(rec.id, rec.title or "", state.profile, state.status, tuple(stages), state.error or "",
                   state.error_stage, audio_duration_s(state), processing_s(state), real_time_factor(state),
                   notes)

    def table_row(self) -> dict[str, Any]:
        """A row of the recordings table artifact (stages in chain order)."""
        return {
            "id": self.id, "title": self.title, "profile": self.profile, "status": self.status,
            "stages": " ".join(f"{name}:{'done(old)' if s == OLD_DONE else s}" for name, s in self.stages),
            "audio_s": round(self.audio_s, 2) if self.audio_s is not None else None,
            "duration_s": round(self.processing_s, 2),
            "rtf": round(self.rtf, 3) if self.rtf is not None else None,
            "error": self.error, "notes": " ".join(self.notes),
        }


def _cell(text: object) -> str:
    """Text safe inside a markdown table cell: one line, no column breaks."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _reason(entry: DashboardEntry) -> str:
    prefix = f"{entry.error_stage}: "
    return entry.error[len(prefix):] if entry.error_stage and entry.error.startswith(prefix) else entry.error


@dataclass(frozen=True)
class Dashboard:
    """A collection at a glance: status counts, failures with reasons, real-time factor, stage grid."""

    name: str
    entries: tuple[DashboardEntry, ...]
    rejected: tuple[str, ...] = field(default_factory=tuple)

    @classmethod
    def of(cls, catalog: Catalog) -> Dashboard:
        """The dashboard of ``catalog`` from its recordings' state.json files, in catalog order."""
        return cls(catalog.config.name, tuple(DashboardEntry.of(e) for e in collection_status(catalog)),
                   tuple(str(e) for e in catalog.errors))

    def counts(self) -> dict[str, int]:
        """Recordings per status (see :func:`status_counts`)."""
        return status_counts([e.status for e in self.entries])

    def real_time_factor(self) -> tuple[float, float, int] | None:
        """(processing s, audio s, recordings) over the done recordings, or ``None`` if there are none.

        A failed or unfinished recording's stage times mix runs (earlier stages from an
        older run), so it does not count.
        """
        timed = [e for e in self.entries if e.status == "done" and e.rtf is not None and e.audio_s]
        audio = sum(e.audio_s or 0.0 for e in timed)
        return (sum(e.processing_s for e in timed), audio, len(timed)) if audio > 0 else None

    def problems(self) -> list[DashboardEntry]:
        """Recordings that ended other than done, pending or running (failed, cancelled, ...)."""
        return [e for e in self.entries if e.status not in ("done", "pending", "running")]

    def headline(self) -> str:
        """One line: ``name: d of n done, f failed; real-time factor r``."""
        counts = self.counts()
        parts = [f"{counts['done']} of {len(self.entries)} done"]
        parts += [f"{n} {s}" for s, n in counts.items() if s != "done" and n]
        rtf = self.real_time_factor()
        tail = f"; real-time factor {rtf[0] / rtf[1]:.2f}" if rtf else ""
        return f"{self.name}: {', '.join(parts)}{tail}"

    def table_rows(self) -> list[dict[str, Any]]:
        """The recordings table artifact's rows, in catalog order."""
        return [e.table_row() for e in self.entries]

    def markdown(self, *, unfinished: Sequence[str] = (), timing_lines: Sequence[str] = ()) -> str:
        """The dashboard as markdown: counts first, then failures, timing, and the stage grid.

        ``unfinished`` names recordings a run stopped waiting for; ``timing_lines`` are the
        publisher's own lines on the run (orchestration overhead), shown under the timing.
        """
        counts = self.counts()
        lines = [f"# {self.headline()}", "",
                 "| " + " | ".join([*counts, "rejected catalog rows"]) + " |",
                 "|" + "---:|" * (len(counts) + 1),
                 "| " + " | ".join(str(n) for n in [*counts.values(), len(self.rejected)]) + " |", ""]
        problems = self.problems()
        lines += [f"## Failures ({len(problems)})", ""]
        if problems:
            lines += ["| recording | status | stage | reason |", "|---|---|---|---|"]
            lines += [f"| {_cell(e.id)} | {e.status} | {_cell(e.error_stage or '–')} | "
                      f"{_cell(_reason(e) or 'no reason recorded')} |" for e in problems]
        else:
            lines.append("None.")
        lines += [f"- **{rid}** still running when the run stopped waiting" for rid in unfinished]
        lines += [f"- catalog: {_cell(line)}" for line in self.rejected]
        lines += ["", "## Timing", ""]
        rtf = self.real_time_factor()
        lines.append(f"Real-time factor **{rtf[0] / rtf[1]:.2f}**: {rtf[0]:.1f} s of processing for "
                     f"{rtf[1]:.1f} s of audio ({rtf[2]} done recording(s))." if rtf
                     else "No done recording has a real-time factor yet.")
        lines += [line for line in ("", *timing_lines) if timing_lines]
        return "\n".join([*lines, "", *self._grid()])

    def _grid(self) -> list[str]:
        columns = chain_columns(tuple(name for name, _ in e.stages) for e in self.entries)
        lines = ["## Recordings (stages in chain order)", "",
                 "| recording | status | real-time factor | " + " | ".join(columns) + " | notes |",
                 "|---|---|---:|" + "---|" * (len(columns) + 1)]
        for e in self.entries:
            stages = dict(e.stages)
            cells = [MARKS.get(stages[c], stages[c]) if c in stages else "–" for c in columns]
            rtf = "–" if e.rtf is None else f"{e.rtf:.2f}"
            lines.append(f"| {_cell(e.id)} | {e.status} | {rtf} | " + " | ".join(cells)
                         + f" | {_cell(' '.join(e.notes))} |")
        if any(s == OLD_DONE for e in self.entries for _, s in e.stages):
            lines += ["", f"{MARKS[OLD_DONE]}: done by an earlier run; the latest run stopped before this "
                      "stage, so its output is not current."]
        return lines
