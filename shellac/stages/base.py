"""The stage contract: frozen parameters, the context a stage runs in, and what it returns."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from shellac.stages.models import ModelStore


class StageParams(BaseModel):
    """Base of every stage's parameters: frozen, unknown fields rejected."""

    model_config = ConfigDict(frozen=True, extra="forbid")


@dataclass(frozen=True)
class MasterInfo:
    """The master file of a recording, as identified at ingest."""

    path: Path
    sha256: str | None = None
    real_path: Path | None = None  # after symlinks; what was read


@dataclass(frozen=True)
class StageContext:
    """Everything a stage may know about where it runs; nothing about Prefect."""

    recording_id: str
    metadata: Mapping[str, str]
    master: MasterInfo
    recording_dir: Path
    stage_dir: Path
    base_dir: Path
    models: ModelStore
    code_hash: str  # the stage's code hash (part of its cache key), for keys it keeps itself (blocks)
    device: str = "cpu"
    history: tuple[Mapping[str, Any], ...] = ()
    progress: Callable[[float, str], None] | None = None
    events: tuple[Mapping[str, Any], ...] = ()  # the recording's own PREMIS events (fixity, withdrawal)

    def resolve(self, path: str | Path) -> Path:
        """Resolve a path parameter relative to the collection's catalog directory."""
        p = Path(path).expanduser()
        return p if p.is_absolute() else (self.base_dir / p).resolve()


@dataclass(frozen=True)
class StageOutput:
    """Artifacts a stage wrote (name -> path inside its stage dir) and small metrics."""

    artifacts: Mapping[str, Path]
    metrics: Mapping[str, Any] = field(default_factory=dict)


OomFallback = Callable[[Mapping[str, Any], int], dict[str, Any]]


@dataclass(frozen=True)
class Stage:
    """A registered stage: its name, manual version, parameters and functions.

    The stage's code is keyed automatically: its cache key holds the hash of the
    normalised source of its modules and every Shellac module they import
    (``stages.code_hash``), so a code change reruns the stages it reaches. ``version``
    is bumped by hand only for a change that hash cannot see and that changes outputs:
    a third-party library's behaviour, a data file the code reads. ``fingerprint``
    returns a checksum of the models/reference data the stage will use with these
    parameters (or ``None``), raising ``ModelLoadingError`` when they are missing; it
    is part of the stage's cache key too.
    """

    name: str
    version: str
    params_cls: type[StageParams]
    consumes: tuple[str, ...]
    run: Callable[[Mapping[str, Path], Any, StageContext], StageOutput]
    fingerprint: Callable[[Any, StageContext], str | None]
    description: str = ""
    # Benefits from an accelerator: fanned out to the GPU pool, and holds a `gpu` slot when
    # its device is not the CPU. Flows read this, never the stage's name.
    gpu: bool = False
    # Parameters that make the stage do less work at once on retry ``attempt`` (1, 2, ...)
    # after an out-of-memory, from the parameters it ran with; ``None``: retried as it was.
    oom_fallback: OomFallback | None = None


def no_fingerprint(params: StageParams, ctx: StageContext) -> None:
    """Fingerprint of a stage that uses no model or reference data."""
    return None
