"""Training and fine-tuning of diffusion priors, with resumable checkpoints and bundle export."""

from shellac.engine.training.checkpoint import (
    CHECKPOINT_FILE,
    TrainingState,
    load_checkpoint,
    save_checkpoint,
)
from shellac.engine.training.config import TrainConfig, network_presets, resolve_network_config
from shellac.engine.training.ema import ema_beta, update_ema
from shellac.engine.training.export import CardInfo, describe_data, export_bundle, ltas_n_fft
from shellac.engine.training.finetune import base_model_label, finetune
from shellac.engine.training.loop import LOG_FILE, TrainResult, prepare_batch, train, warmup_lr
from shellac.engine.training.objective import draw_sigma, edm_loss

__all__ = [
    "CHECKPOINT_FILE",
    "LOG_FILE",
    "CardInfo",
    "TrainConfig",
    "TrainResult",
    "TrainingState",
    "base_model_label",
    "describe_data",
    "draw_sigma",
    "edm_loss",
    "ema_beta",
    "export_bundle",
    "finetune",
    "load_checkpoint",
    "ltas_n_fft",
    "network_presets",
    "prepare_batch",
    "resolve_network_config",
    "save_checkpoint",
    "train",
    "update_ema",
    "warmup_lr",
]
