"""The remix's four stems in the mix's layout, held in memory or read from files a chunk at a time."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from shellac.engine.audio_io import probe
from shellac.engine.errors import ParameterError
from shellac.engine.stream import read_frames


def to_layout(audio: np.ndarray, channels: int, frames: int) -> np.ndarray:
    """(channels, frames) audio with mono duplicated or stereo folded, trimmed or zero-padded."""
    x = np.asarray(audio, dtype=np.float64)
    if x.shape[0] != channels:
        x = np.repeat(x, channels, axis=0) if x.shape[0] == 1 else x.mean(axis=0, keepdims=True)
        if x.shape[0] != channels:
            raise ParameterError(f"cannot map {audio.shape[0]} channels onto the mix's {channels}")
    if x.shape[1] >= frames:
        return x[:, :frames]
    return np.pad(x, ((0, 0), (0, frames - x.shape[1])))


class Stems(Protocol):
    """The four remix inputs in the mix's layout: ``vocals_separated``, ``accompaniment_separated``,
    ``vocals_restored`` and ``accompaniment``, each (channels, frames)."""

    channels: int
    frames: int

    def read(self, name: str, start: int, stop: int) -> np.ndarray:
        """Frames [start, stop) of stem ``name`` as float64 (channels, stop − start); zeros outside it."""
        ...


@dataclass(frozen=True)
class ArrayStems:
    """Stems held in memory, already in the mix's layout."""

    arrays: Mapping[str, np.ndarray]
    channels: int
    frames: int

    def read(self, name: str, start: int, stop: int) -> np.ndarray:
        """Frames [start, stop) of stem ``name`` (float64, zeros outside it)."""
        out = np.zeros((self.channels, stop - start))
        lo, hi = max(0, start), min(self.frames, stop)
        if hi > lo:
            out[:, lo - start:hi - start] = self.arrays[name][:, lo:hi]
        return out


@dataclass(frozen=True)
class FileStems:
    """Stems in files at the mix's rate, read a chunk at a time and put in its layout (``to_layout``)."""

    paths: Mapping[str, Path]
    channels: int
    frames: int

    def read(self, name: str, start: int, stop: int) -> np.ndarray:
        """Frames [start, stop) of stem ``name`` (float64, zeros outside it and past the mix's end)."""
        out = np.zeros((self.channels, stop - start))
        lo, hi = max(0, start), min(self.frames, stop, probe(self.paths[name]).frames)
        if hi > lo:
            out[:, lo - start:hi - start] = to_layout(read_frames(self.paths[name], lo, hi), self.channels,
                                                      hi - lo)
        return out
