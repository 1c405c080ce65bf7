"""SHA-256 fixity of files and canonical JSON."""

import hashlib
from pathlib import Path

from shellac.engine.fixity import sha256_file, sha256_json


def test_sha256_file_matches_hashlib_across_chunks(tmp_path: Path) -> None:
    data = bytes(range(256)) * 9000  # > 2 MiB: several read chunks
    path = tmp_path / "m.bin"
    path.write_bytes(data)
    assert sha256_file(path) == hashlib.sha256(data).hexdigest()


def test_sha256_json_is_order_independent() -> None:
    assert sha256_json({"a": 1, "b": [1, 2]}) == sha256_json({"b": [1, 2], "a": 1})
    assert sha256_json({"a": 1}) != sha256_json({"a": 2})
    assert sha256_json({}) == hashlib.sha256(b"{}").hexdigest()
