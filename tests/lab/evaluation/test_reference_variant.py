"""The benchmark's reference row and ablation rows run on a tiny random bundle."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from shellac.cli.bench import main
from shellac.lab.evaluation.variants import ABLATIONS, VARIANTS, select_variants
from tests.fixtures.bundles import make_tiny_bundle

SR = 8000
ROWS = ["babe2_ltas_both", *(v.key for v in ABLATIONS)]


def test_ablations_run_only_when_named() -> None:
    assert select_variants(None) == VARIANTS
    assert [v.key for v in select_variants(ROWS)] == ROWS


def test_reference_and_ablation_rows_give_finite_numbers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    clean = tmp_path / "clean"
    clean.mkdir()
    t = np.arange(3 * 16000) / 16000
    x = sum(0.2 / k * np.sin(2 * np.pi * 220.0 * k * t + k) for k in range(1, 12))
    sf.write(clean / "piece.flac", x.astype(np.float32), 16000)
    bundle = make_tiny_bundle(tmp_path / "models", "tiny", sample_rate=SR, segment_length=4096)
    out = tmp_path / "bench"
    code = main(["--model", str(bundle), "--clean", str(clean), "--excerpts", "2", "--steps", "2",
                 "--filter-iters", "1", "--n-mels", "16", "--visqol", "off", "--device", "cpu",
                 "--variants", ",".join(ROWS), "--name", "t", "--out", str(out)])
    assert code == 0
    lines = capsys.readouterr().out.splitlines()
    rows = [line for line in lines if line.startswith("| ") and "variant" not in line]
    assert len(rows) == len(ROWS)
    for row in rows:
        assert all(math.isfinite(float(c.strip())) for c in row.strip("| ").split(" | ")[1:]), row
    keys = [v["key"] for v in json.loads((out / "t.json").read_text())["variants"]]
    assert keys == ROWS
