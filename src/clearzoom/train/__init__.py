"""Training: data, degradations, the resumable loop, checkpoints and export.

from clearzoom.train import load_config, train, export_model
cfg = load_config("configs/cpu-small.yaml")
result = train(cfg, "runs/cpu-small")            # resumable: train(..., resume=result.checkpoint)
export_model(result.checkpoint, "my-model.safetensors")
"""

from .checkpoint import export_model, load_state, save_state
from .config import TrainConfig, config_from_dict, load_config
from .loop import TrainResult, train
from .schedule import lr_at

__all__ = [
    "TrainConfig",
    "TrainResult",
    "config_from_dict",
    "export_model",
    "load_config",
    "load_state",
    "lr_at",
    "save_state",
    "train",
]
