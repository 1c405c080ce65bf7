"""Plain-words notes on a recording: what was synthesised, gate and model standing, is its copy current."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shellac.report.order import chain_order
from shellac.report.passband import pass_band, recorded_responses, typical_response
from shellac.stages.state import RecordingState

GENERATIVE_STAGE = "generative_eq"
QUALITY_GATE_KEY = "quality_gate"
STANDING_KEY = "model_standing"
# Fields that state an outcome lead the quality-gate line, in this order, when a record has them.
LEAD_FIELDS = ("decision", "fallback", "passed", "reason", "checks")


def hz(value: float) -> str:
    """A frequency for people: ``350 Hz``, ``4.1 kHz``."""
    return f"{value / 1000:.1f} kHz" if value >= 1000 else f"{value:.0f} Hz"


def access_copy_note(state: RecordingState | None, rec_dir: Path) -> str | None:
    """Why the access copy is not current, or ``None`` when it is (or none was ever made).

    An access copy is current only when the latest run finished: after a failed or
    unfinished run the file on disk (if any) was made by an earlier run, from a master
    or chain that may since have changed. ``rec_dir`` is the recording's work directory.
    A ``withdrawn`` entry on the state (where a stale access copy was moved) is named.
    """
    withdrawn = state.withdrawn if state is not None else None
    if withdrawn:
        return (f"The access copy an earlier run made was withdrawn as stale (to {withdrawn}): "
                "none is current.")
    tag = state.stages.get("tag") if state is not None else None
    if state is None or tag is None or tag.status != "done" or "access_copy" not in tag.outputs:
        return None
    if not (rec_dir / tag.outputs["access_copy"].path).is_file():
        return "The access copy an earlier run made is no longer there (withdrawn or moved)."
    if state.status == "done":
        return None
    latest = {"failed": f"failed at {state.error_stage}" if state.error_stage else "failed",
              "running": "is still running", "cancelled": "was cancelled"}.get(state.status,
                                                                                "has not finished")
    return (f"The access copy is from an earlier run; the latest run {latest}, so it does not reflect "
            "the current master and chain.")


def _checks(items: Sequence[Any]) -> str | None:
    """``7 (2 failed: a, b)`` for a list of records with a boolean ``passed``, else ``None``."""
    if not items or not all(isinstance(c, Mapping) and isinstance(c.get("passed"), bool) for c in items):
        return None
    failed = [str(c.get("name", i)) for i, c in enumerate(items) if not c["passed"]]
    return f"{len(items)} ({len(failed)} failed{': ' + ', '.join(failed) if failed else ''})"


def _describe(value: object) -> str:
    """A recorded outcome in one line: its outcome fields (decision, fallback, reason, checks).

    The gate's other fields (cut-offs, band lists, version) stay in state.json and the
    report's detail; a dashboard cell that repeated them would be unreadable. A record with
    none of the outcome fields is shown whole.
    """
    if not isinstance(value, Mapping):
        return str(value)
    keys = [k for k in LEAD_FIELDS if k in value] or list(value)
    parts = []
    for key in keys:
        item = value[key]
        if item is None:
            continue
        if isinstance(item, bool):
            parts.append(f"{key}: {'yes' if item else 'no'}")
        elif isinstance(item, str | int | float):
            parts.append(f"{key}: {item}")
        elif isinstance(item, list):
            parts.append(f"{key}: {_checks(item) or json.dumps(item, default=str)[:120]}")
        else:
            parts.append(f"{key}: {json.dumps(item, default=str)[:120]}")
    return "; ".join(parts)


def _gate_record(state: RecordingState) -> object:
    """The ``quality_gate`` entry on the state itself, else the first in a stage's metrics (chain order)."""
    found = getattr(state, QUALITY_GATE_KEY, None)
    for name in chain_order(state):
        if found:
            break
        found = state.stages[name].metrics.get(QUALITY_GATE_KEY) if name in state.stages else None
    return found


def quality_gate_note(state: RecordingState | None) -> str | None:
    """The recorded quality-gate outcome, as recorded, or ``None`` when the state records none.

    Looks for a ``quality_gate`` entry on the state itself, then in each stage's
    metrics in chain order; its fields are shown as they are, nothing is inferred.
    """
    found = _gate_record(state) if state is not None else None
    return _describe(found) if found else None


def model_standing_note(state: RecordingState | None) -> str | None:
    """The held-out standing each generative stage recorded for its model (one line each), or ``None``.

    It says how that model's access copies compared with LTAS-EQ and the untouched
    input on the held-out benchmark, or that they were never measured.
    """
    if state is None:
        return None
    lines = [str(record["summary"]) for name in chain_order(state) if name in state.stages
             for record in (state.stages[name].metrics.get(STANDING_KEY),)
             if isinstance(record, Mapping) and record.get("summary")]
    return " ".join(lines) or None


_ROLL_OFFS = {"highpass_hz": "high-pass corner", "highpass_slope_db": "high-pass slope",
              "lowpass_hz": "low-pass corner", "lowpass_slope_db": "low-pass slope"}


