"""Per-recording state.json: each stage's status, cache key, hashes, timings and error, saved atomically."""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import fcntl
import json
import os
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from shellac.engine.atomic import atomic_write_json
from shellac.engine.errors import ShellacError

STATE_FILE = "state.json"
LOCK_FILE = ".lock"
STATE_VERSION = 1

# "cancelled": stopped from outside (a cancelled flow run, a stopped worker), not by its input.
StageStatus = Literal["pending", "running", "done", "failed", "cancelled"]
RecordingStatus = Literal["pending", "running", "done", "failed", "cancelled"]


class StateError(ShellacError):
    """A state.json cannot be read or written."""


class RecordingBusyError(StateError):
    """Another process holds the recording's lock: it is being processed right now."""


def utc_now() -> str:
    """Current UTC time, ISO 8601 with seconds."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


class ArtifactRecord(BaseModel):
    """An artifact a stage wrote: path relative to the recording dir, and its content hash."""

    model_config = ConfigDict(extra="forbid")
    path: str
    sha256: str


class StageRecord(BaseModel):
    """What state.json remembers of one stage."""

    model_config = ConfigDict(extra="forbid")
    stage: str
    status: StageStatus = "pending"
    key: str | None = None
    version: str | None = Field(default=None, description="The stage's manual version (Stage.version).")
    code_hash: str | None = Field(
        default=None, description="sha256 of the stage's normalised code and the Shellac modules it "
        "imports (stages.code_hash); absent in records written before code hashes were keyed.",
    )
    params: dict[str, Any] = Field(default_factory=dict)
    params_hash: str | None = None
    model_hash: str | None = None
    inputs: dict[str, str] = Field(default_factory=dict, description="artifact -> sha256")
    outputs: dict[str, ArtifactRecord] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)
    started: str | None = None
    ended: str | None = None
    duration_s: float | None = None
    attempts: int = 0
    error: str | None = None
    error_type: str | None = None


class RecordingState(BaseModel):
    """state.json of one recording."""

    model_config = ConfigDict(extra="forbid")
    state_version: int = STATE_VERSION
    recording_id: str
    collection: str = ""
    profile: str = ""
    master: str = ""
    master_sha256: str | None = None
    status: RecordingStatus = "pending"
    plan: list[str] = Field(default_factory=list)
    stages: dict[str, StageRecord] = Field(default_factory=dict)
    error: str | None = None
    error_stage: str | None = None
    events: list[dict[str, Any]] = Field(
        default_factory=list,
        description="PREMIS events outside the stages: fixity checks that failed, masters accepted, "
        "access copies withdrawn.",
    )
    withdrawn: str | None = Field(
        default=None, description="Where the last access copy went when it was withdrawn as stale."
    )
    created: str = Field(default_factory=utc_now)
    updated: str = Field(default_factory=utc_now)

    def stage(self, name: str) -> StageRecord:
        """The record of stage ``name``, created as pending if absent."""
        if name not in self.stages:
            self.stages[name] = StageRecord(stage=name)
        return self.stages[name]

    def total_duration_s(self) -> float:
        """Sum of the recorded stage durations, in seconds."""
        return float(sum(r.duration_s or 0.0 for r in self.stages.values()))


def state_path(recording_dir: Path) -> Path:
    """Path of a recording's state.json."""
    return Path(recording_dir) / STATE_FILE


def load_state(recording_dir: Path) -> RecordingState | None:
    """Read state.json, or ``None`` when the recording has never run."""
    path = state_path(recording_dir)
    if not path.exists():
        return None
    try:
        return RecordingState.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, ValidationError) as exc:
        raise StateError(
            f"{path} is unreadable ({exc}); move it aside to restart this recording from scratch"
        ) from exc


def read_state(recording_dir: Path, recording_id: str) -> RecordingState | None:
    """Like :func:`load_state`, but an unreadable state.json reads as a failed recording.

    For status, reports and summaries: one damaged file fails its own recording only.
    """
    try:
        return load_state(recording_dir)
    except StateError as exc:
        return RecordingState(recording_id=recording_id, status="failed", error=str(exc))


def save_state(recording_dir: Path, state: RecordingState) -> None:
    """Write state.json atomically (temp file + rename)."""
    state.updated = utc_now()
    atomic_write_json(state_path(recording_dir), state.model_dump(mode="json"))


def _try_lock(fd: int, mode: int, wait_s: float) -> bool:
    # A status probe holds a shared lock for microseconds; a short wait lets a run ride it out.
    deadline = time.monotonic() + wait_s
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return True
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)


def lock_holder(recording_dir: Path) -> str | None:
    """Who holds the recording's lock ("pid N on HOST since TIME"), or None when nobody does.

    Reads only: a recording that never ran, or whose run died, has no holder.
    """
    path = Path(recording_dir) / LOCK_FILE
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if _try_lock(fd, fcntl.LOCK_SH, 0.0):
            return None
        return os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "another process"
    finally:
        os.close(fd)


@contextlib.contextmanager
def recording_lock(recording_dir: Path, *, wait_s: float = 1.0) -> Iterator[None]:
    """Hold an exclusive lock on a recording so two runs never process it at once.

    Raises ``RecordingBusyError`` (after at most ``wait_s`` seconds) if another process
    holds it, naming the holder. The lock is an OS file lock: it is released if the
    holder dies, even by kill -9, so a lock left by a dead run is simply taken over
    (reclaimed); the lock file records the holder's pid, host and start time.
    """
    recording_dir = Path(recording_dir)
    recording_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(recording_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        if not _try_lock(fd, fcntl.LOCK_EX, wait_s):
            holder = os.pread(fd, 512, 0).decode("utf-8", "replace").strip() or "another process"
            raise RecordingBusyError(
                f"{recording_dir.name} is busy: another run is processing it ({holder}; lock "
                f"{recording_dir / LOCK_FILE}); it was left alone by this run"
            )
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()} on {socket.gethostname()} since {utc_now()}".encode(), 0)
        yield
    finally:
        os.close(fd)
