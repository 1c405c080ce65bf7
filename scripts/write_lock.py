"""Write requirements.lock from a pip freeze and the files pip downloaded for it (sha256 each)."""

from __future__ import annotations

import hashlib
import re
import sys
from pathlib import Path


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _file_key(path: Path) -> str:
    # wheel: name-version-...; sdist: name-version.tar.gz
    stem = path.name.removesuffix(".tar.gz").removesuffix(".zip")
    return _normalise(stem.split("-")[0])


def main(frozen: Path, downloads: Path) -> None:
    """Print one `name==version --hash=sha256:...` line per frozen distribution."""
    files = {_file_key(p): p for p in downloads.iterdir()}
    print("# Locked environment for Shellac (Linux x86_64, CPython 3.11, CPU torch).")
    print("# Made by scripts/lock.sh from pyproject.toml + constraints.txt; do not edit by hand.")
    print("# `make setup` installs exactly this with --require-hashes --no-deps.")
    for line in sorted(frozen.read_text().splitlines(), key=str.lower):
        if not line or line.startswith("#"):
            continue
        name = line.split("==")[0]
        digest = hashlib.sha256(files[_normalise(name)].read_bytes()).hexdigest()
        print(f"{line} \\\n    --hash=sha256:{digest}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