def chain_fit_note(state: RecordingState | None) -> str | None:
    """Which roll-offs the chain EQ's fit left on a bound of their range, or ``None`` when none did.

    Read from the ``ltas_eq`` step's ``chain_fit_bounds`` metric (``"lowpass_hz=low"``, …).
    """
    record = state.stages.get("ltas_eq") if state is not None else None
    bounds = record.metrics.get("chain_fit_bounds") if record is not None else None
    if not isinstance(bounds, list) or not bounds:
        return None
    parts = []
    for bound in bounds:
        name, _, side = str(bound).partition("=")
        end = "bottom" if side == "low" else "top"
        parts.append(f"{_ROLL_OFFS.get(name, name)} at the {end} of its range")
    return (f"Chain EQ fit on a range limit ({'; '.join(parts)}): its reading of the chain is least certain "
            "there, often the recording's own register taken for a chain; listen to it first.")


def _band_gain_db(curves: Mapping[str, Any], lo: float, hi: float) -> float | None:
    """Mean output-over-input LTAS level (dB) inside lo..hi Hz, from the stage's ltas.json."""
    try:
        freqs = np.asarray(curves["freqs_hz"], dtype=float)
        delta = np.asarray(curves["output_db"], dtype=float) - np.asarray(curves["input_db"], dtype=float)
    except (KeyError, TypeError, ValueError):
        return None
    inside = (freqs >= lo) & (freqs <= hi)
    return float(delta[inside].mean()) if delta.shape == freqs.shape and inside.any() else None


def hz_range(lo: float, hi: float) -> str:
    """A band for people: ``1.4–4.0 kHz``, ``905 Hz–1.1 kHz``."""
    if lo >= 1000 or hi < 1000:
        return f"{hz(lo).split()[0]}–{hz(hi)}"
    return f"{hz(lo)}–{hz(hi)}"


def _bands(bands: Sequence[Sequence[float]], curves: Mapping[str, Any]) -> str:
    if not bands:
        return "none"
    parts = []
    for lo, hi in bands:
        gain = _band_gain_db(curves, lo, hi)
        parts.append(hz_range(lo, hi) + ("" if gain is None else f" ({gain:+.1f} dB)"))
    return ", ".join(parts)


def synthesis_note(state: RecordingState | None, curves: Mapping[str, Any] | None,
                   filters: Mapping[str, Any] | None) -> tuple[str, ...]:
    """What the generative stage synthesised, in plain words, from what it recorded.

    ``curves`` is the stage's ltas.json and ``filters`` its filters.json (``None`` when
    absent). Returns a lead sentence and, when bands were recorded, one line per region
    (above the upper cut-off first). Says "nothing recorded" when the stage ran but
    recorded no band list.
    """
    if state is None or (GENERATIVE_STAGE not in state.plan and GENERATIVE_STAGE not in state.stages):
        return ("No generative stage in this chain: nothing was synthesised.",)
    record = state.stages.get(GENERATIVE_STAGE)
    if record is None or record.status != "done":
        status = record.status if record else "pending"
        return (f"The generative stage has not finished ({status}): nothing recorded.",)
    curves = curves or {}
    bands = record.metrics.get("generated_bands_hz", curves.get("generated_bands_hz"))
    threshold = curves.get("generated_threshold_db")
    by = f" by more than {threshold:g} dB" if isinstance(threshold, int | float) else ""
    if bands is None:
        return ("The generative stage recorded no generated bands: nothing recorded.",)
    if not bands:
        return (f"The generative stage recorded no band where its output LTAS exceeds its input's{by}: "
                "by that measure it synthesised nothing.",)
    lead = (f"What the generative stage synthesised (bands where its output LTAS exceeds its input's{by}; "
            "mean gain in brackets):")
    freqs, responses = recorded_responses(filters or {})
    typical = typical_response(freqs, responses)
    if typical is None:
        return (lead, f"{_bands(bands, curves)} (no filter response recorded, so no cut-off to compare "
                      "with).", *_fallback(state))
    band = pass_band(freqs, typical)
    above = [b for b in bands if _centre(b) > band.high_hz]
    below = [b for b in bands if _centre(b) < band.low_hz]
    within = [b for b in bands if b not in above and b not in below]
    lines = [lead, f"Above the upper cut-off ({hz(band.high_hz)}): {_bands(above, curves)}."]
    if within:
        lines.append(f"Within the pass band ({hz_range(band.low_hz, band.high_hz)}): "
                     f"{_bands(within, curves)}.")
    if below:
        lines.append(f"Below the lower cut-off ({hz(band.low_hz)}): {_bands(below, curves)}.")
    lines.append(f"Cut-offs: where the fitted degradation filter falls {band.drop_db:.0f} dB below its "
                 "pass-band level.")
    return (*lines, *_fallback(state))


def _fallback(state: RecordingState) -> tuple[str, ...]:
    """A line saying the access copy is not the generative output, when the recorded gate fell back."""
    gate = _gate_record(state)
    if not (isinstance(gate, Mapping) and gate.get("fallback") is True):
        return ()
    decision = f" (decision: {gate['decision']})" if gate.get("decision") else ""
    return (f"The quality gate fell back{decision}: the access copy is not the generative output, so "
            "what is listed here is not in it.",)


def _centre(band: Sequence[float]) -> float:
    """Geometric centre of a band in Hz (which side of a cut-off it lies on)."""
    return float(np.sqrt(max(band[0], 1e-3) * max(band[1], 1e-3)))
