"""Broadcast Wave: write and read the EBU Tech 3285 v2 ``bext`` chunk of a RIFF/WAVE file."""

from __future__ import annotations

import struct
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shellac.engine.atomic import atomic_path
from shellac.engine.errors import AudioLoadError, AudioWriteError

# Field widths in bytes (EBU Tech 3285 v2, section 2.3); the fixed part is 602 bytes.
_FIXED = struct.Struct("<256s32s32s10s8sIIH64shhhhh180s")
BEXT_VERSION = 2
# Loudness fields hold 100 x the value; 0x7FFF marks one that was not measured.
LOUDNESS_UNSET = 0x7FFF
_RIFF_MAX = 0xFFFFFFFF


@dataclass(frozen=True)
class BextInfo:
    """The fields of a ``bext`` chunk (text fields ASCII, truncated to their width)."""

    description: str = ""
    originator: str = ""
    originator_reference: str = ""
    origination_date: str = ""  # yyyy-mm-dd
    origination_time: str = ""  # hh-mm-ss
    time_reference: int = 0  # samples since midnight of the first sample
    version: int = BEXT_VERSION
    umid: bytes = b""
    loudness_value: float | None = None  # LUFS
    loudness_range: float | None = None  # LU
    max_true_peak_level: float | None = None  # dBTP
    max_momentary_loudness: float | None = None  # LUFS
    max_short_term_loudness: float | None = None  # LUFS
    coding_history: str = ""


