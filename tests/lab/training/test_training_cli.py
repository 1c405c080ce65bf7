"""``shellac train`` / ``shellac finetune`` subcommands, run on a parser built the way cli.py builds it."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from shellac.cli.training import add_training_commands
from shellac.engine.models.bundle import load_bundle


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="shellac")
    add_training_commands(parser.add_subparsers(dest="command", required=True))
    return parser


def test_train_then_finetune_from_the_command_line(data_dir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "models" / "tones"
    args = _parser().parse_args([
        "train", str(data_dir), str(out), "--preset", "tiny", "--sample-rate", "8000",
        "--segment-length", "1024", "--steps", "3", "--batch-size", "2", "--device", "cpu",
        "--quiet", "--description", "test tones",
    ])
    assert args.func(args) == 0
    assert (tmp_path / "models" / "tones.run" / "checkpoint.pt").is_file()
    card = load_bundle(out).card
    assert (card.name, card.description, card.training_steps) == ("tones", "test tones", 3)
    assert "3 steps (resumed from 0)" in capsys.readouterr().out

    tuned = tmp_path / "models" / "tones-ft"
    args = _parser().parse_args([
        "finetune", str(out), str(data_dir), str(tuned), "--steps", "2", "--batch-size", "2",
        "--gain-db", "2", "--device", "cpu", "--quiet", "--no-resume",
    ])
    assert args.func(args) == 0
    card = load_bundle(tuned).card
    assert card.base_model is not None and card.base_model.startswith("tones (bundle sha256 ")


def test_train_voice_defaults() -> None:
    args = _parser().parse_args(["train", "d", "o", "--normalization", "std"])
    assert (args.steps, args.batch_size, args.preset, args.resume) == (100_000, 4, "small", True)
    assert args.sigma_data is None  # filled with the voice defaults (1.0, 1e-3…100) by cmd_train


def test_train_in_slots_with_validation_then_export_a_candidate(data_dir: Path, tmp_path: Path) -> None:
    out, run = tmp_path / "models" / "cand", tmp_path / "run"
    common = ["train", str(data_dir), str(out), "--preset", "tiny", "--sample-rate", "8000",
              "--segment-length", "1024", "--steps", "100", "--batch-size", "2", "--device", "cpu",
              "--quiet", "--run-dir", str(run), "--val-dir", str(data_dir), "--validate-every", "3",
              "--slim-checkpoint", "--checkpoint-every", "2"]
    args = _parser().parse_args([*common, "--stop-after", "2"])
    assert args.func(args) == 0
    assert not out.exists()  # stopped early: no bundle
    args = _parser().parse_args([*common, "--export-now", "--description", "in progress"])
    assert args.func(args) == 0
    card = load_bundle(out).card
    assert card.training_steps == 2 and card.validation is not None
    # No validation at step 2 in training (every 3); the export scores the weights it writes.
    assert (run / "val_loss.csv").read_text().count("\n") == 2  # header and step 2
