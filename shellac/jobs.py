"""Turn a catalog into recording jobs, choose which to run, and read back their states."""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from shellac.catalogs import Catalog, Recording
from shellac.engine.atomic import atomic_write_json
from shellac.engine.errors import ShellacError
from shellac.stages.chain import RecordingJob
from shellac.stages.profiles import load_plan
from shellac.stages.reference import MODEL_PREFIX
from shellac.stages.state import RecordingState, lock_holder, read_state, utc_now

Selection = Literal["all", "pending", "failed"]
RUNS_DIR = "runs"


def recording_dir(catalog: Catalog, recording: Recording) -> Path:
    """``<output_root>/<collection>/<id>/``."""
    return catalog.config.collection_dir / recording.id


def model_overrides(
    catalog: Catalog, recording: Recording, profile: str, overrides: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Overrides with the registry's model choice applied to the profile's model-using stages.

    Precedence: the row's ``model`` column, then the collection's overrides, then
    the registry's rules, then the profile's own default. The choice is applied to
    ``generative_eq.model`` and to an ``ltas_eq`` reference that names a model.
    """
    choice = catalog.registry.choose(recording)
    if choice is None:
        return overrides
    try:
        plan = load_plan(profile, search_dirs=(catalog.directory / "profiles",), overrides=overrides)
    except ShellacError:
        return overrides  # the recording's run reports the profile error itself
    explicit = bool(recording.model)
    result = copy.deepcopy(overrides)
    steps = {step.stage: step for step in plan.steps}
    if "generative_eq" in steps and (explicit or "model" not in overrides.get("generative_eq", {})):
        result.setdefault("generative_eq", {})["model"] = choice.model
    if "ltas_eq" in steps:
        reference = str(getattr(steps["ltas_eq"].params, "reference", ""))
        if reference.startswith(MODEL_PREFIX) and (
            explicit or "reference" not in overrides.get("ltas_eq", {})
        ):
            result.setdefault("ltas_eq", {})["reference"] = MODEL_PREFIX + choice.model
    return result


REFERENCE_STAGES = ("ltas_eq", "generative_eq")
"""Stages that take the instrument's reference (``reference`` parameter)."""


def reference_overrides(
    catalog: Catalog, recording: Recording, profile: str, overrides: dict[str, dict[str, Any]]
) -> dict[str, dict[str, Any]]:
    """Overrides with the row's ``reference`` given to each of the profile's :data:`REFERENCE_STAGES`.

    The row's reference beats the collection's overrides, the registry's model
    reference and the profile's own: it names the instrument this recording was
    made with, so the EQ and the generative stage judge the chain against the same one.
    A fixed reference (a folder or an LTAS file) cannot be matched to the line's
    register, so it also turns ``ltas_eq.match_register`` off where that was on.
    """
    if not recording.reference:
        return overrides
    try:
        plan = load_plan(profile, search_dirs=(catalog.directory / "profiles",), overrides=overrides)
    except ShellacError:
        return overrides  # the recording's run reports the profile error itself
    result = copy.deepcopy(overrides)
    for step in plan.steps:
        if step.stage in REFERENCE_STAGES:
            result.setdefault(step.stage, {})["reference"] = recording.reference
        if getattr(step.params, "match_register", False) and not recording.reference.startswith(MODEL_PREFIX):
            result[step.stage]["match_register"] = False
    return result


def build_job(
    catalog: Catalog, recording: Recording, *, models_dir: Path | None = None, device: str = "cpu"
) -> RecordingJob:
    """The job for one catalog row: master, work dir, profile, overrides and model choice."""
    profile = catalog.config.profile_for(recording.content, recording.profile)
    models = models_dir or catalog.config.models_dir
    return RecordingJob(
        recording_id=recording.id,
        collection=catalog.config.name,
        master_path=str(catalog.master_path(recording)),
        recording_dir=str(recording_dir(catalog, recording)),
        base_dir=str(catalog.directory),
        models_dir=str(models) if models else None,
        profile=profile,
        profile_dirs=[str(catalog.directory / "profiles")],
        overrides=reference_overrides(catalog, recording, profile, model_overrides(
            catalog, recording, profile, catalog.config.profile_overrides.get(profile, {})
        )),
        device=device,
        metadata=recording.metadata(),
        source_root=str(catalog.config.source_root),
        allow_external_master=catalog.config.allow_masters_outside_source_root,
    )


@dataclass(frozen=True)
class RecordingStatus:
    """A recording's catalog row with its state (``None`` if it never ran).

    ``holder`` names who holds the recording's lock while its state says running;
    a running state nobody holds was left by a run that died: it is ``interrupted``.
    """

    recording: Recording
    directory: Path
    state: RecordingState | None
    holder: str | None = None

    @property
    def status(self) -> str:
        """done, failed, cancelled, running (lock held), interrupted (left by a dead run), or pending."""
        if self.state is None:
            return "pending"
        if self.state.status == "running" and self.holder is None:
            return "interrupted"
        return self.state.status


def read_status(recording: Recording, directory: Path) -> RecordingStatus:
    """One recording's status; an unreadable state.json makes only this recording ``failed``."""
    state = read_state(directory, recording.id)
    holder = lock_holder(directory) if state is not None and state.status == "running" else None
    return RecordingStatus(recording, directory, state, holder)


def collection_status(catalog: Catalog) -> list[RecordingStatus]:
    """The state of every valid recording of ``catalog``, in catalog order."""
    return [read_status(rec, recording_dir(catalog, rec)) for rec in catalog.recordings]


def write_run_summary(catalog: Catalog, summary: dict[str, Any], run_id: str | None = None) -> Path:
    """Keep this run's summary as ``runs/<time>-<run id>.json``, beside the shared summary.json.

    Concurrent runs each write their own file, so none loses another's result.
    """
    stamp = utc_now().replace(":", "").replace("-", "").replace("+0000", "Z")
    path = catalog.config.collection_dir / RUNS_DIR / f"{stamp}-{run_id or uuid.uuid4().hex[:12]}.json"
    atomic_write_json(path, summary)
    return path


def select_recordings(catalog: Catalog, only: Selection) -> list[Recording]:
    """``all`` recordings (finished stages are still skipped by their keys), those not yet
    ``done`` (``pending``), or only those whose last run ``failed``."""
    if only == "all":
        return list(catalog.recordings)
    wanted = {"pending": {"pending", "running", "interrupted", "failed", "cancelled"},
              "failed": {"failed", "interrupted"}}[only]
    return [s.recording for s in collection_status(catalog) if s.status in wanted]