def ascii_text(text: str) -> str:
    """``text`` folded to printable ASCII (accents dropped), as ``bext`` text fields require."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    return "".join(ch if 32 <= ord(ch) < 127 or ch in "\r\n" else " " for ch in folded)


def coding_history_line(*, algorithm: str = "PCM", sample_rate: int, bit_depth: int,
                        channels: int, text: str) -> str:
    """One EBU R 98 coding-history line, CR/LF terminated.

    Example: ``A=PCM,F=48000,W=24,M=mono,T=Shellac 0.1.0 denoise``.
    """
    mode = {1: "mono", 2: "stereo"}.get(channels, f"{channels}-channel")
    # Commas separate R 98 parameters, so the free text must not contain one.
    return (f"A={algorithm},F={int(sample_rate)},W={int(bit_depth)},M={mode},"
            f"T={ascii_text(text).replace(',', ';')}\r\n")


def _field(text: str, width: int) -> bytes:
    return ascii_text(text).encode("ascii")[:width]


def _loudness(value: float | None) -> int:
    return LOUDNESS_UNSET if value is None else int(round(value * 100))


def encode_bext(info: BextInfo) -> bytes:
    """The ``bext`` chunk body (without its 8-byte header or pad byte)."""
    if len(info.umid) not in (0, 32, 64):
        raise AudioWriteError(f"UMID must be 32 or 64 bytes (SMPTE 330M), got {len(info.umid)}")
    history = ascii_text(info.coding_history)
    return _FIXED.pack(
        _field(info.description, 256), _field(info.originator, 32),
        _field(info.originator_reference, 32), _field(info.origination_date, 10),
        _field(info.origination_time, 8),
        info.time_reference & 0xFFFFFFFF, info.time_reference >> 32, info.version,
        info.umid.ljust(64, b"\0"),
        _loudness(info.loudness_value), _loudness(info.loudness_range),
        _loudness(info.max_true_peak_level), _loudness(info.max_momentary_loudness),
        _loudness(info.max_short_term_loudness), b"\0" * 180,
    ) + history.encode("ascii")


def decode_bext(body: bytes) -> BextInfo:
    """Parse a ``bext`` chunk body written by any conforming writer."""
    if len(body) < _FIXED.size:
        raise AudioLoadError(f"bext chunk of {len(body)} bytes is shorter than {_FIXED.size}")
    f = _FIXED.unpack_from(body)

    def text(raw: bytes) -> str:
        return raw.split(b"\0", 1)[0].decode("ascii", "replace")

    def loud(raw: int) -> float | None:
        return None if raw == LOUDNESS_UNSET else raw / 100

    return BextInfo(
        description=text(f[0]), originator=text(f[1]), originator_reference=text(f[2]),
        origination_date=text(f[3]), origination_time=text(f[4]),
        time_reference=f[5] | (f[6] << 32), version=f[7], umid=f[8].rstrip(b"\0"),
        loudness_value=loud(f[9]), loudness_range=loud(f[10]), max_true_peak_level=loud(f[11]),
        max_momentary_loudness=loud(f[12]), max_short_term_loudness=loud(f[13]),
        coding_history=text(body[_FIXED.size:]),
    )


@dataclass(frozen=True)
class Chunk:
    """One RIFF sub-chunk: its id, body size in bytes and body offset in the file."""

    id: str
    size: int
    offset: int


def riff_chunks(path: Path) -> list[Chunk]:
    """The sub-chunks of a RIFF/WAVE file, in file order.

    Raises
    ------
    AudioLoadError
        If the file is not RIFF/WAVE or a chunk runs past the end of the file.
    """
    path = Path(path)
    size = path.stat().st_size
    chunks = []
    with open(path, "rb") as fh:
        head = fh.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise AudioLoadError(f"{path.name} is not a RIFF/WAVE file")
        pos = 12
        while pos + 8 <= size:
            fh.seek(pos)
            cid, csize = struct.unpack("<4sI", fh.read(8))
            if pos + 8 + csize > size:
                raise AudioLoadError(f"{path.name}: chunk {cid!r} runs past the end of the file")
            chunks.append(Chunk(cid.decode("latin-1"), csize, pos + 8))
            pos += 8 + csize + (csize & 1)
    return chunks


def read_bext(path: Path) -> BextInfo:
    """The ``bext`` chunk of a WAVE file.

    Raises
    ------
    AudioLoadError
        If the file has no ``bext`` chunk.
    """
    for chunk in riff_chunks(path):
        if chunk.id == "bext":
            with open(path, "rb") as fh:
                fh.seek(chunk.offset)
                return decode_bext(fh.read(chunk.size))
    raise AudioLoadError(f"{Path(path).name} has no bext chunk (not a Broadcast Wave file)")


def _copy_range(src, dst, offset: int, length: int) -> None:  # type: ignore[no-untyped-def]
    src.seek(offset)
    remaining = length
    while remaining:
        buf = src.read(min(remaining, 1 << 20))
        if not buf:
            raise AudioLoadError("file shrank while it was being copied")
        dst.write(buf)
        remaining -= len(buf)


def write_bext(path: Path, info: BextInfo, *, drop: Sequence[str] = ()) -> None:
    """Put a ``bext`` chunk into the WAVE file at ``path``, just after ``fmt``, before ``data``.

    Any earlier ``bext`` (and chunks named in ``drop``) is replaced; every other
    chunk is copied unchanged. The file is rewritten atomically, chunks padded
    to even length and the RIFF size recomputed.

    Raises
    ------
    AudioWriteError
        If the result would exceed the 4 GiB RIFF limit (RF64 is not supported).
    """
    path = Path(path)
    chunks = [c for c in riff_chunks(path) if c.id != "bext" and c.id not in drop]
    if not any(c.id == "data" for c in chunks) or not any(c.id == "fmt " for c in chunks):
        raise AudioLoadError(f"{path.name} lacks a fmt or data chunk")
    body = encode_bext(info)
    bext = struct.pack("<4sI", b"bext", len(body)) + body + b"\0" * (len(body) & 1)
    total = 4 + len(bext) + sum(8 + c.size + (c.size & 1) for c in chunks)
    if total > _RIFF_MAX:
        raise AudioWriteError(f"{path.name} would exceed the 4 GiB RIFF limit; RF64 is not supported")
    with atomic_path(path) as tmp, open(path, "rb") as src, open(tmp, "wb") as dst:
        dst.write(struct.pack("<4sI4s", b"RIFF", total, b"WAVE"))
        for chunk in chunks:
            if chunk.id == "data":
                dst.write(bext)
                bext = b""
            # The pad byte is written afresh: some writers omit it on the last chunk.
            _copy_range(src, dst, chunk.offset - 8, 8 + chunk.size)
            dst.write(b"\0" * (chunk.size & 1))
