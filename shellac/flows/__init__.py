"""Prefect flows: collection runs, per-recording runs, reruns, training; orchestration only.

The names below load on first use, so a worker starting one recording run (entrypoint
``shellac/flows/recording.py``) does not import the collection, rerun and training flows.
"""

from __future__ import annotations

import importlib
from typing import Any

_WHERE = {
    "restore_collection": "shellac.flows.collection",
    "summary_of": "shellac.flows.collection",
    "restore_recording": "shellac.flows.recording",
    "rerun_failed": "shellac.flows.rerun",
    "finetune_model": "shellac.flows.training",
    "train_model": "shellac.flows.training",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str) -> Any:
    if name not in _WHERE:
        raise AttributeError(f"module 'shellac.flows' has no attribute {name!r}")
    value = getattr(importlib.import_module(_WHERE[name]), name)
    globals()[name] = value
    return value
