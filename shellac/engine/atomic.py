"""Atomic file writes: write to a temporary sibling, fsync, then rename over the target."""

from __future__ import annotations

import contextlib
import errno
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shellac.engine.errors import AudioWriteError


def temp_sibling(path: Path) -> Path:
    """Return a hidden, unique temporary path in the same directory as ``path``.

    Same directory means same file system, so the final ``os.replace`` is atomic.
    The original suffix is kept so format sniffing by extension still works.
    """
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:12]}.tmp{path.suffix}")


# Below this many free bytes a failed write is blamed on a full disk: libsndfile reports a
# full disk only as "System error.", without an errno.
FULL_DISK_BYTES = 1 << 20


def free_bytes(folder: Path) -> int:
    """Bytes the current user may still write on the file system holding ``folder``."""
    st = os.statvfs(folder)
    return (st.f_bfree if os.geteuid() == 0 else st.f_bavail) * st.f_frsize


def mount_point(path: Path) -> Path:
    """The mount point of the file system holding ``path`` (the disk a message should name)."""
    path = Path(os.path.realpath(path))
    while not os.path.ismount(path) and path != path.parent:
        path = path.parent
    return path


def _disk_full(path: Path, exc: BaseException) -> AudioWriteError | None:
    full = isinstance(exc, OSError) and exc.errno == errno.ENOSPC
    # Writers wrap the OS error their own way (libsndfile: "System error.", mutagen: MutagenError),
    # so any failure with the disk (nearly) full is put down to it, with the writer's words kept.
    if not full and isinstance(exc, Exception):
        try:
            full = free_bytes(path.parent) < FULL_DISK_BYTES
        except OSError:
            full = False
    if not full:
        return None
    disk = mount_point(path.parent)
    return AudioWriteError(
        f"no space left on device: the disk mounted at {disk} is full while writing {path} "
        f"({type(exc).__name__}: {exc}); free space there (or choose another --output) and rerun: "
        "finished stages are kept"
    )


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path`` atomically.

    On any exception the temporary file is removed and ``path`` is left as it was,
    so a reader never sees a partial file. A write that fails because the disk is full
    (however the writing library reports it) raises ``AudioWriteError`` naming the
    disk's mount point and the path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(path)
    try:
        yield tmp
        fsync_file(tmp)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    except BaseException as exc:
        full = _disk_full(path, exc)  # judged before the partial file frees its space
        tmp.unlink(missing_ok=True)
        if full is not None:
            raise full from exc
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(Path(path)) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented, key-sorted JSON to ``path`` atomically."""
    atomic_write_text(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def fsync_file(path: Path) -> None:
    """Flush a file's data to disk (before it is renamed into place)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """Flush a directory entry (after a rename), where the file system allows it."""
    with contextlib.suppress(OSError):  # not every file system lets a directory be fsynced
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
