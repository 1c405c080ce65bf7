"""How the block driver cuts a recording, scales it, tells each block what it knows, and joins the blocks."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import torch

from shellac.engine.blocks.overlap_add import BlockSpan, block_spans, extract_block, join_block
from shellac.engine.errors import ParameterError
from shellac.engine.restoration.settings import BlockSettings
from shellac.engine.stream import release_pages

SIGMA_NORM = {22050: 0.07, 44100: 1.0}
"""The reference testers' block gain target (blind_bwe.sigma_norm) by model sample rate (Hz)."""


class HandOver(Protocol):
    """Block geometry, gain, known samples and joining: Shellac's, or the BABE-2 reference code's."""

    dtype: type[np.floating]
    """Precision the observation is read in."""

    def spans(self, n_samples: int) -> list[BlockSpan]:
        """The blocks covering ``n_samples``."""
        ...

    def gain(self, y: np.ndarray, spans: list[BlockSpan]) -> float:
        """One gain for the whole recording, into the model's units."""
        ...

    def inputs(self, y: np.ndarray, x0: np.ndarray, span: BlockSpan, gain: float, prev: torch.Tensor | None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Observation, warm start and known-sample mask (1 = known) of one block, scaled."""
        ...

    def join(self, out: np.ndarray, block: torch.Tensor, span: BlockSpan, gain: float) -> None:
        """Write a restored (scaled) block into ``out``, in the input's units."""
        ...


def normalising_gain(y: np.ndarray, spans: list[BlockSpan], target_std: float) -> float:
    """Gain that brings the median block std of ``y`` to ``target_std``.

    BABE-2's per-segment normalisation: one gain for the whole recording, so
    quiet passages stay quiet relative to loud ones. A memory-mapped ``y`` is
    read a block at a time, never held whole.
    """
    stds = []
    for s in spans:
        stds.append(float(np.std(y[s.start:s.start + s.valid])))
        release_pages(y, s.start + s.valid)
    audible = [s for s in stds if s > 1e-8]
    if not audible:
        raise ParameterError("the recording is silent: no block has any signal to restore")
    return float(target_std / np.median(audible))


class ShellacHandOver:
    """Shellac's blocks: median block std to σ_data, the previous block's end known, Hann crossfades.

    Block i > 0 starts with its first ``overlap`` samples known: they are the end
    of block i − 1 as restored, in y and in the warm start. The padding past the
    recording's end is not known: the operators leave it unobserved (marked known,
    it pulled the sampler to digital silence right beside the music, and the
    outputs swelled over their last 100 ms; session 23). Works on memory-mapped
    float32 signals.
    """

    dtype = np.float32

    def __init__(self, blocks: BlockSettings, target_std: float) -> None:
        self.blocks = blocks
        self.target_std = target_std

    def spans(self, n_samples: int) -> list[BlockSpan]:
        """Blocks of the segment length overlapping by ``blocks.overlap`` samples."""
        return block_spans(n_samples, self.blocks.segment_length, self.blocks.overlap)

    def gain(self, y: np.ndarray, spans: list[BlockSpan]) -> float:
        """:func:`normalising_gain` to σ_data."""
        return normalising_gain(y, spans, self.target_std)

    def inputs(self, y: np.ndarray, x0: np.ndarray, span: BlockSpan, gain: float, prev: torch.Tensor | None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """The block of y and of the warm start, their first samples replaced by the end of ``prev``."""
        overlap = self.blocks.overlap
        y_block = torch.from_numpy(extract_block(y, span) * np.float32(gain))
        x_block = torch.from_numpy(extract_block(x0, span) * np.float32(gain))
        known = torch.zeros(span.length)
        if prev is not None and overlap > 0:
            known[:overlap] = 1.0
            y_block[:overlap] = prev[-overlap:]
            x_block[:overlap] = prev[-overlap:]
        return y_block, x_block, known

    def join(self, out: np.ndarray, block: torch.Tensor, span: BlockSpan, gain: float) -> None:
        """Scale back, then crossfade into ``out`` (joining is linear)."""
        join_block(out, block.numpy().astype(np.float64) / gain, span, self.blocks.overlap)


def reference_segment_starts(length: int, segment_length: int, overlap: int) -> list[int]:
    """Block starts: every segment_length − overlap samples while a whole block fits, then one zero-padded."""
    if segment_length <= overlap:
        raise ParameterError(f"overlap {overlap} must be shorter than the segment ({segment_length})")
    starts, ix = [], 0
    while ix + segment_length < length:
        starts.append(ix)
        ix += segment_length - overlap
    starts.append(ix)
    return starts


def _cut(signal: torch.Tensor, start: int, segment_length: int) -> torch.Tensor:
    seg = signal[start:start + segment_length]
    return torch.cat([seg, seg.new_zeros(segment_length - seg.shape[0])])


def reference_block_std(signal: torch.Tensor, starts: list[int], segment_length: int) -> float:
    """torch.median (lower middle value) of the blocks' unbiased stds, the zero-padded last one included."""
    stds = torch.stack([_cut(signal, s, segment_length).std() for s in starts])
    return float(torch.median(stds))


class ReferenceHandOver:
    """The BABE-2 reference evaluator's blocks, held in memory (float64).

    Every block is scaled by σ_norm / (median block std of y). Block i > 0
    receives y with its first samples (those already written) replaced by the
    output so far and marked known; its warm start is the block of ``x_init``
    itself, not the previous output; the padding past the end is unknown. The
    start of each new block is crossfaded with the written output by the two
    halves of a periodic Hann window as long as the known part.
    """

    dtype = np.float64

    def __init__(self, segment_length: int, overlap_fraction: float, sigma_norm: float) -> None:
        self.segment_length = segment_length
        self.overlap = int(overlap_fraction * segment_length)
        self.sigma_norm = sigma_norm
        self.result = torch.zeros(0, dtype=torch.float64)
        self.written = torch.zeros(0, dtype=torch.float64)

    def spans(self, n_samples: int) -> list[BlockSpan]:
        """:func:`reference_segment_starts`, as spans; allocates the scaled output so far."""
        starts = reference_segment_starts(n_samples, self.segment_length, self.overlap)
        self.result = torch.zeros(starts[-1] + self.segment_length, dtype=torch.float64)
        self.written = torch.zeros_like(self.result)
        return [BlockSpan(i, s, s + self.segment_length, min(self.segment_length, n_samples - s))
                for i, s in enumerate(starts)]

    def gain(self, y: np.ndarray, spans: list[BlockSpan]) -> float:
        """σ_norm over :func:`reference_block_std`."""
        std = reference_block_std(torch.as_tensor(y), [s.start for s in spans], self.segment_length)
        if not std > 0:
            raise ParameterError("the recording is silent: no block has any signal to restore")
        return self.sigma_norm / std

    def inputs(self, y: np.ndarray, x0: np.ndarray, span: BlockSpan, gain: float, prev: torch.Tensor | None
               ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """y with the written samples as output so far, the warm start's own block, the mask [1, T]."""
        region = slice(span.start, span.stop)
        mask, previous = self.written[region], self.result[region]
        y_block = mask * previous + (1.0 - mask) * _cut(torch.as_tensor(y), span.start, span.length) * gain
        x_block = _cut(torch.as_tensor(x0), span.start, span.length) * gain
        return y_block.float(), x_block.float(), mask[None].float()

    def join(self, out: np.ndarray, block: torch.Tensor, span: BlockSpan, gain: float) -> None:
        """Crossfade over the known part, write the block, and ``out`` = output so far / gain."""
        region = slice(span.start, span.stop)
        pred, mask = block.to(torch.float64), self.written[region]
        if bool(mask[0] == 1):
            known = int(torch.nonzero(mask == 0)[0])
            hann = torch.hann_window(2 * known, dtype=torch.float64)
            pred[:known] = pred[:known] * hann[:known] + self.result[region][:known] * hann[known:]
        self.result[region] = pred
        self.written[region] = 1.0
        done = slice(span.start, span.start + span.valid)
        out[done] = (self.result[done] / gain).numpy()
