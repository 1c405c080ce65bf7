"""Static HTML reports of a collection: spectrograms, LTAS curves, filter responses, failures."""

from shellac.report.collect import RecordingReport, StageRow, gather
from shellac.report.html import REPORT_FILE, render_report, write_report
from shellac.report.timing import audio_duration_s, processing_s, real_time_factor

__all__ = [
    "REPORT_FILE",
    "RecordingReport",
    "StageRow",
    "audio_duration_s",
    "gather",
    "processing_s",
    "real_time_factor",
    "render_report",
    "write_report",
]
