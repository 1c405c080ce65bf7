"""Plain-words notes, the pass band of a recorded filter response, and chain order."""

from pathlib import Path

import numpy as np
import pytest

from shellac.report.notes import (
    access_copy_note,
    chain_fit_note,
    hz_range,
    model_standing_note,
    quality_gate_note,
    synthesis_note,
)
from shellac.report.order import chain_columns, chain_order, stage_statuses
from shellac.report.passband import pass_band, recorded_responses, typical_response
from shellac.stages.state import RecordingState, StageRecord

FREQS = np.geomspace(20.0, 11025.0, 96)


def band_pass_db(freqs: np.ndarray, low_hz: float = 100.0, high_hz: float = 4000.0) -> np.ndarray:
    """0 dB between the corners, -12 dB/octave below ``low_hz``, -24 dB/octave above ``high_hz``."""
    below = np.minimum(0.0, 12.0 * np.log2(freqs / low_hz))
    above = np.minimum(0.0, -24.0 * np.log2(freqs / high_hz))
    return below + above


def test_pass_band_edges_are_the_3_db_points() -> None:
    band = pass_band(FREQS, band_pass_db(FREQS))
    # -3 dB: a quarter octave below 100 Hz on the 12 dB/octave slope, an eighth above 4 kHz.
    assert band.low_hz == pytest.approx(100.0 / 2 ** 0.25, rel=1e-3)
    assert band.high_hz == pytest.approx(4000.0 * 2 ** 0.125, rel=1e-3)
    assert band.level_db == 0.0
    # A resonance a few dB above the band is part of the band, not the band itself.
    resonant = band_pass_db(FREQS) + 4.0 * np.exp(-0.5 * (np.log2(FREQS / 2500.0) / 0.15) ** 2)
    with_resonance = pass_band(FREQS, resonant)
    assert with_resonance.level_db == pytest.approx(0.0, abs=1e-9)
    edges = (with_resonance.low_hz, with_resonance.high_hz)
    assert edges == pytest.approx((band.low_hz, band.high_hz), rel=1e-4)
    # A notch deeper than the cut-off splits the band: the wider side is the pass band.
    notched = band_pass_db(FREQS) - 20.0 * (np.abs(np.log2(FREQS / 3000.0)) < 0.1)
    assert pass_band(FREQS, notched).high_hz < 3000.0 < band.high_hz
    wide = pass_band(FREQS, band_pass_db(FREQS), drop_db=12.0)
    assert wide.low_hz == pytest.approx(50.0, rel=1e-3)
    assert wide.high_hz == pytest.approx(4000 * 2 ** 0.5, rel=1e-3)
    # No cut-off inside the recorded range: the edge is the range's end.
    assert pass_band(FREQS, np.zeros(96)).high_hz == pytest.approx(11025.0)


def test_recorded_responses_blocks_and_recording_level() -> None:
    response = band_pass_db(FREQS)
    filters = {"freqs_hz": FREQS.tolist(), "blocks": [
        {"index": 0, "filter_response_db": (response - 2).tolist()},
        {"index": 1, "filter_response_db": response.tolist()},
        {"index": 2, "filter_response_db": (response + 4).tolist()},
        {"index": 3, "filter_response_db": None}]}
    freqs, curves = recorded_responses(filters)
    assert [label for label, _ in curves] == ["block 0", "block 1", "block 2"]
    np.testing.assert_allclose(typical_response(freqs, curves), response)  # the median block
    pooled = {**filters, "filter_response_db": (response + 1).tolist()}
    _, curves = recorded_responses(pooled)
    assert curves[0][0] == "recording"
    np.testing.assert_allclose(typical_response(freqs, curves), response + 1)


def _state(plan: list[str], **stages: StageRecord) -> RecordingState:
    return RecordingState(recording_id="r", profile="p", status="done", plan=plan, stages=stages)


GEN_PLAN = ["ingest", "generative_eq", "tag"]


