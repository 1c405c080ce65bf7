"""Run one step of a recording's plan: compute its cache key, skip it if unchanged, else run and record it."""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from shellac.engine.errors import ShellacError
from shellac.engine.fixity import sha256_file, sha256_json
from shellac.engine.paths import check_master, refuse_write_inside
from shellac.stages.base import MasterInfo, StageContext
from shellac.stages.code_hash import stage_code_hash
from shellac.stages.fixity import verify_master, withdraw_outputs
from shellac.stages.models import ModelStore
from shellac.stages.profiles import Plan, Step, load_plan
from shellac.stages.registry import get_stage
from shellac.stages.state import (
    ArtifactRecord,
    RecordingState,
    load_state,
    recording_lock,
    save_state,
    utc_now,
)

# Pseudo-artifacts the executor provides itself rather than a previous stage.
MASTER = "master"
HISTORY = "history"
METADATA = "metadata"  # the recording's catalog metadata (title, performer...), hashed


class RecordingJob(BaseModel):
    """Everything needed to process one recording; JSON-serialisable, so a flow can take it."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    recording_id: str
    collection: str = ""
    master_path: str
    recording_dir: str
    base_dir: str = Field(description="Directory that relative path parameters resolve against.")
    models_dir: str | None = None
    profile: str
    profile_dirs: list[str] = Field(
        default_factory=list, description="Folders searched for <profile>.toml before built-ins."
    )
    overrides: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="stage -> parameter -> value over the profile's."
    )
    device: str = "cpu"
    metadata: dict[str, str] = Field(default_factory=dict)
    source_root: str | None = Field(
        default=None, description="Folder of the masters: never written; masters must lie inside it."
    )
    allow_external_master: bool = Field(
        default=False, description="Accept a master whose real path leaves source_root."
    )


def guard_writes(job: RecordingJob) -> None:
    """Refuse to work when the recording's folder (real path) overlaps the source root."""
    if job.source_root is not None:
        refuse_write_inside(job.recording_dir, job.source_root, f"work folder of {job.recording_id}")


def job_plan(job: RecordingJob) -> Plan:
    """The validated plan of a job's profile with its overrides applied."""
    return load_plan(
        job.profile,
        search_dirs=tuple(Path(d) for d in job.profile_dirs),
        overrides=job.overrides,
    )


@dataclass(frozen=True)
class StepResult:
    """Outcome of one step: ``ran`` or ``skipped`` (unchanged key, outputs intact)."""

    stage: str
    outcome: str
    key: str
    duration_s: float


def begin_recording(job: RecordingJob, plan: Plan) -> RecordingState:
    """Load or create the recording's state and mark it running under ``plan``."""
    guard_writes(job)
    rec_dir = Path(job.recording_dir)
    state = load_state(rec_dir) or RecordingState(recording_id=job.recording_id)
    state.collection = job.collection
    state.profile = plan.profile
    state.master = job.master_path
    state.plan = [s.stage for s in plan.steps]
    state.status = "running"
    state.error = None
    state.error_stage = None
    save_state(rec_dir, state)
    return state


def finish_recording(job: RecordingJob, *, error: BaseException | None = None) -> RecordingState:
    """Mark the recording done, or failed with a readable reason."""
    guard_writes(job)
    rec_dir = Path(job.recording_dir)
    state = load_state(rec_dir) or RecordingState(recording_id=job.recording_id)
    if error is None:
        state.status = "done"
        state.error = state.error_stage = state.withdrawn = None
    else:
        state.status = "cancelled" if is_interruption(error) else "failed"
        state.error = state.error or describe_error(error)
    save_state(rec_dir, state)
    return state


def is_interruption(exc: BaseException) -> bool:
    """Whether ``exc`` stopped the work from outside (a signal, a cancellation), not a fault.

    Such exceptions (KeyboardInterrupt, SystemExit, the orchestrator's termination
    signal) derive from ``BaseException`` but not ``Exception``.
    """
    return not isinstance(exc, Exception)


