"""How the command line reports errors: one clean line each, tracebacks only with ``--debug``."""

from __future__ import annotations

import logging
import sys
import traceback

from pydantic import ValidationError

from shellac.engine.errors import ShellacError

DEBUG_HINT = "run with --debug for the traceback"


class ExpectedErrorFilter(logging.Filter):
    """Drops the traceback from log records about Shellac's own (expected) errors.

    Prefect logs a failing task or flow run with its traceback; for a bad master or a
    bad catalog the message line says all there is to say.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep the record, without its traceback when the exception is a ``ShellacError``."""
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, ShellacError) or _caused_by_shellac_error(exc):
            record.exc_info = None
            record.exc_text = None
        return True


def _caused_by_shellac_error(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 10:
        if isinstance(exc, ShellacError):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


def quiet_expected_tracebacks() -> None:
    """Install :class:`ExpectedErrorFilter` on every handler of the root and Prefect loggers."""
    names = [None, "prefect", *[n for n in logging.root.manager.loggerDict if n.startswith("prefect")]]
    for name in names:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, ExpectedErrorFilter) for f in handler.filters):
                handler.addFilter(ExpectedErrorFilter())


def report_error(exc: BaseException, *, debug: bool) -> int:
    """Print ``exc`` as one ``shellac: error:`` line (and its traceback if ``debug``); exit status."""
    if debug:
        traceback.print_exception(exc, file=sys.stderr)
    if isinstance(exc, ShellacError):
        print(f"shellac: error: {exc}", file=sys.stderr)
        return 2
    if isinstance(exc, ValidationError):
        # A bad option or setting: name each field and what it must be, on one line.
        fields = "; ".join(f"{'.'.join(str(x) for x in e['loc']) or exc.title}: {e['msg']} "
                           f"(got {e.get('input')!r})" for e in exc.errors())
        print(f"shellac: error: invalid {exc.title}: {fields}", file=sys.stderr)
        return 2
    message = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    print(f"shellac: error: {type(exc).__name__}: {message}" + ("" if debug else f" ({DEBUG_HINT})"),
          file=sys.stderr)
    return 1
