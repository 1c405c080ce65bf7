"""Static HTML reports of a collection and its dashboard content: figures, notes, excerpts, failures."""

from shellac.report.collect import RecordingReport, StageRow, gather
from shellac.report.dashboard import Dashboard, DashboardEntry
from shellac.report.html import REPORT_FILE, excerpt_folder, render_report, write_report
from shellac.report.timing import audio_duration_s, processing_s, real_time_factor

__all__ = [
    "REPORT_FILE",
    "Dashboard",
    "DashboardEntry",
    "RecordingReport",
    "StageRow",
    "audio_duration_s",
    "excerpt_folder",
    "gather",
    "processing_s",
    "real_time_factor",
    "render_report",
    "write_report",
]