def describe_error(exc: BaseException) -> str:
    """A one-line, human-readable reason: our own errors as they are, others with their type."""
    if isinstance(exc, ShellacError):
        return str(exc)
    if is_interruption(exc):
        return f"cancelled: stopped from outside ({type(exc).__name__}); a rerun resumes here"
    return f"{type(exc).__name__}: {exc}"


def _verify_outputs(rec_dir: Path, outputs: dict[str, ArtifactRecord]) -> bool:
    for art in outputs.values():
        path = rec_dir / art.path
        if not path.is_file() or sha256_file(path) != art.sha256:
            return False
    return True


def _available_artifacts(state: RecordingState, plan: Plan, index: int) -> dict[str, ArtifactRecord]:
    artifacts: dict[str, ArtifactRecord] = {}
    for step in plan.steps[:index]:
        record = state.stages.get(step.stage)
        if record is None or record.status != "done":
            raise ShellacError(f"stage {step.stage!r} has not finished; cannot run later stages")
        artifacts.update(record.outputs)
    return artifacts


KEPT_ON_RERUN = ("blocks",)
"""What a stage's folder keeps when the stage runs again: block checkpoints, which carry their own
settings key and are verified on load (shellac.engine.blocks.checkpoints)."""


def _clear_stage_dir(stage_dir: Path) -> None:
    """Remove an earlier run's files from ``stage_dir`` before the stage runs again.

    Everything goes but :data:`KEPT_ON_RERUN`: an output the new run does not write (a
    ``generative_rejected.wav`` from an earlier fallback) must not lie beside the new ones
    looking current. Leftovers of writes killed before their rename go too, checkpoints' included.
    """
    for entry in stage_dir.iterdir():
        if entry.name in KEPT_ON_RERUN and entry.is_dir() and not entry.is_symlink():
            for tmp in entry.rglob(".*.tmp*"):
                tmp.unlink(missing_ok=True)
        elif entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            entry.unlink(missing_ok=True)


@dataclass(frozen=True)
class PreparedStep:
    """A step ready to run: its cache key, code hash, consumed input hashes and paths, and its context."""

    key: str
    code_hash: str
    inputs: dict[str, str]
    paths: dict[str, Path]
    ctx: StageContext
    params_json: dict[str, Any]
    model_hash: str | None


def _mark_failed(state: RecordingState, stage_name: str, exc: BaseException) -> None:
    """Record ``exc`` against the step and the recording: failed (cancelled if interrupted), with why."""
    record = state.stage(stage_name)
    record.status = "cancelled" if is_interruption(exc) else "failed"
    record.error = describe_error(exc)
    record.error_type = type(exc).__name__
    state.status = record.status
    state.error = f"{stage_name}: {record.error}"
    if state.withdrawn and state.withdrawn not in state.error:
        state.error += f" (the previous access copy was withdrawn to {state.withdrawn})"
    state.error_stage = stage_name


def job_context(job: RecordingJob, **fields: Any) -> StageContext:
    """The context of ``job``'s stages; ``fields`` give the step's own (code_hash, stage_dir, master, ...).

    With ``code_hash`` alone it is the context a fingerprint needs: models, base directory, device.
    """
    defaults: dict[str, Any] = {"master": MasterInfo(Path(job.master_path)),
                                "stage_dir": Path(job.recording_dir)}
    return StageContext(
        recording_id=job.recording_id,
        metadata=job.metadata,
        recording_dir=Path(job.recording_dir),
        base_dir=Path(job.base_dir),
        models=ModelStore(Path(job.models_dir) if job.models_dir else None),
        device=job.device,
        **{**defaults, **fields},
    )


def unmet_requirements(job: RecordingJob, plan: Plan,
                       steps: range | None = None) -> Iterator[tuple[str, ShellacError | OSError]]:
    """Each of ``steps`` (all by default) whose model bundle or reference cannot be had, with why.

    The step's own fingerprint resolves them exactly as the step will when it runs
    (raising ``ModelLoadingError`` for a missing one); nothing is written.
    """
    for index in steps if steps is not None else range(len(plan.steps)):
        step = plan.steps[index]
        try:
            stage = get_stage(step.stage)
            stage.fingerprint(step.params, job_context(job, code_hash=stage_code_hash(stage)))
        except (ShellacError, OSError) as exc:
            yield step.stage, exc


