"""Cost measurements for a benchmark row: network evaluations, wall time and peak memory."""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import torch

from shellac.engine.diffusion.guidance import Denoiser

_STATM = Path("/proc/self/statm")


class CountingDenoiser:
    """Wraps a denoiser and counts network evaluations (one per batch item per call)."""

    def __init__(self, denoiser: Denoiser) -> None:
        self.denoiser = denoiser
        self.calls = 0

    def __call__(self, x: torch.Tensor, sigma: float) -> torch.Tensor:
        """Evaluate the wrapped denoiser and count it."""
        self.calls += int(x.shape[0])
        return self.denoiser(x, sigma)


def resident_bytes() -> int | None:
    """Resident set size of this process in bytes (Linux /proc), None elsewhere."""
    try:
        pages = int(_STATM.read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE")


@dataclass
class PeakMemory:
    """Peak memory over a ``with`` block.

    Attributes
    ----------
    rss_peak_bytes
        Highest resident set size seen (sampled every ``interval_s`` seconds), bytes.
    rss_increase_bytes
        That peak minus the resident size when the block started: what the row
        itself needed on top of the loaded model and the data.
    cuda_peak_bytes
        ``torch.cuda.max_memory_allocated`` over the block on ``device`` (CUDA only).
    """

    device: torch.device
    interval_s: float = 0.005
    rss_peak_bytes: int | None = None
    rss_increase_bytes: int | None = None
    cuda_peak_bytes: int | None = None

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._start_rss: int | None = None

    def _poll(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval_s)

    def _sample(self) -> None:
        rss = resident_bytes()
        if rss is not None and (self.rss_peak_bytes is None or rss > self.rss_peak_bytes):
            self.rss_peak_bytes = rss

    def __enter__(self) -> PeakMemory:
        self._start_rss = resident_bytes()
        self.rss_peak_bytes = self._start_rss
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        self._thread = threading.Thread(target=self._poll, name="peak-memory", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        self._sample()
        if self._start_rss is not None and self.rss_peak_bytes is not None:
            self.rss_increase_bytes = self.rss_peak_bytes - self._start_rss
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
            self.cuda_peak_bytes = int(torch.cuda.max_memory_allocated(self.device))


class Stopwatch:
    """Wall-clock seconds over a ``with`` block (CUDA work is synchronised at both ends)."""

    def __init__(self, device: torch.device) -> None:
        self.device = device
        self.seconds = 0.0
        self._start = 0.0

    def __enter__(self) -> Stopwatch:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self._start = time.perf_counter()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        self.seconds = time.perf_counter() - self._start
