"""Training and fine-tuning of diffusion priors, with resumable checkpoints and bundle export."""

from shellac.lab.training.checkpoint import (
    CHECKPOINT_FILE,
    TrainingState,
    load_checkpoint,
    save_checkpoint,
)
from shellac.lab.training.config import TrainConfig, network_presets, resolve_network_config
from shellac.lab.training.ema import ema_beta, update_ema
from shellac.lab.training.export import CardInfo, describe_data, export_bundle, ltas_n_fft
from shellac.lab.training.finetune import base_model_label, finetune
from shellac.lab.training.loop import LOG_FILE, TrainResult, prepare_batch, train, warmup_lr
from shellac.lab.training.objective import draw_sigma, edm_loss

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
