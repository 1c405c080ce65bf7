"""Atomic writes leave either the old file or the new one, never a partial file."""

from pathlib import Path

import pytest

from shellac.engine.atomic import atomic_path, atomic_write_json, atomic_write_text
from shellac.engine.errors import AudioWriteError


def test_write_replaces_content(tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    atomic_write_text(target, "one")
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.txt"]


def test_failure_keeps_old_file_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "state.json"
    atomic_write_json(target, {"v": 1})
    with pytest.raises(RuntimeError), atomic_path(target) as tmp:
        tmp.write_text('{"v": 2, "partial')
        raise RuntimeError("killed mid-write")
    assert target.read_text() == '{\n  "v": 1\n}\n'
    assert [p.name for p in tmp_path.iterdir()] == ["state.json"]


def test_temp_keeps_suffix_for_format_sniffing(tmp_path: Path) -> None:
    with atomic_path(tmp_path / "x.flac") as tmp:
        assert tmp.suffix == ".flac" and tmp.name.startswith(".")
        tmp.write_bytes(b"x")
    assert (tmp_path / "x.flac").read_bytes() == b"x"


def test_any_writer_failing_on_a_full_disk_names_the_disk_and_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shellac.engine.atomic as atomic

    class WriterError(Exception):
        """A library's own wrapper of the OS error (mutagen, libsndfile)."""

    target = tmp_path / "out" / "x.flac"
    monkeypatch.setattr(atomic, "free_bytes", lambda folder: 0)
    with pytest.raises(AudioWriteError, match=rf"mounted at {atomic.mount_point(tmp_path)} is full while "
                       rf"writing {target} \(WriterError: save failed\)"), atomic.atomic_path(target) as tmp:
        tmp.write_bytes(b"partial")
        raise WriterError("save failed")
    assert list(target.parent.iterdir()) == []  # the partial file is gone
    monkeypatch.setattr(atomic, "free_bytes", lambda folder: 1 << 40)
    with pytest.raises(WriterError), atomic.atomic_path(target):
        raise WriterError("a real bug")
