"""Per-block checkpoints of a block-autoregressive restoration, so a killed run resumes at the next block."""

from __future__ import annotations

import io
import json
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from shellac.engine.atomic import atomic_write_bytes, atomic_write_json

MANIFEST = "manifest.json"
FORMAT_VERSION = 1


@dataclass(frozen=True)
class BlockCheckpoint:
    """One finished block: its restored samples (scaled domain), the filter state after it, its report."""

    index: int
    audio: torch.Tensor
    filter_state: dict[str, Any] | None
    report: dict[str, Any]


class BlockCheckpointStore:
    """A folder of ``block_NNNNN.pt`` files tied to one run key.

    The run key hashes everything that decides the result (observation, model,
    settings, seed). Opening the store with another key discards the old blocks,
    so a resume can never mix blocks of two different runs.
    """

    def __init__(self, directory: Path, run_key: str) -> None:
        self.directory = Path(directory)
        self.run_key = run_key
        manifest = self.directory / MANIFEST
        current: dict[str, Any] = {}
        if manifest.is_file():
            try:
                current = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                current = {}
        if current.get("run_key") != run_key or current.get("format_version") != FORMAT_VERSION:
            if self.directory.exists():
                shutil.rmtree(self.directory)
            self.directory.mkdir(parents=True)
            atomic_write_json(manifest, {"run_key": run_key, "format_version": FORMAT_VERSION})

    def _path(self, index: int) -> Path:
        return self.directory / f"block_{index:05d}.pt"

    def save(self, checkpoint: BlockCheckpoint) -> None:
        """Write one block atomically."""
        buffer = io.BytesIO()
        torch.save(
            {"index": checkpoint.index, "audio": checkpoint.audio.detach().cpu().contiguous(),
             "filter_state": checkpoint.filter_state, "report": checkpoint.report},
            buffer,
        )
        atomic_write_bytes(self._path(checkpoint.index), buffer.getvalue())

    def load(self, index: int) -> BlockCheckpoint | None:
        """The checkpoint of block ``index``, or None if it is absent or unreadable."""
        path = self._path(index)
        if not path.is_file():
            return None
        try:
            # Our own files, written by save(); they hold tensors, dicts and floats only.
            data = torch.load(path, map_location="cpu", weights_only=True)
        except (OSError, RuntimeError, ValueError, EOFError):
            return None
        return BlockCheckpoint(int(data["index"]), data["audio"], data["filter_state"], data["report"])

    def finished(self) -> int:
        """Number of consecutive finished blocks from block 0."""
        count = 0
        while self._path(count).is_file():
            count += 1
        return count
