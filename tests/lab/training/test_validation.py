"""Validation-loss logging and slim (repository-sized) checkpoints."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import torch

from shellac.lab.training import CHECKPOINT_FILE, load_checkpoint, train
from shellac.lab.training.loop import ADAM_RESTART_WARMUP, VAL_LOG_FILE, restart_factor
from shellac.lab.training.validation import make_validation_set, validation_loss, validation_sigmas

from .test_training import tiny_config


def test_validation_sigmas_are_training_mid_quantiles() -> None:
    sigmas = validation_sigmas(4, 1e-5, 10.0, 10.0)
    assert sigmas.shape == (4,)
    assert torch.all(sigmas[:-1] > sigmas[1:])  # u = 1/8 … 7/8 through the warp, largest first
    assert 1e-5 < float(sigmas[-1]) and float(sigmas[0]) < 10.0


def test_validation_set_and_loss_are_deterministic(data_dir: Path) -> None:
    config = tiny_config()
    sigmas = validation_sigmas(3, config.sigma_min, config.sigma_max, config.rho_train)
    a = make_validation_set(data_dir, config.sample_rate, 1024, segments=5, sigmas=sigmas)
    b = make_validation_set(data_dir, config.sample_rate, 1024, segments=5, sigmas=sigmas)
    assert torch.equal(a.clean, b.clean) and torch.equal(a.noise, b.noise)
    torch.manual_seed(0)
    net = config.build_network().train()
    loss, per_sigma = validation_loss(net, config.sigma_data, a, batch_size=2)
    assert net.training  # mode restored
    assert len(per_sigma) == 3 and abs(loss - sum(per_sigma) / 3) < 1e-9
    assert validation_loss(net, config.sigma_data, b, batch_size=5)[0] == pytest.approx(loss, rel=1e-5)


def test_training_logs_validation_loss_and_card(data_dir: Path, tmp_path: Path) -> None:
    config = tiny_config(validate_every=2, validation_segments=3, validation_sigmas=2)
    result = train(config, data_dir, tmp_path / "run", progress=False, val_dir=data_dir,
                   bundle_dir=tmp_path / "bundle")
    with open(tmp_path / "run" / VAL_LOG_FILE, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["step"]) for r in rows] == [2, 4, 6]
    assert all(float(r["val_loss_ema"]) > 0 and float(r["val_loss_net"]) > 0 for r in rows)
    assert len(rows[0]) == 5 + 2  # fixed columns, then one per σ
    assert result.val_loss == float(rows[-1]["val_loss_ema"])
    card = json.loads((tmp_path / "bundle" / "card.json").read_text())
    assert card["validation"]["loss_ema"] == result.val_loss and len(card["validation"]["sigmas"]) == 2


def test_slim_checkpoint_resumes_with_fresh_adam(data_dir: Path, tmp_path: Path) -> None:
    full = tiny_config(checkpoint_optimizer=True)
    slim = tiny_config(checkpoint_optimizer=False)
    train(full, data_dir, tmp_path / "full", progress=False, stop_after=3)
    train(slim, data_dir, tmp_path / "slim", progress=False, stop_after=3)
    a = load_checkpoint(tmp_path / "full" / CHECKPOINT_FILE)
    b = load_checkpoint(tmp_path / "slim" / CHECKPOINT_FILE)
    assert b.optimizer is None and a.optimizer is not None
    size = {name: (tmp_path / name / CHECKPOINT_FILE).stat().st_size for name in ("full", "slim")}
    assert size["slim"] < size["full"]
    for key, value in a.ema.items():
        assert torch.equal(value, b.ema[key])  # the EMA is kept exactly
    for key, value in a.network.items():
        tolerance = 1e-3 * float(value.abs().max()) + 1e-6
        torch.testing.assert_close(b.network[key], value, rtol=0, atol=tolerance)
    rest = train(slim, data_dir, tmp_path / "slim", progress=False)
    assert rest.resumed_from == 3 and rest.steps == 6
    assert load_checkpoint(tmp_path / "slim" / CHECKPOINT_FILE).lineage["adam_restarts"] == [3]
    with open(tmp_path / "slim" / "loss.csv", newline="") as fh:
        lrs = {int(r["step"]): float(r["lr"]) for r in csv.DictReader(fh)}
    assert lrs[4] == pytest.approx(slim.lr / ADAM_RESTART_WARMUP)


def test_restart_factor() -> None:
    assert restart_factor(10, []) == 1.0
    assert restart_factor(110, [10]) == 100 / ADAM_RESTART_WARMUP
    assert restart_factor(10_000, [10, 500]) == 1.0
