"""An interruption from outside is recorded as cancelled, not failed; is_current agrees with the skips."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from shellac.stages import ltas_eq
from shellac.stages.chain import is_current, job_plan, run_plan
from shellac.stages.registry import STAGES
from shellac.stages.state import load_state

from .helpers import job_for


def test_interruption_is_recorded_as_cancelled(catalog_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def stopped(inputs: Mapping[str, Path], params: Any, ctx: Any) -> Any:
        raise KeyboardInterrupt  # what a SIGTERM/cancellation looks like inside a stage

    monkeypatch.setitem(STAGES, "ltas_eq", dataclasses.replace(ltas_eq.STAGE, run=stopped))
    job = job_for(catalog_dir, "a")
    with pytest.raises(KeyboardInterrupt):
        run_plan(job, job_plan(job))
    state = load_state(Path(job.recording_dir))
    assert state.status == "cancelled" and state.error_stage == "ltas_eq"
    assert state.stages["ltas_eq"].status == "cancelled" and state.stages["denoise"].status == "done"
    assert state.error == "ltas_eq: cancelled: stopped from outside (KeyboardInterrupt); a rerun resumes here"
    assert not is_current(job)


def test_is_current_only_when_every_step_would_be_skipped(catalog_dir: Path) -> None:
    job = job_for(catalog_dir, "a")
    assert not is_current(job)  # never ran
    run_plan(job, job_plan(job))
    assert is_current(job)
    changed = job.model_copy(update={"overrides": {"ltas_eq": {"max_boost_db": 6.0}}})
    assert not is_current(changed)  # a changed parameter reruns ltas_eq
    flac = Path(job.recording_dir) / "a.flac"
    flac.write_bytes(flac.read_bytes()[:-10])
    assert not is_current(job)  # a damaged output is recomputed