def check_requirements(job: RecordingJob, plan: Plan, steps: range | None = None) -> None:
    """Before any step runs, refuse a plan one of whose ``steps`` lacks its model or reference.

    A misplaced model or a mistyped reference (:func:`unmet_requirements`) fails the recording
    at once, recorded against the step that needs it as if it had run and failed, instead of
    after every stage before it has run. A read error (``OSError``) is left to the step, whose
    retries treat it as transient.
    """
    for stage_name, exc in unmet_requirements(job, plan, steps):
        if isinstance(exc, ShellacError):
            guard_writes(job)
            rec_dir = Path(job.recording_dir)
            state = load_state(rec_dir) or RecordingState(recording_id=job.recording_id)
            _mark_failed(state, stage_name, exc)
            state.stage(stage_name).ended = utc_now()
            save_state(rec_dir, state)
            raise exc


def prepare_step(
    job: RecordingJob,
    plan: Plan,
    index: int,
    state: RecordingState,
    *,
    progress: Callable[[float, str], None] | None = None,
) -> PreparedStep:
    """Compute step ``index``'s cache key from the content of what it consumes (never paths)."""
    step: Step = plan.steps[index]
    stage = get_stage(step.stage)
    rec_dir = Path(job.recording_dir)
    artifacts = _available_artifacts(state, plan, index)
    inputs: dict[str, str] = {}
    paths: dict[str, Path] = {}
    real_master: Path | None = None
    for name in stage.consumes:
        if name == MASTER:
            real_master = check_master(job.master_path, job.source_root,
                                       allow_outside=job.allow_external_master)
            inputs[name] = sha256_file(real_master)
            paths[name] = real_master
        elif name == HISTORY:
            inputs[name] = sha256_json([state.stages[s.stage].key for s in plan.steps[:index]])
        elif name == METADATA:
            inputs[name] = sha256_json(job.metadata)
        else:
            if name not in artifacts:
                raise ShellacError(
                    f"stage {step.stage!r} needs a {name!r} artifact that no earlier stage made"
                )
            inputs[name] = artifacts[name].sha256
            paths[name] = rec_dir / artifacts[name].path
    code_hash = stage_code_hash(stage)
    ctx = job_context(
        job,
        master=MasterInfo(Path(job.master_path), inputs.get(MASTER, state.master_sha256), real_master),
        stage_dir=rec_dir / f"{index:02d}-{step.stage}",
        history=tuple(state.stages[s.stage].model_dump(mode="json") for s in plan.steps[:index]),
        progress=progress,
        events=tuple(state.events),
        code_hash=code_hash,
    )
    params_json: dict[str, Any] = step.params.model_dump(mode="json")
    model_hash = stage.fingerprint(step.params, ctx)
    key = sha256_json(
        {"stage": stage.name, "version": stage.version, "code": code_hash, "params": params_json,
         "model": model_hash, "inputs": inputs}
    )
    return PreparedStep(key, code_hash, inputs, paths, ctx, params_json, model_hash)


def is_current(job: RecordingJob, plan: Plan | None = None) -> bool:
    """Whether every step of the job's plan would be skipped: nothing to do for this recording.

    Decided from state.json and the same content keys ``execute_step`` computes (the
    master and every output are hashed), so a collection run can leave a finished
    recording alone without starting anything for it. Any doubt (no state, another
    plan, an unreadable state, a missing model) answers ``False``: the run decides.
    ``plan`` is ``job_plan(job)`` when the caller already has it.
    """
    try:
        plan = plan or job_plan(job)
        state = load_state(Path(job.recording_dir))
        if state is None or state.status != "done" or state.plan != [s.stage for s in plan.steps]:
            return False
        for index, step in enumerate(plan.steps):
            record = state.stages.get(step.stage)
            if record is None or record.status != "done":
                return False
            if prepare_step(job, plan, index, state).key != record.key:
                return False
            if not _verify_outputs(Path(job.recording_dir), record.outputs):
                return False
    except (ShellacError, OSError):
        return False
    return True


