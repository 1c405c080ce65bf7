"""One-line log records for flow runs that end Failed with their own reason (no engine traceback)."""

from __future__ import annotations

import logging

from prefect.exceptions import FailedRun


class ExpectedFailureFilter(logging.Filter):
    """Rewrite Prefect's "Engine execution exited with unexpected exception" traceback, logged by
    the flow-run process of a worker when a flow *returned* a Failed state (a bad master, a
    refused device: the reason is already logged), into one line. Exceptions a flow raised
    (bugs) are not ``FailedRun`` and keep their traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keep the record; strip the traceback of an expected failure."""
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, FailedRun):
            record.msg, record.args = "flow run ended Failed: %s", (str(exc),)
            record.levelno, record.levelname = logging.INFO, "INFO"
            record.exc_info, record.exc_text = None, None
        return True


def one_line_failures() -> None:
    """Install the filter on Prefect's flow-run logger (idempotent)."""
    logger = logging.getLogger("prefect.flow_runs")
    if not any(isinstance(f, ExpectedFailureFilter) for f in logger.filters):
        logger.addFilter(ExpectedFailureFilter())
