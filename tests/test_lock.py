"""The installed environment is exactly requirements.lock: no distribution drifts or floats."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

LOCK = Path(__file__).resolve().parents[1] / "requirements.lock"
# Tools of the venv itself, and the project (installed editable from the tree).
NOT_LOCKED = {"pip", "shellac"}


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    pins = re.findall(r"^([A-Za-z0-9_.\-]+)==(\S+)", LOCK.read_text(), flags=re.MULTILINE)
    return {_normalise(name): version for name, version in pins}


def _installed() -> dict[str, str]:
    return {_normalise(d.metadata["Name"]): d.version for d in metadata.distributions()}


def test_every_lock_line_is_pinned_and_hashed() -> None:
    text = LOCK.read_text()
    entries = [e for e in re.split(r"\n(?=[A-Za-z0-9])", text) if not e.startswith("#")]
    assert len(entries) > 100
    for entry in entries:
        assert re.match(r"^[A-Za-z0-9_.\-]+==\S+ \\\n    --hash=sha256:[0-9a-f]{64}", entry), entry


def test_installed_environment_matches_the_lock() -> None:
    locked, installed = _locked(), _installed()
    drifted = {n: (locked[n], v) for n, v in installed.items() if n in locked and locked[n] != v}
    unlocked = sorted(set(installed) - set(locked) - NOT_LOCKED)
    missing = sorted(set(locked) - set(installed))
    assert not drifted, f"installed versions differ from requirements.lock (lock, installed): {drifted}"
    assert not unlocked, f"installed but not in requirements.lock (run `make lock`): {unlocked}"
    assert not missing, f"in requirements.lock but not installed (run `make setup`): {missing}"


def test_lock_keeps_the_pins_prefect_server_needs() -> None:
    locked = _locked()
    assert locked["torch"] == "2.13.0+cpu"
    assert locked["sqlalchemy"].startswith("2.0.")
    assert tuple(int(p) for p in locked["fastapi"].split(".")[:2]) < (0, 151)
