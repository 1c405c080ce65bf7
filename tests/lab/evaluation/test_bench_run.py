"""The evaluation set and a --quick-style benchmark run on a tiny random bundle."""

import json
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from shellac.cli.bench import main
from shellac.lab.degradation import horn_response_db
from shellac.lab.evaluation import VARIANTS, build_evaluation_set, clean_files
from tests.fixtures.bundles import make_tiny_bundle

SR = 8000


@pytest.fixture(scope="module")
def clean_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two 3 s harmonic 'recordings' at 16 kHz (resampled to the model's 8 kHz by the benchmark)."""
    root = tmp_path_factory.mktemp("clean")
    rng = np.random.default_rng(0)
    t = np.arange(3 * 16000) / 16000
    for i, f0 in enumerate((196.0, 262.0)):
        x = sum(0.2 / k * np.sin(2 * np.pi * f0 * k * t + k) for k in range(1, 15))
        x = x * (0.6 + 0.4 * np.sin(2 * np.pi * 1.5 * t)) + 0.003 * rng.standard_normal(t.size)
        sf.write(root / f"piece{i}.flac", x.astype(np.float32), 16000)
    return root


def test_evaluation_set_is_seeded_and_keeps_the_true_response(clean_dir: Path) -> None:
    files = clean_files([clean_dir])
    a = build_evaluation_set(files, SR, n_excerpts=3, excerpt_samples=4096, seed=7)
    b = build_evaluation_set(files, SR, n_excerpts=3, excerpt_samples=4096, seed=7)
    assert [e.name for e in a] == [e.name for e in b]
    for ea, eb in zip(a, b, strict=True):
        np.testing.assert_array_equal(ea.degraded, eb.degraded)
        assert ea.clean.shape == ea.degraded.shape == (4096,)
        assert np.max(np.abs(ea.clean)) == pytest.approx(0.5)
        assert 2500.0 <= ea.params.lowpass_hz <= 6000.0
        # The stored response is the chain's horn EQ plus one broadband level change.
        offset = ea.response_db - horn_response_db(ea.response_freqs_hz, ea.params)
        np.testing.assert_allclose(offset, offset[0], atol=1e-9)
        assert ea.response_freqs_hz[-1] == pytest.approx(SR / 2)
    assert {e.name.split("@")[0] for e in a} == {"piece0", "piece1"}  # round-robin over files
    c = build_evaluation_set(files, SR, n_excerpts=3, excerpt_samples=4096, seed=8)
    assert [e.params for e in c] != [e.params for e in a]


def test_quick_style_run_has_every_variant_and_finite_numbers(
    clean_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = make_tiny_bundle(tmp_path / "models", "tiny", sample_rate=SR, segment_length=4096)
    out = tmp_path / "bench"
    code = main(["--model", str(bundle), "--clean", str(clean_dir), "--excerpts", "2", "--steps", "2",
                 "--filter-iters", "1", "--n-mels", "16", "--visqol", "off", "--device", "cpu",
                 "--name", "t", "--out", str(out)])
    assert code == 0
    table = capsys.readouterr().out
    rows = [line for line in table.splitlines() if line.startswith("| ") and "variant" not in line]
    assert [r.split(" | ")[0][2:] for r in rows] == [v.label for v in VARIANTS]
    for row in rows:
        cells = [c.strip() for c in row.strip("| ").split(" | ")[1:]]
        assert all(math.isfinite(float(c)) for c in cells), row
    report = json.loads((out / "t.json").read_text())
    assert report["command"].startswith("shellac bench --model")
    assert (out / "t.md").read_text().count("| BABE-2") == 5
    assert (out / "t_ltas.png").stat().st_size > 10_000
    by_key = {v["key"]: v for v in report["variants"]}
    for key, v in by_key.items():
        for name, value in v["metrics"].items():
            assert name == "visqol_moslqo" or math.isfinite(value), (key, name)
        generative = key.startswith("babe")
        # 2N − 1 = 3 network evaluations per block (Heun, then Euler), one 4096-sample block per excerpt.
        assert v["cost"]["network_evaluations_per_block"] == (3 if generative else 0)
        assert v["cost"]["blocks"] == (2 if generative else 0)
    # LTAS-EQ moves the long-term spectrum onto the model's reference (white noise for this bundle).
    ltas_ref = {k: v["metrics"]["ltas_dist_ref_db"] for k, v in by_key.items()}
    assert ltas_ref["ltas_eq"] < ltas_ref["original"]
    # Same seeds, same input: the model-free rows are deterministic.
    assert by_key["original"]["metrics"]["lsd_db"] == pytest.approx(
        report["variants"][0]["per_excerpt"][0]["lsd_db"] / 2
        + report["variants"][0]["per_excerpt"][1]["lsd_db"] / 2)


@pytest.mark.slow
def test_quick_cli_run_with_isolated_rows(
    clean_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # (it read the demo's reference renders until session 31, which exist only after `make demo`)
    code = main(["--quick", "--clean", str(clean_dir), "--variants", "original,babe2", "--isolate",
                 "--device", "cpu", "--out", str(tmp_path)])
    assert code == 0
    assert "| BABE-2 |" in capsys.readouterr().out
    report = json.loads((tmp_path / "quick-tiny-random.json").read_text())
    costs = {v["key"]: v["cost"] for v in report["variants"]}
    # A fresh process per row: each has its own peak, at least the size of torch plus the model.
    assert all(c["process_peak_rss_mb"] > 100 for c in costs.values())
    assert costs["babe2"]["network_evaluations_per_block"] == 7  # --quick: N = 4
    assert "Smoke test, not a quality result" in (tmp_path / "quick-tiny-random.md").read_text()
