"""Error reporting of the command line: expected errors lose their traceback in the logs."""

import logging
import sys

from shellac.cli.errors import ExpectedErrorFilter
from shellac.engine.errors import AudioLoadError


def _record(exc: BaseException) -> logging.LogRecord:
    try:
        raise exc
    except BaseException:
        info = sys.exc_info()
    return logging.LogRecord("prefect.flow_runs", logging.ERROR, __file__, 1, "failed: %r", (exc,), info)


def test_expected_errors_lose_their_traceback_and_bugs_keep_it() -> None:
    keep = ExpectedErrorFilter()
    expected = _record(AudioLoadError("master x.wav is silent"))
    assert keep.filter(expected) and expected.exc_info is None
    assert "Traceback" not in logging.Formatter().format(expected)
    wrapped = _record(RuntimeError("task failed"))
    wrapped.exc_info[1].__cause__ = AudioLoadError("x")  # type: ignore[index]
    assert keep.filter(wrapped) and wrapped.exc_info is None
    bug = _record(KeyError("oops"))
    assert keep.filter(bug) and bug.exc_info is not None
    assert "Traceback" in logging.Formatter().format(bug)
