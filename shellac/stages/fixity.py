"""Fixity across runs: a changed master fails its recording, stale access copies are withdrawn."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from mutagen import MutagenError
from mutagen.flac import FLAC
from mutagen.id3 import TXXX
from mutagen.wave import WAVE

from shellac import __version__
from shellac.engine.atomic import atomic_write_json
from shellac.engine.errors import FixityError
from shellac.engine.fixity import sha256_file
from shellac.stages.state import (
    RecordingState,
    StateError,
    load_state,
    recording_lock,
    save_state,
    utc_now,
)

WITHDRAWN_DIR = "withdrawn"
AGENT = {"name": "Shellac", "version": __version__, "role": "executing program"}


def premis_event(event_type: str, outcome: str, detail: str, **extra: Any) -> dict[str, Any]:
    """A PREMIS event of the recording (not of one stage): type, outcome, detail, time, agent."""
    return {"eventType": event_type, "eventOutcome": outcome, "eventDetail": detail,
            "eventDateTime": utc_now(), "linkingAgent": dict(AGENT), **extra}


def _mark_withdrawn(path: Path, reason: str) -> None:
    # The moved copy says what it is if someone finds it; a copy that cannot be re-tagged
    # (a damaged file) stays withdrawn all the same.
    with contextlib.suppress(MutagenError, OSError):
        if path.suffix == ".flac":
            flac = FLAC(path)
            flac["SHELLAC_WITHDRAWN"] = reason
            flac.save()
        elif path.suffix == ".wav":
            wav = WAVE(path)
            if wav.tags is None:
                wav.add_tags()
            wav.tags.add(TXXX(encoding=3, desc="SHELLAC_WITHDRAWN", text=[reason]))
            wav.save()
        elif path.suffix == ".json":
            data = json.loads(path.read_text(encoding="utf-8"))
            data["withdrawn"] = {"reason": reason, "time": utc_now()}
            atomic_write_json(path, data)


def withdraw_outputs(rec_dir: Path, state: RecordingState, later: Sequence[str], reason: str) -> str | None:
    """Withdraw the access copy (and its sidecar) made from an earlier master, and reset ``later``.

    The files move to ``withdrawn/`` with a time stamp and are tagged ``SHELLAC_WITHDRAWN``;
    the stages in ``later`` go back to pending, so status, report and summary never show
    results of the old master as current. Returns the withdrawn access copy's path
    (relative to ``rec_dir``), or None when there was nothing to withdraw.
    """
    tag = state.stages.get("tag")
    moved: list[str] = []
    if tag is not None and tag.status == "done":
        stamp = utc_now().replace(":", "").replace("-", "").replace("+0000", "Z")
        for art in tag.outputs.values():
            src = rec_dir / art.path
            if not src.is_file():
                continue
            ext = ".premis.json" if src.name.endswith(".premis.json") else src.suffix
            base = src.name[: -len(ext)]
            dest = rec_dir / WITHDRAWN_DIR / f"{base}.{stamp}{ext}"
            dest.parent.mkdir(exist_ok=True)
            os.replace(src, dest)
            _mark_withdrawn(dest, reason)
            moved.append(str(dest.relative_to(rec_dir)))
    for name in later:
        if name in state.stages and state.stages[name].status != "pending":
            state.stages[name].status = "pending"
    if not moved:
        return None
    state.withdrawn = moved[0]
    state.events.append(premis_event(
        "deaccession", "success", f"stale access copy withdrawn: {reason}", files=moved))
    return moved[0]


def verify_master(rec_dir: Path, state: RecordingState, master: Path, current: str,
                  later: Sequence[str]) -> None:
    """Raise ``FixityError`` when ``master`` no longer matches the checksum recorded for it.

    The failed check is recorded as a PREMIS "fixity check" event (outcome "fail") with
    both checksums, and the access copy made from the old master is withdrawn.
    """
    recorded = state.master_sha256
    if recorded is None or recorded == current:
        return
    state.events.append(premis_event(
        "fixity check", "fail", f"master {master} changed since it was last processed",
        old_sha256=recorded, new_sha256=current))
    withdrawn = withdraw_outputs(rec_dir, state, later, f"master changed (sha256 {recorded} → {current})")
    note = f"; the previous access copy was withdrawn to {withdrawn}" if withdrawn else ""
    raise FixityError(
        f"master {master} changed since it was last processed: sha256 {recorded} was recorded, "
        f"{current} found now{note}. Restore the original from preservation storage, or, if the new "
        f"file is the intended master, run `shellac accept-master CATALOG_DIR {state.recording_id}`"
    )


def accept_master(rec_dir: Path, master: Path) -> tuple[str | None, str]:
    """Accept the master's current content as the recording's master: (old, new) sha256.

    Records a PREMIS event naming both checksums and withdraws the access copy of the old
    master; the next run re-ingests the new one. Holds the recording's lock while it works.
    """
    with recording_lock(rec_dir):
        state = load_state(rec_dir)
        if state is None:
            raise StateError(f"{rec_dir} has no state.json: the recording never ran, nothing to accept")
        current = sha256_file(master)
        old = state.master_sha256
        if old == current:
            return old, current
        state.events.append(premis_event(
            "message digest calculation", "success",
            f"operator accepted a changed master {master} (shellac accept-master)",
            old_sha256=old, new_sha256=current))
        withdraw_outputs(rec_dir, state, list(state.stages), f"master replaced (sha256 {old} → {current})")
        state.master_sha256 = current
        save_state(rec_dir, state)
        return old, current
