"""The one block utility: split a signal into overlapping blocks and join them back with Hann crossfades."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from shellac.engine.errors import ParameterError


@dataclass(frozen=True)
class BlockSpan:
    """Block ``index`` covers samples [start, stop) of the signal; ``valid`` of its samples are real."""

    index: int
    start: int
    stop: int
    valid: int

    @property
    def length(self) -> int:
        """Block length in samples (padding included)."""
        return self.stop - self.start


def block_spans(n_samples: int, block_length: int, overlap: int) -> list[BlockSpan]:
    """Cover ``n_samples`` with blocks of ``block_length`` overlapping by ``overlap`` samples.

    Block i starts at i·(block_length − overlap). The last block may run past the
    end; its ``valid`` count says how many of its samples exist (the rest is padding).
    """
    if block_length <= 0 or not 0 <= overlap < block_length:
        raise ParameterError(
            f"need 0 <= overlap ({overlap}) < block_length ({block_length}), both in samples"
        )
    if n_samples <= 0:
        raise ParameterError("cannot split an empty signal into blocks")
    hop = block_length - overlap
    spans = []
    start = 0
    index = 0
    while True:
        valid = min(block_length, n_samples - start)
        spans.append(BlockSpan(index, start, start + block_length, valid))
        if start + block_length >= n_samples:
            return spans
        start += hop
        index += 1


def crossfade(overlap: int) -> tuple[np.ndarray, np.ndarray]:
    """Hann fade-out and fade-in of ``overlap`` samples; they sum to exactly 1 at every sample."""
    if overlap == 0:
        return np.zeros(0), np.zeros(0)
    phase = (np.arange(overlap) + 0.5) / overlap * (np.pi / 2)
    fade_in = np.sin(phase) ** 2
    return 1.0 - fade_in, fade_in


def extract_block(signal: np.ndarray, span: BlockSpan) -> np.ndarray:
    """The samples of ``span`` from a (..., frames) signal, zero-padded past the end."""
    block = signal[..., span.start:span.start + span.valid]
    if span.valid < span.length:
        pad = [(0, 0)] * (signal.ndim - 1) + [(0, span.length - span.valid)]
        block = np.pad(block, pad)
    return block


def join_block(out: np.ndarray, block: np.ndarray, span: BlockSpan, overlap: int) -> None:
    """Write ``block`` into ``out`` in place, crossfading its first ``overlap`` samples.

    ``out`` must already hold the previous block's samples over the overlap; the
    first block (index 0) is copied without a fade.
    """
    n = span.valid
    if span.index == 0 or overlap == 0:
        out[..., span.start:span.start + n] = block[..., :n]
        return
    fade_out, fade_in = crossfade(overlap)
    k = min(overlap, n)
    head = slice(span.start, span.start + k)
    out[..., head] = out[..., head] * fade_out[:k] + block[..., :k] * fade_in[:k]
    out[..., span.start + k:span.start + n] = block[..., k:n]


def overlap_add(blocks: list[np.ndarray], spans: list[BlockSpan], overlap: int, n_samples: int) -> np.ndarray:
    """Join processed blocks into a signal of ``n_samples`` with Hann crossfades over the overlaps."""
    if len(blocks) != len(spans):
        raise ParameterError(f"{len(blocks)} blocks for {len(spans)} spans")
    out = np.zeros(blocks[0].shape[:-1] + (n_samples,), dtype=np.float64)
    for block, span in zip(blocks, spans, strict=True):
        join_block(out, block, span, overlap)
    return out
