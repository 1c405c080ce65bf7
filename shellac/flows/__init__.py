"""Prefect flows: collection runs, per-recording runs, reruns, training; orchestration only."""

from shellac.flows.collection import restore_collection, summary_of
from shellac.flows.recording import restore_recording
from shellac.flows.rerun import rerun_failed
from shellac.flows.training import finetune_model, train_model

__all__ = ["finetune_model", "rerun_failed", "restore_collection", "restore_recording", "summary_of",
           "train_model"]
