"""scripts/train_gpu.py: prepare the weights and validation segments, then a budgeted run (here on CPU)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch
from safetensors.torch import load_file, save_file

from shellac.engine.models.bundle import load_bundle
from shellac.lab.training.config import TrainConfig
from tests.fixtures.bundles import make_tiny_bundle
from tests.fixtures.modules import load_module

REPO = Path(__file__).resolve().parents[3]


def write_clips(root: Path, rate: int, rng: np.random.Generator, *, amplitude: float, f0: float, step: float,
                noise: float) -> None:
    """Two 3 s sine-plus-noise clips (f0, f0 + step) in each of ``root``/data and ``root``/val."""
    for folder in ("data", "val"):
        (root / folder).mkdir()
        for i in range(2):
            t = np.arange(3 * rate) / rate
            clip = amplitude * np.sin(2 * np.pi * (f0 + step * i) * t) + noise * rng.standard_normal(t.size)
            sf.write(root / folder / f"c{i}.flac", clip.astype(np.float32), rate)


def test_prepare_then_a_budgeted_run_continues_the_bundle(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    rate, length = 8000, 4096
    bundle = make_tiny_bundle(tmp_path / "models", "tiny", sample_rate=rate, segment_length=length)
    write_clips(tmp_path, rate, np.random.default_rng(0), amplitude=0.2, f0=220.0, step=110.0, noise=0.01)
    config = TrainConfig(network="tiny", sample_rate=rate, segment_length=length, sigma_data=0.1,
                         spectral_weighting_db=20.0, validation_segments=4, validation_sigmas=3)
    (tmp_path / "run.json").write_text(config.model_dump_json(), encoding="utf-8")
    script = load_module(REPO / "scripts" / "train_gpu.py", "train_gpu")
    prep, out = tmp_path / "prep", tmp_path / "out"
    assert script.main(["prepare", "--data", str(tmp_path / "data"), "--val-dir", str(tmp_path / "val"),
                        "--run-config", str(tmp_path / "run.json"), "--out", str(prep)]) == 0
    assert np.load(prep / "val_clean.npy").shape == (4, length)
    assert script.main(["train", "--base", str(bundle), "--data", str(tmp_path / "data"),
                        "--run-config", str(tmp_path / "run.json"),
                        "--weights", str(prep / "spectral_w2.npy"),
                        "--val-npy", str(prep / "val_clean.npy"), "--out", str(out),
                        "--device", "cpu",
                        "--batch", "2", "--max-steps", "4", "--budget-s", "120",
                        "--validate-every", "2"]) == 0
    summary = json.loads((out / "summary.json").read_text())
    assert summary["steps"] == 4 and summary["batch"] == 2 and summary["device"] == "cpu"
    with open(out / "val_loss.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in rows] == [0, 2, 4]
    assert all(np.isfinite(float(r["val_loss_ema"])) for r in rows)
    # The EMA weights load into the base bundle's network and moved away from the start.
    base = load_bundle(bundle).network.state_dict()
    ema = load_file(str(out / "ema.safetensors"))
    assert set(ema) == set(base)
    assert any(not torch.equal(ema[k], base[k]) for k in base if base[k].dtype.is_floating_point)
    assert load_file(str(out / "net_fp16.safetensors"))[next(iter(base))].dtype == torch.float16


def test_a_chained_fine_tune_starts_from_the_given_weights_with_std_segments_and_gain(tmp_path: Path) -> None:
    torch.set_num_threads(1)
    rate, length = 8000, 4096
    bundle = make_tiny_bundle(tmp_path / "models", "tiny", sample_rate=rate, segment_length=length)
    write_clips(tmp_path, rate, np.random.default_rng(1), amplitude=0.05, f0=300.0, step=90.0, noise=0.002)
    config = TrainConfig(network="tiny", sample_rate=rate, segment_length=length, normalization="std",
                         sigma_data=1.0, sigma_min=1e-3, sigma_max=100.0, gain_db=3.0,
                         validation_segments=4, validation_sigmas=3)
    (tmp_path / "run.json").write_text(config.model_dump_json(), encoding="utf-8")
    script = load_module(REPO / "scripts" / "train_gpu.py", "train_gpu")
    prep = tmp_path / "prep"
    script.main(["prepare", "--data", str(tmp_path / "data"), "--val-dir", str(tmp_path / "val"),
                 "--run-config", str(tmp_path / "run.json"), "--out", str(prep)])
    # prepare scales each validation segment to unit std, as the voice models see them
    assert np.allclose(np.load(prep / "val_clean.npy").std(axis=1), 1.0, atol=1e-3)
    common = ["--base", str(bundle), "--data", str(tmp_path / "data"),
              "--run-config", str(tmp_path / "run.json"),
              "--weights", str(prep / "spectral_w2.npy"), "--val-npy", str(prep / "val_clean.npy"),
              "--device", "cpu", "--batch", "2", "--max-steps", "3", "--budget-s", "120",
              "--validate-every", "3"]
    script.main(["train", *common, "--out", str(tmp_path / "first")])
    script.main(["train", *common, "--out", str(tmp_path / "second"),
                 "--init-weights", str(tmp_path / "first" / "ema.safetensors")])

    def val_rows(run: str) -> list[dict[str, str]]:
        with open(tmp_path / run / "val_loss.csv", encoding="utf-8") as fh:
            return list(csv.DictReader(fh))

    first, second = val_rows("first"), val_rows("second")
    # the chained run's step 0 scores exactly the first run's final EMA (same segments, same noise)
    assert second[0]["val_loss_ema"] == first[-1]["val_loss_ema"]
    assert first[0]["val_loss_ema"] != first[-1]["val_loss_ema"]


def test_init_weights_that_are_missing_or_foreign_stop_the_run_with_the_file_named(tmp_path: Path) -> None:
    script = load_module(REPO / "scripts" / "train_gpu.py", "train_gpu")
    net = load_bundle(make_tiny_bundle(tmp_path / "models", "tiny", sample_rate=8000,
                                       segment_length=4096)).network
    with pytest.raises(SystemExit, match="does not exist"):
        script.load_init_weights(net, tmp_path / "none.safetensors", tmp_path / "models" / "tiny")
    save_file({"other.weight": torch.zeros(3)}, str(tmp_path / "foreign.safetensors"))
    with pytest.raises(SystemExit, match=r"foreign\.safetensors does not fit the network of .*tiny"):
        script.load_init_weights(net, tmp_path / "foreign.safetensors", tmp_path / "models" / "tiny")
