"""``shellac calibrate-prior``: a prior's spectral bias measured on validation material, put in its card."""

import argparse
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from shellac.cli.calibrate import cmd_calibrate_prior
from shellac.engine.errors import ParameterError
from shellac.engine.models.bundle import bundle_checksum, load_bundle, read_card
from shellac.lab.heldout.prior_bias import clean_segments
from shellac.lab.heldout.runner import HeldoutExcerpt
from tests.fixtures.bundles import make_tiny_bundle


def _args(tmp_path: Path, **changes: object) -> argparse.Namespace:
    values = {"kind": "voice", "voice": "tenor", "model": "tenor", "models_dir": tmp_path / "models",
              "steps": [2, 3], "excerpts": 2, "seconds": 2.0, "sample_rate": 16000, "seed": 0,
              "cache": tmp_path / "cache", "out": tmp_path / "out", "name": None, "write": True,
              "soundfont": None}
    return argparse.Namespace(**{**values, **changes})


def test_calibrate_prior_measures_on_validation_singing_and_records_the_bias(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    bundle_dir = make_tiny_bundle(tmp_path / "models", "tenor", sample_rate=8000, segment_length=4096)
    before = bundle_checksum(bundle_dir)
    assert cmd_calibrate_prior(_args(tmp_path)) == 0
    bias = read_card(bundle_dir).spectral_bias
    assert bias is not None and sorted(bias.excess_db) == [2, 3]
    # Octaves from 31.25 Hz up to the model's Nyquist (4 kHz, itself an octave edge): 7 bands.
    assert bias.edges_hz == [31.25 * 2**k for k in range(8)]
    assert all(len(v) == 7 for v in bias.excess_db.values())
    assert all(np.isfinite(v) for values in bias.excess_db.values() for v in values)
    # One tenor excerpt of the two (josquin, validation part): 2 s at 8 kHz holds three 4096-sample segments.
    assert bias.segments == 3 and "josquin" in bias.measured_on and "(tenor only)" in bias.measured_on
    assert (bias.sigma_start, bias.sigma_min) == (10.0, 1e-3)  # the voice profile's restarts
    assert bundle_checksum(bundle_dir) == before  # restorations that do not use the bias are unchanged
    report = json.loads((tmp_path / "out" / "prior-bias-tenor.json").read_text(encoding="utf-8"))
    assert report["spectral_bias"]["excess_db"]["3"] == bias.excess_db[3]
    assert "| 3 |" in (tmp_path / "out" / "prior-bias-tenor.md").read_text(encoding="utf-8")
    assert load_bundle(bundle_dir).card.spectral_bias == bias


def test_voice_filter_is_for_sung_material_only(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="--voice is for --kind voice"):
        cmd_calibrate_prior(_args(tmp_path, kind="piano"))
    # One excerpt is a tenor's: no soprano to measure on.
    with pytest.raises(ParameterError, match="sung by a soprano; raise --excerpts"):
        cmd_calibrate_prior(_args(tmp_path, voice="soprano", excerpts=1))


def test_steps_must_be_step_counts() -> None:
    from shellac.cli.main import main

    with pytest.raises(SystemExit) as exc:
        main(["calibrate-prior", "--steps", "8,x"])
    assert exc.value.code == 2


def test_clean_segments_are_whole_scaled_and_skip_silence() -> None:
    rate = 8000
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(2 * 4096 + 100) / rate)
    tone[4096:8192] = 0.0  # a silent second segment
    excerpt = HeldoutExcerpt("x", "s", tone, tone, rate, None, np.zeros(1), np.zeros(1), Path("m"))  # type: ignore[arg-type]
    segments = clean_segments([excerpt], rate, 4096, 0.1)
    assert segments.shape == (1, 4096)
    assert float(segments.numpy().std()) == pytest.approx(0.1, rel=1e-5)


def test_soundfont_option_is_for_piano_and_must_exist(tmp_path: Path) -> None:
    with pytest.raises(ParameterError, match="--soundfont is for --kind piano"):
        cmd_calibrate_prior(_args(tmp_path, voice=None, soundfont=[Path("FluidR3_GM.sf2")]))
    with pytest.raises(ParameterError, match="soundfont 'NoSuchFont.sf2' is neither a file"):
        cmd_calibrate_prior(_args(tmp_path, kind="piano", voice=None, soundfont=[Path("NoSuchFont.sf2")]))
