"""Training loop: warm-up and EMA pinned, loss goes down, exact resume, bundle export, fine-tune lineage."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest
import torch

from shellac.engine.diffusion.precond import EDMPrecond
from shellac.engine.errors import ParameterError
from shellac.engine.models.bundle import bundle_checksum, load_bundle
from shellac.engine.networks.unet1d import UNet1D, UNet1DConfig
from shellac.lab.training import (
    LOG_FILE,
    CardInfo,
    TrainConfig,
    base_model_label,
    ema_beta,
    finetune,
    prepare_batch,
    train,
    update_ema,
    warmup_lr,
)
from shellac.lab.training.objective import draw_sigma, edm_loss

from .conftest import SR


def tiny_config(**kw: object) -> TrainConfig:
    fields: dict[str, object] = {
        "network": "tiny", "sample_rate": SR, "segment_length": 1024, "steps": 6,
        "checkpoint_every": 3, "warmup_steps": 2, "batch_size": 2, "seed": 3,
    }
    fields.update(kw)
    return TrainConfig(**fields)


def test_warmup_lr_is_linear_then_flat() -> None:
    assert [warmup_lr(s, 2e-4, 4) for s in (1, 2, 3, 4, 5, 100)] == pytest.approx(
        [5e-5, 1e-4, 1.5e-4, 2e-4, 2e-4, 2e-4], rel=1e-12
    )
    assert warmup_lr(1, 2e-4, 0) == 2e-4


def test_ema_beta_ramp_pinned() -> None:
    got = [ema_beta(s, 0.9999, 0.05) for s in (1, 10, 100, 1000, 10_000, 1_000_000)]
    want = [2.0**-20, 0.25, 0.8705505632961241, 0.9862327044933592, 0.9986146661010289, 0.9999]
    assert got == pytest.approx(want, rel=1e-12)
    assert ema_beta(7, 0.9999, None) == 0.9999
    with pytest.raises(ValueError):
        ema_beta(0, 0.9999, 0.05)


def test_update_ema_blends_parameters() -> None:
    ema, net = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    with torch.no_grad():
        ema.weight.fill_(1.0)
        net.weight.fill_(3.0)
    update_ema(ema, net, 0.75)
    assert torch.allclose(ema.weight, torch.full((1, 2), 1.5))


def test_sigma_draw_covers_range_with_rho_warp() -> None:
    sigma = draw_sigma(20_000, 1e-5, 10.0, 10.0, torch.Generator().manual_seed(0))
    assert float(sigma.min()) >= 1e-5 and float(sigma.max()) <= 10.0
    # u = 0.5 maps to ((10^0.1 + 1e-5^0.1) / 2)^10 = 0.0918...: half the draws lie below it.
    median = ((10.0**0.1 + 1e-5**0.1) / 2.0) ** 10
    assert median == pytest.approx(0.091818, rel=1e-4)
    assert float((sigma < median).float().mean()) == pytest.approx(0.5, abs=0.015)


def test_few_steps_lower_the_loss_on_a_fixed_batch() -> None:
    torch.manual_seed(0)
    net = UNet1D(UNet1DConfig.tiny())
    denoiser = EDMPrecond(net, 0.1)
    t = torch.arange(512) / SR
    x = torch.stack([0.1 * torch.sin(2 * torch.pi * f * t) for f in (220.0, 330.0)])
    gen = torch.Generator().manual_seed(1)
    sigma = torch.tensor([0.05, 0.2])
    noise = torch.randn(x.shape, generator=gen)
    opt = torch.optim.Adam(net.parameters(), lr=2e-3)
    losses = []
    for _ in range(30):
        opt.zero_grad()
        loss = edm_loss(denoiser, x, sigma, noise).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert losses[-1] < 0.5 * losses[0]


def test_prepare_batch_normalises_then_applies_gain() -> None:
    seg = np.stack([np.linspace(-1, 1, 64), 0.1 * np.linspace(-1, 1, 64)]).astype(np.float32)
    x = prepare_batch(seg, tiny_config(normalization="std", sigma_data=1.0), None)
    assert torch.allclose(x.std(dim=1), torch.ones(2), atol=1e-5)
    voice = tiny_config(normalization="std", sigma_data=1.0, gain_db=3.0)
    x = prepare_batch(seg, voice, np.array([1.0, 0.0]))
    assert x.std(dim=1).tolist() == pytest.approx([10 ** (3 / 20), 10 ** (-3 / 20)], rel=1e-5)


def test_resume_reproduces_the_uninterrupted_run(data_dir: Path, tmp_path: Path) -> None:
    config = tiny_config()
    full = train(config, data_dir, tmp_path / "full", progress=False)
    assert full.steps == 6 and len(full.losses) == 6
    assert all(np.isfinite(full.losses))

    part = train(config, data_dir, tmp_path / "split", progress=False, stop_after=4)
    assert part.steps == 4 and part.losses == full.losses[:4]
    # A crash after the checkpoint may leave log rows past it; resuming drops them.
    with open(tmp_path / "split" / LOG_FILE, "a", encoding="utf-8") as fh:
        fh.write("5,99.0,0,0,0,0\n")
    rest = train(config, data_dir, tmp_path / "split", progress=False)
    assert rest.resumed_from == 4
    assert rest.losses == full.losses  # exact, not approximate
    with open(tmp_path / "split" / LOG_FILE, newline="") as fh:
        steps = [int(r["step"]) for r in csv.DictReader(fh)]
    assert steps == [1, 2, 3, 4, 5, 6]

    # A finished run resumes to itself without training more.
    again = train(config, data_dir, tmp_path / "split", progress=False)
    assert again.steps == 6 and again.seconds_per_step is None


def test_resume_refuses_a_changed_config(data_dir: Path, tmp_path: Path) -> None:
    train(tiny_config(steps=2), data_dir, tmp_path / "run", progress=False)
    with pytest.raises(ParameterError, match="lr"):
        train(tiny_config(steps=4, lr=1e-3), data_dir, tmp_path / "run", progress=False)
    # More steps is allowed, and resume=False starts over.
    assert train(tiny_config(steps=3), data_dir, tmp_path / "run", progress=False).resumed_from == 2
    fresh = train(tiny_config(steps=2, lr=1e-3), data_dir, tmp_path / "run", progress=False, resume=False)
    assert fresh.resumed_from == 0 and len(fresh.losses) == 2


def test_export_and_finetune_lineage(data_dir: Path, tmp_path: Path) -> None:
    info = CardInfo(name="tiny-tones", licence="CC0-1.0", command="shellac train data out")
    base = train(tiny_config(steps=3), data_dir, tmp_path / "run", progress=False,
                 bundle_dir=tmp_path / "base", info=info)
    loaded = load_bundle(base.bundle_dir)
    assert loaded.card.name == "tiny-tones" and loaded.card.training_steps == 3
    assert loaded.card.licence == "CC0-1.0" and loaded.card.command == "shellac train data out"
    assert loaded.card.data.startswith("3 file(s), 0.1 min of audio from data/")
    assert loaded.card.final_loss == pytest.approx(base.final_loss)
    assert loaded.config.network == UNet1DConfig.tiny().model_dump(mode="json")
    assert loaded.reference_ltas.sample_rate == SR and loaded.reference_ltas.n_fft == 2048

    tuned = finetune(base.bundle_dir, data_dir, tmp_path / "ft-run", steps=2, gain_db=3.0,
                     bundle_dir=tmp_path / "tuned", progress=False,
                     info=CardInfo(name="tiny-tuned", data="three tones, fine-tune set"))
    card = load_bundle(tuned.bundle_dir).card
    assert card.base_model == base_model_label("tiny-tones", bundle_checksum(tmp_path / "base"))
    assert card.name == "tiny-tuned" and card.data == "three tones, fine-tune set"
    assert card.training_steps == 2
    ft_config = TrainConfig.model_validate_json((tmp_path / "ft-run" / "train_config.json").read_text())
    assert ft_config.gain_db == 3.0 and ft_config.warmup_steps == 100
    assert ft_config.network == UNet1DConfig.tiny().model_dump(mode="json")
