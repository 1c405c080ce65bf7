"""scripts/build_reference_ltas.py: every source weighs the same, and the mean is geometric."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
from scipy.signal import butter, sosfilt

from shellac.engine.dsp.ltas import compute_ltas
from tests.fixtures.modules import load_module

REPO = Path(__file__).resolve().parents[3]
SR = 8000


def _script():  # type: ignore[no-untyped-def]
    return load_module(REPO / "scripts" / "build_reference_ltas.py", "build_reference_ltas_script")


def test_each_source_weighs_the_same_and_the_mean_is_geometric() -> None:
    mean = _script().source_mean_power
    powers = [np.array([1.0, 1.0]), np.array([4.0, 4.0]), np.array([16.0, 16.0]), np.array([100.0, 1.0])]
    # Source a: geometric mean 4 over three clips; source b: one clip. Then √(4·100), √(4·1).
    assert np.allclose(mean(powers, ["a", "a", "a", "b"]), [20.0, 2.0])
    with pytest.raises(ValueError):
        mean(powers, ["a"])


def _source(folder: Path, font: str, clips: list[np.ndarray]) -> None:
    folder.mkdir()
    files = {}
    for i, clip in enumerate(clips):
        name = f"piano-{i:05d}.flac"
        sf.write(folder / name, clip, SR, subtype="PCM_24")
        files[name] = {"score": f"/x/music21/corpus/bach/bwv{i}.mxl", "soundfont": font}
    (folder / "manifest.json").write_text(json.dumps({"files": files}))


def _no_constants(name: str) -> None:
    raise ValueError(f"{name} in a JSON file")


def test_from_dirs_a_bright_and_a_dark_source_meet_in_the_middle(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    noise = [0.1 * rng.standard_normal(2 * SR) for _ in range(4)]
    dark = sosfilt(butter(4, 500.0, fs=SR, output="sos"), noise[3])
    _source(tmp_path / "bright", "Bright.sf2", noise[:3])  # three white clips
    _source(tmp_path / "dark", "Dark.sf2", [dark])  # one low-passed clip
    out = tmp_path / "ref.json"
    assert _script().main(["--kind", "piano", "--from-dir", str(tmp_path / "bright"), "--from-dir",
                           str(tmp_path / "dark"), "--sample-rate", str(SR), "--n-fft", "256",
                           "--out", str(out), "--plot", str(tmp_path / "sources.png")]) == 0
    ref = json.loads(out.read_text(), parse_constant=_no_constants)  # strict JSON: no NaN
    power = np.asarray(ref["power"])
    bright = np.exp(np.mean([np.log(compute_ltas(x, SR, 256).power) for x in noise[:3]], axis=0))
    want = np.sqrt(bright * compute_ltas(dark, SR, 256).power)
    assert np.allclose(power, want, rtol=1e-6)
    # At 2 kHz the dark clip is ~48 dB down; the reference sits half-way, not at the bright level.
    freqs = np.fft.rfftfreq(256, 1.0 / SR)
    at = np.argmin(np.abs(freqs - 2000.0))
    half = 0.5 * 10 * np.log10(compute_ltas(dark, SR, 256).power[at] / bright[at])
    assert 10 * np.log10(power[at] / bright[at]) == pytest.approx(half, abs=1e-3)
    assert half < -20.0
    assert "geometric mean over sources (Bright.sf2: 3 clips, Dark.sf2: 1 clips)" in ref["provenance"]
    levels = ref["octave_levels_db"]
    assert sorted(levels) == ["Bright.sf2", "Dark.sf2", "reference"]
    assert levels["Bright.sf2"][3] == 0.0 and abs(levels["Bright.sf2"][5]) < 2.0  # white: flat
    assert levels["Dark.sf2"][5] < -30.0  # 2–4 kHz, far above the dark clip's 500 Hz corner
    assert levels["reference"][5] == pytest.approx(levels["Dark.sf2"][5] / 2, abs=1.5)
    assert all(row[7] is None for row in levels.values())  # 8–16 kHz lies beyond Nyquist at SR 8000
    assert (tmp_path / "sources.png").stat().st_size > 10_000
    # Two sources: their spread is half their dB difference, once each is aligned at 250 Hz-2 kHz
    # (here, with SR 8000, 250-2000 Hz is mostly the dark clip's roll-off).
    spread = np.asarray(ref["spread_db"])
    diff_db = 10 * np.log10(compute_ltas(dark, SR, 256).power / bright)
    band = (freqs >= 250.0) & (freqs < 2000.0)
    # (Clips were read back from 24-bit files: the dark clip's deep stop band, >80 dB down, differs a little.)
    audible = diff_db > -80.0
    assert np.allclose(spread[audible], (np.abs(diff_db - diff_db[band].mean()) / 2)[audible], atol=1e-3)


def test_from_sources_adds_the_spread_and_keeps_the_reference(tmp_path: Path) -> None:
    freqs = np.fft.rfftfreq(256, 1.0 / SR)
    a, b = np.ones(freqs.size), np.where(freqs > 1000.0, 100.0, 1.0)  # b: +20 dB above 1 kHz
    earlier = tmp_path / "earlier.json"
    earlier.write_text(json.dumps({"sample_rate": SR, "n_fft": 256, "power": list(np.sqrt(a * b)),
                                   "provenance": "two sources", "sources": {"a": list(a), "b": list(b)}}))
    out = tmp_path / "with-spread.json"
    assert _script().main(["--kind", "piano", "--from-sources", str(earlier), "--out", str(out)]) == 0
    ref = json.loads(out.read_text())
    assert ref["power"] == json.loads(earlier.read_text())["power"]  # bit for bit
    assert ref["provenance"].startswith("two sources; between-source spread per bin added (")
    # Aligned on 250 Hz-2 kHz (3/7 of its bins are above 1 kHz): b sits +11.4 dB above, -8.6 dB below
    # a; the spread is half the 20 dB step's split either side.
    band = (freqs >= 250.0) & (freqs < 2000.0)
    offset = 20.0 * np.mean(freqs[band] > 1000.0)
    want = np.where(freqs > 1000.0, 20.0 - offset, offset) / 2
    assert np.allclose(ref["spread_db"], want)
    lone = tmp_path / "lone.json"
    lone.write_text(json.dumps({"sample_rate": SR, "n_fft": 256, "power": list(a),
                                "sources": {"a": list(a)}}))
    with pytest.raises(SystemExit, match="no per-source LTAS"):
        _script().main(["--kind", "piano", "--from-sources", str(lone), "--out", str(out)])


def test_the_shape_basis_is_the_clips_main_departure_one_standard_deviation_long() -> None:
    # Source a: clips tilted by +t and -t dB (a line over the bins, zero over the align band); source b:
    # flat. Every source weighs the same, so the directions' weighted std is sqrt(1/2 · t²).
    n_fft, t = 256, 6.0
    freqs = np.fft.rfftfreq(n_fft, 1.0 / SR)
    tilt = np.log2(np.maximum(freqs, 1.0) / 700.0)
    band = (freqs >= 250.0) & (freqs < 2000.0)
    tilt -= tilt[band].mean()
    powers = [10 ** (t * tilt / 10), 10 ** (-t * tilt / 10), np.ones(freqs.size)]
    script = _script()
    reference = script.source_mean_power(powers, ["a", "a", "b"])
    basis = script.source_shape_basis(powers, ["a", "a", "b"], reference, SR, n_fft, 1)
    assert basis.shape == (1, freqs.size)
    want = t * np.sqrt(0.5) * tilt
    assert np.allclose(np.abs(basis[0]), np.abs(want), atol=1e-6)
    with pytest.raises(ValueError, match="components"):
        script.source_shape_basis(powers, ["a", "a", "b"], reference, SR, n_fft, 3)
