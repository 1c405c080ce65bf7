"""Turn a catalog into recording jobs, choose which to run, and read back their states."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from shellac.catalogs import Catalog, Recording
from shellac.stages.chain import RecordingJob
from shellac.stages.state import RecordingState, load_state

Selection = Literal["all", "pending", "failed"]


def recording_dir(catalog: Catalog, recording: Recording) -> Path:
    """``<output_root>/<collection>/<id>/``."""
    return catalog.config.collection_dir / recording.id


def build_job(
    catalog: Catalog, recording: Recording, *, models_dir: Path | None = None, device: str = "cpu"
) -> RecordingJob:
    """The job for one catalog row: master, work dir, profile and its collection overrides."""
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
        overrides=catalog.config.profile_overrides.get(profile, {}),
        device=device,
        metadata=recording.metadata(),
    )


@dataclass(frozen=True)
class RecordingStatus:
    """A recording's catalog row with its state (``None`` if it never ran)."""

    recording: Recording
    directory: Path
    state: RecordingState | None

    @property
    def status(self) -> str:
        """done, failed, running, or pending."""
        return self.state.status if self.state else "pending"


def collection_status(catalog: Catalog) -> list[RecordingStatus]:
    """The state of every valid recording of ``catalog``, in catalog order."""
    return [
        RecordingStatus(rec, recording_dir(catalog, rec), load_state(recording_dir(catalog, rec)))
        for rec in catalog.recordings
    ]


def select_recordings(catalog: Catalog, only: Selection) -> list[Recording]:
    """``all`` recordings (finished stages are still skipped by their keys), those not yet
    ``done`` (``pending``), or only those whose last run ``failed``."""
    if only == "all":
        return list(catalog.recordings)
    wanted = {"pending": {"pending", "running", "failed"}, "failed": {"failed"}}[only]
    return [s.recording for s in collection_status(catalog) if s.status in wanted]
