"""rerun-failed: only the failed recordings run again, from their last good stage; the CLI's exit code."""

from __future__ import annotations

import argparse
import contextlib
from pathlib import Path

import pytest
import soundfile as sf

from shellac.cli.ops import add_ops_commands
from shellac.engine.errors import ShellacError
from shellac.stages.chain import job_plan, run_plan
from shellac.stages.state import load_state
from tests.conftest import SR, harmonic_tone
from tests.stages.helpers import job_for


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="shellac")
    add_ops_commands(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    return int(args.func(args))


@pytest.mark.usefixtures("prefect_api")
def test_rerun_failed_reruns_only_failed_recordings(
    catalog_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Last run: 'a' done, 'silent' failed at ingest, 'b' and 'gone' never ran.
    for rec_id in ("a", "silent"):
        job = job_for(catalog_dir, rec_id)
        with contextlib.suppress(ShellacError):
            run_plan(job, job_plan(job))
    a_dir = Path(job_for(catalog_dir, "a").recording_dir)
    a_before = load_state(a_dir)
    silent = catalog_dir / "masters" / "silent.wav"
    silent.unlink()  # the archivist replaces the bad transfer
    sf.write(silent, harmonic_tone(2.0, seed=7), SR, subtype="PCM_16")

    assert _cli(["rerun-failed", str(catalog_dir)]) == 0
    out = capsys.readouterr().out
    assert "reran 1 failed recording(s) (silent)" in out and "silent: done" in out
    assert load_state(a_dir) == a_before  # not visited at all
    silent_state = load_state(Path(job_for(catalog_dir, "silent").recording_dir))
    assert silent_state.status == "done" and silent_state.stages["ingest"].attempts == 2
    assert load_state(Path(job_for(catalog_dir, "b").recording_dir)) is None  # pending, not failed