def _generative(metrics: dict) -> RecordingState:
    done = {name: StageRecord(stage=name, status="done") for name in GEN_PLAN}
    done["generative_eq"] = StageRecord(stage="generative_eq", status="done", metrics=metrics)
    return _state(GEN_PLAN, **done)


def test_synthesis_note_says_what_was_generated_relative_to_the_cut_off() -> None:
    freqs = np.linspace(0.0, 11025.0, 513)
    curves = {"freqs_hz": freqs.tolist(), "input_db": [-40.0] * 513,
              "output_db": np.where((freqs >= 5000) & (freqs <= 8000), -30.0, -40.0).tolist(),
              "generated_threshold_db": 6.0}
    filters = {"freqs_hz": FREQS.tolist(),
               "blocks": [{"index": 0, "filter_response_db": band_pass_db(FREQS).tolist()}]}
    state = _generative({"generated_bands_hz": [[5000.0, 8000.0], [60.0, 70.0]]})
    lead, *lines = synthesis_note(state, curves, filters)
    assert lead.startswith("What the generative stage synthesised (bands where its output LTAS exceeds its "
                           "input's by more than 6 dB")
    assert lines == ["Above the upper cut-off (4.4 kHz): 5.0–8.0 kHz (+10.0 dB).",
                     "Below the lower cut-off (84 Hz): 60–70 Hz (+0.0 dB).",
                     "Cut-offs: where the fitted degradation filter falls 3 dB below its pass-band level."]
    # Nothing above the cut-off is said plainly; without a filter there is no cut-off to compare with.
    only_low = _generative({"generated_bands_hz": [[60.0, 70.0]]})
    assert synthesis_note(only_low, curves, filters)[1] == "Above the upper cut-off (4.4 kHz): none."
    assert synthesis_note(only_low, curves, None)[1].startswith("60–70 Hz (+0.0 dB) (no filter response")


def test_synthesis_note_is_honest_when_nothing_is_recorded() -> None:
    assert synthesis_note(_generative({}), None, None) == (
        "The generative stage recorded no generated bands: nothing recorded.",)
    assert synthesis_note(_generative({"generated_bands_hz": []}), {"generated_threshold_db": 6.0}, None) == (
        "The generative stage recorded no band where its output LTAS exceeds its input's by more than 6 dB: "
        "by that measure it synthesised nothing.",)
    piano = _state(["ingest", "ltas_eq", "tag"])
    assert synthesis_note(piano, None, None) == (
        "No generative stage in this chain: nothing was synthesised.",)
    running = _state(GEN_PLAN, generative_eq=StageRecord(stage="generative_eq", status="failed"))
    assert synthesis_note(running, None, None) == (
        "The generative stage has not finished (failed): nothing recorded.",)


# A gate record as the generative stage's quality gate writes it, keys sorted as state.json stores them.
GATE = {"checks": [{"name": "noise_above_cutoff", "passed": False, "value": 9.1},
                   {"name": "pass_band_deviation", "passed": True, "value": 1.2}],
        "decision": "ltas_eq", "fallback": True, "high_cutoff_hz": 4100.0, "low_cutoff_hz": None,
        "reason": "noise above the cut-off 9.1 dB over the input's", "version": 1}


def test_model_standing_is_the_recorded_summary() -> None:
    assert model_standing_note(None) is None
    assert model_standing_note(_generative({})) is None
    assert model_standing_note(_generative({"model_standing": "not a record"})) is None
    line = "model 'piano' on held-out material (24 excerpts, r): ...; below the 80 % bar (LTAS error ...)"
    assert model_standing_note(_generative({"model_standing": {"summary": line, "below_bar": True}})) == line