def execute_step(
    job: RecordingJob,
    plan: Plan,
    index: int,
    *,
    progress: Callable[[float, str], None] | None = None,
) -> StepResult:
    """Run step ``index`` of ``plan`` for ``job`` unless its cache key is unchanged.

    The key hashes the stage name, its code hash (``stage_code_hash``) and manual
    version, the parameters, the model fingerprint and the content hashes of the
    consumed artifacts (never their paths). A failure is recorded in state.json with
    its reason and re-raised; an interruption from outside (cancellation, a stopped
    worker) is recorded as cancelled.
    """
    step: Step = plan.steps[index]
    stage = get_stage(step.stage)
    guard_writes(job)
    rec_dir = Path(job.recording_dir)
    state = load_state(rec_dir) or RecordingState(recording_id=job.recording_id)
    record = state.stage(step.stage)
    started = time.monotonic()
    touched = False  # whether this call changed the record (a skip leaves it as it was)
    later = [s.stage for s in plan.steps[index + 1:]]
    try:
        prepared = prepare_step(job, plan, index, state, progress=progress)
        key = prepared.key
        if MASTER in prepared.inputs:
            verify_master(rec_dir, state, Path(job.master_path), prepared.inputs[MASTER], later)
        if (
            record.status == "done" and record.key == key
            and _verify_outputs(rec_dir, record.outputs)
        ):
            return StepResult(stage.name, "skipped", key, 0.0)

        touched = True
        tag = state.stages.get("tag")
        master_sha = prepared.inputs.get(MASTER)
        if master_sha is not None and tag is not None and tag.inputs.get(MASTER) not in (None, master_sha):
            withdraw_outputs(rec_dir, state, later, "made from an earlier master")
        record.status = "running"
        record.key = None
        record.version = stage.version
        record.code_hash = prepared.code_hash
        record.params = prepared.params_json
        record.params_hash = sha256_json(prepared.params_json)
        record.model_hash = prepared.model_hash
        record.inputs = prepared.inputs
        record.started = utc_now()
        record.ended = record.error = record.error_type = None
        record.attempts += 1
        save_state(rec_dir, state)

        stage_dir = prepared.ctx.stage_dir
        stage_dir.mkdir(parents=True, exist_ok=True)
        _clear_stage_dir(stage_dir)
        output = stage.run(prepared.paths, step.params, prepared.ctx)
        record.outputs = {
            name: ArtifactRecord(path=str(Path(p).resolve().relative_to(rec_dir.resolve())),
                                 sha256=sha256_file(Path(p)))
            for name, p in output.artifacts.items()
        }
        record.metrics = dict(output.metrics)
        record.status = "done"
        record.key = key
        if MASTER in prepared.inputs:
            # Recorded only once a stage accepted the master: a transfer that failed ingest
            # may be replaced freely; one that was restored is guarded by verify_master.
            state.master_sha256 = prepared.inputs[MASTER]
    except BaseException as exc:
        touched = True
        _mark_failed(state, step.stage, exc)
        raise
    finally:
        if touched:
            record.ended = utc_now()
            record.duration_s = round(time.monotonic() - started, 3)
            save_state(rec_dir, state)
    return StepResult(stage.name, "ran", key, record.duration_s or 0.0)


def run_plan(
    job: RecordingJob, plan: Plan, *, progress: Callable[[float, str], None] | None = None
) -> list[StepResult]:
    """Run a whole plan without Prefect (for tests, notebooks and the engine's users).

    Holds the recording's lock throughout; raises ``RecordingBusyError`` if another
    process is working on the same recording, and ``UnsafePathError`` (before writing
    anything) if the recording's folder overlaps the source root.
    """
    guard_writes(job)
    with recording_lock(Path(job.recording_dir)):
        begin_recording(job, plan)
        results = []
        try:
            check_requirements(job, plan)
            for index in range(len(plan.steps)):
                results.append(execute_step(job, plan, index, progress=progress))
        except BaseException as exc:
            finish_recording(job, error=exc)
            raise
        finish_recording(job)
    return results
