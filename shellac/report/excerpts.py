"""Short before/after audio excerpts for the report's players: the same window of master and access copy."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import numpy as np

from shellac.engine.audio_io import probe, read_audio, write_audio

EXCERPT_S = 10.0
# A short fade at both ends, so the cut itself does not sound like a click (this is a declicking tool).
FADE_S = 0.01


@dataclass(frozen=True)
class Excerpt:
    """The two excerpt files of one recording, as URLs relative to the report, and their window in seconds."""

    before_url: str
    after_url: str
    start_s: float
    length_s: float


def excerpt_window(duration_s: float, length_s: float = EXCERPT_S) -> tuple[float, float]:
    """(start, length) in seconds: the middle ``length_s`` of the recording, or all of it if shorter.

    The middle is a neutral choice: neither the lead-in groove noise nor a hand-picked passage.
    """
    length = min(length_s, duration_s)
    return (duration_s - length) / 2.0, length


def write_excerpt(source: Path, target: Path, start_s: float, length_s: float) -> None:
    """Write ``length_s`` seconds of ``source`` from ``start_s`` to ``target`` (16-bit FLAC, faded ends).

    Written atomically; the channels and sample rate of ``source`` are kept.
    """
    info = probe(source)
    start = min(int(round(start_s * info.sample_rate)), info.frames - 1)
    frames = max(1, min(int(round(length_s * info.sample_rate)), info.frames - start))
    audio, sr = read_audio(source, start=start, frames=frames)
    fade = min(int(FADE_S * sr), audio.shape[1] // 2)
    if fade > 0:
        ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, fade, dtype=np.float32))
        audio[:, :fade] *= ramp
        audio[:, -fade:] *= ramp[::-1]
    write_audio(target, audio, sr, bit_depth=16)


def write_excerpts(rec_id: str, before: Path | None, after: Path | None, folder: Path,
                   relative_to: Path, length_s: float = EXCERPT_S) -> Excerpt | None:
    """Write ``<id>-before.flac`` and ``<id>-after.flac`` under ``folder``: the same window of both.

    Returns ``None`` (and removes excerpts an earlier report left) when either file is
    missing. URLs are relative to ``relative_to``, the folder holding the report.
    """
    targets = (folder / f"{rec_id}-before.flac", folder / f"{rec_id}-after.flac")
    if before is None or after is None:
        for target in targets:
            target.unlink(missing_ok=True)
        return None
    start, length = excerpt_window(probe(before).duration_s, length_s)
    for source, target in zip((before, after), targets, strict=True):
        write_excerpt(source, target, start, length)
    urls = (quote(target.relative_to(relative_to).as_posix()) for target in targets)
    return Excerpt(*urls, start_s=start, length_s=length)