def test_chain_fit_note_names_the_roll_offs_on_a_range_limit() -> None:
    def with_bounds(bounds: object) -> RecordingState:
        plan = ["ingest", "ltas_eq", "generative_eq", "tag"]
        done = {name: StageRecord(stage=name, status="done") for name in plan}
        done["ltas_eq"] = StageRecord(stage="ltas_eq", status="done", metrics={"chain_fit_bounds": bounds})
        return _state(plan, **done)

    assert chain_fit_note(None) is None
    assert chain_fit_note(_generative({})) is None  # no chain_fit_bounds: LTAS-EQ, or an older run
    assert chain_fit_note(with_bounds([])) is None
    assert chain_fit_note(with_bounds(["highpass_hz=high", "lowpass_slope_db=low"])) == (
        "Chain EQ fit on a range limit (high-pass corner at the top of its range; low-pass slope at the "
        "bottom of its range): its reading of the chain is least certain there, often the recording's own "
        "register taken for a chain; listen to it first.")


def test_quality_gate_is_read_as_recorded() -> None:
    assert quality_gate_note(_generative({})) is None
    assert quality_gate_note(_generative({"quality_gate": "passed"})) == "passed"
    assert quality_gate_note(_generative({"quality_gate": {"passed": True, "checks": [1, 2]}})) == (
        "passed: yes; checks: [1, 2]")
    # Outcome fields only, empty ones left out, a list of checks counted with the failed ones named.
    assert quality_gate_note(_generative({"quality_gate": GATE})) == (
        "decision: ltas_eq; fallback: yes; reason: noise above the cut-off 9.1 dB over the input's; "
        "checks: 2 (1 failed: noise_above_cutoff)")  # cut-offs, bands, version: state.json only


def test_synthesis_note_says_when_the_gate_fell_back() -> None:
    state = _generative({"generated_bands_hz": [[5000.0, 8000.0]], "quality_gate": GATE})
    assert synthesis_note(state, None, None)[-1] == (
        "The quality gate fell back (decision: ltas_eq): the access copy is not the generative output, so "
        "what is listed here is not in it.")
    kept = _generative({"generated_bands_hz": [[5000.0, 8000.0]],
                        "quality_gate": {**GATE, "fallback": False}})
    assert "fell back" not in " ".join(synthesis_note(kept, None, None))


def test_chain_order_and_columns() -> None:
    state = _state(["ingest", "denoise", "tag"], tag=StageRecord(stage="tag", status="done"),
                   ingest=StageRecord(stage="ingest", status="done"),
                   ltas_eq=StageRecord(stage="ltas_eq", status="done"))  # from an older profile
    assert chain_order(state) == ["ingest", "denoise", "tag", "ltas_eq"]
    assert stage_statuses(state) == [
        ("ingest", "done"), ("denoise", "pending"), ("tag", "done (earlier run)")]
    piano, voice = ["ingest", "denoise", "ltas_eq", "tag"], ["ingest", "generative_eq", "remix", "tag"]
    assert chain_columns([piano, voice]) == ["ingest", "denoise", "ltas_eq", "generative_eq", "remix", "tag"]
    assert chain_columns([["ingest", "future_stage", "tag"]]) == ["ingest", "tag", "future_stage"]


def test_access_copy_note_names_how_the_latest_run_ended(tmp_path: Path) -> None:
    (tmp_path / "r.flac").write_bytes(b"x")
    tag = StageRecord(stage="tag", status="done",
                      outputs={"access_copy": {"path": "r.flac", "sha256": "0" * 64}})
    state = _state(["ingest", "tag"], tag=tag)
    assert access_copy_note(state, tmp_path) is None  # done: current
    state.status = "running"
    assert access_copy_note(state, tmp_path) == (
        "The access copy is from an earlier run; the latest run is still running, so it does not reflect "
        "the current master and chain.")
    state.status, state.error_stage = "failed", None
    assert "the latest run failed, so" in access_copy_note(state, tmp_path)


def test_hz_range() -> None:
    assert hz_range(1400.0, 4000.0) == "1.4–4.0 kHz"
    assert hz_range(905.0, 1100.0) == "905 Hz–1.1 kHz"
    assert hz_range(60.0, 70.0) == "60–70 Hz"
