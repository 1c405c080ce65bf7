"""Expected failures reach the worker log as one line; bugs keep their traceback."""

from __future__ import annotations

import logging
import sys

from prefect.exceptions import FailedRun

from shellac.flows.logs import ExpectedFailureFilter


def _record(exc: BaseException) -> logging.LogRecord:
    try:
        raise exc
    except BaseException:
        info = sys.exc_info()
    return logging.LogRecord("prefect.flow_runs", logging.ERROR, __file__, 1,
                             "Engine execution exited with unexpected exception", (), info)


def test_returned_failure_is_one_line_and_a_bug_keeps_its_traceback() -> None:
    expected = _record(FailedRun("bad: ingest: cannot read bad.wav as audio"))
    assert ExpectedFailureFilter().filter(expected)
    text = logging.Formatter().format(expected)
    assert text == "flow run ended Failed: bad: ingest: cannot read bad.wav as audio"

    bug = _record(ValueError("index out of range"))
    assert ExpectedFailureFilter().filter(bug)
    text = logging.Formatter().format(bug)
    assert "Traceback (most recent call last)" in text and "ValueError: index out of range" in text
