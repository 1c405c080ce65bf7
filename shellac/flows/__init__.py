"""Prefect flows: collection runs, per-recording runs, reruns; orchestration only."""

from shellac.flows.collection import restore_collection
from shellac.flows.recording import restore_recording

__all__ = ["restore_collection", "restore_recording"]
