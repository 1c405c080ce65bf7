"""Real-path guards: masters stay inside their source root and no write ever lands inside it."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from shellac.engine.errors import AudioLoadError, UnsafePathError


def real_path(path: Path | str) -> Path:
    """``path`` with every symlink and ``..`` resolved (missing tails are kept as written)."""
    return Path(os.path.realpath(os.path.expanduser(str(path))))


def is_inside(child: Path | str, parent: Path | str) -> bool:
    """Whether the real path of ``child`` is ``parent``'s real path or lies below it."""
    try:
        real_path(child).relative_to(real_path(parent))
    except ValueError:
        return False
    return True


def refuse_write_inside(target: Path | str, source_root: Path | str, what: str) -> None:
    """Raise ``UnsafePathError`` when ``target`` (real path) is inside ``source_root`` or holds it.

    ``what`` names the target in the message ("output folder", "work folder", ...). A
    target that contains the source root is refused too: a recording folder below it
    could then coincide with the masters.
    """
    if is_inside(target, source_root) or is_inside(source_root, target):
        raise UnsafePathError(
            f"{what} {target} (real path {real_path(target)}) overlaps the source root "
            f"{real_path(source_root)}: nothing may be written among the masters; choose an output "
            "outside the source root"
        )


def check_master(master: Path | str, source_root: Path | str | None, *, allow_outside: bool) -> Path:
    """The real path of a master after the safety checks; raise if it must not be read.

    A master whose real path leaves ``source_root`` (a symlink or ``..`` pointing
    elsewhere) is refused unless ``allow_outside``; a missing file raises
    ``AudioLoadError``, and so does anything that is not a regular file (a device such as
    ``/dev/zero``, a FIFO, a folder), since it would never end or never hold audio.
    """
    real = real_path(master)
    try:
        mode = os.stat(real).st_mode
    except FileNotFoundError as exc:
        raise AudioLoadError(f"master file not found: {master}") from exc
    except OSError as exc:
        raise AudioLoadError(f"master {master} cannot be examined: {exc.strerror}") from exc
    if not stat.S_ISREG(mode):
        kind = ("a character device" if stat.S_ISCHR(mode) else "a block device" if stat.S_ISBLK(mode)
                else "a folder" if stat.S_ISDIR(mode) else "a FIFO" if stat.S_ISFIFO(mode)
                else "a socket" if stat.S_ISSOCK(mode) else "not a regular file")
        raise AudioLoadError(
            f"master {master} is {kind} ({real}), not a regular file: point the catalog at the audio file"
        )
    if source_root is not None and not allow_outside and not is_inside(real, source_root):
        raise UnsafePathError(
            f"master {master} resolves to {real}, outside the source root {real_path(source_root)}; "
            "replace the link with the file, or set allow_masters_outside_source_root = true in "
            "collection.toml to accept it (its real path is then recorded in the provenance)"
        )
    return real
