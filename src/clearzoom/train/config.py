"""Training configuration: typed, validated records read from YAML.

A config file has five sections (every key optional except ``data.train``; see ``configs/``)::

    seed: 0
    model:    {spec: {name: liif, args: {...}}, normalization: {...}}
    data:     {train: PATH, patch: 48, scale: [1, 4], queries: 2304, batch: 16, ...}
    degrade:  {clean: 0.3, jpeg_quality: [10, 95], double_jpeg: 0.1, noise: 0, blur: 0, ...}
    optim:    {name: adam, lr: 1e-4, schedule: step, milestones: [...], gamma: 0.5, ...}
    train:    {steps: 1000, threads: 1, precision: auto, checkpoint_minutes: 5, ...}
    validate: {every: 500, scales: [2, 4, 8], jpeg_quality: [null, 30], crop: 192, ...}

Unknown keys, wrong types and out-of-range values raise :class:`~clearzoom.errors.ConfigError`
naming the key (``optim.lr: must be > 0, got -1``) before any data is read.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import bounded, build, read_yaml
from ..errors import ConfigError

__all__ = [
    "DataConfig",
    "DegradeConfig",
    "ModelConfig",
    "OptimConfig",
    "PerceptualConfig",
    "RunConfig",
    "TrainConfig",
    "ValidateConfig",
    "load_config",
    "config_from_dict",
]


@dataclass(frozen=True)
class ModelConfig:
    """The network (a registered LIIF spec), its pixel normalisation, and the weights a new run
    starts from (``init_from``: a model name or file; a deeper EDSR encoder than the source's
    gets identity blocks, see :mod:`clearzoom.train.warm_start`)."""

    spec: dict = field(
        default_factory=lambda: {
            "name": "liif",
            "args": {
                "encoder_spec": {"name": "edsr-baseline", "args": {"no_upsampling": True}},
                "imnet_spec": {"name": "mlp", "args": {"out_dim": 3, "hidden_list": [256, 256, 256, 256]}},
            },
        }
    )
    normalization: dict = field(
        default_factory=lambda: {"inp_sub": 0.5, "inp_div": 0.5, "gt_sub": 0.5, "gt_div": 0.5}
    )
    init_from: str = ""


@dataclass(frozen=True)
class DataConfig:
    """Training images and LIIF's patch sampling."""

    train: str = ""
    val_every: int = bounded(20, 2)  # every N-th file (sorted) is held out for validation
    val_max: int = bounded(12, 1)  # validation images used, at most
    cache: bool = True  # keep decoded images in memory
    predownscale: float = bounded(1.0, 1.0)  # shrink compressed sources by this factor first
    predownscale_formats: tuple[str, ...] = ("JPEG",)  # ... the sources in these formats
    min_side: int = bounded(0, 0)  # skip images smaller than this (after predownscale)
    patch: int = bounded(48, 8)  # LR patch side
    scale: tuple[float, float] = (1.0, 4.0)  # r ~ U(min, max); HR crop = round(patch * r)
    queries: int = bounded(2304, 1)  # HR pixels sampled per patch (sample_q)
    whole_patches: bool = False  # every HR pixel of each crop, one scale per batch (for image losses)
    # a teacher pack (clearzoom teacher-pack): batches come from it instead of the images, with the
    # teacher's render beside the ground truth (train/teacher.py); needs whole_patches
    teacher_pack: str | None = None
    batch: int = bounded(16, 1)  # global batch (split across processes)
    augment: bool = True  # random flips and transpose
    workers: int = bounded(0, 0)  # DataLoader worker processes


@dataclass(frozen=True)
class DegradeConfig:
    """What happens to the LR patch before the model sees it (see :mod:`clearzoom.data.degrade`)."""

    clean: float = bounded(1.0, 0, 1)
    jpeg_quality: tuple[int, int] = (10, 95)
    double_jpeg: float = bounded(0.0, 0, 1)
    noise: float = bounded(0.0, 0, 1)
    noise_sigma: tuple[float, float] = (0.0, 0.02)
    blur: float = bounded(0.0, 0, 1)
    blur_sigma: tuple[float, float] = (0.2, 1.5)
    second_order: float = bounded(0.0, 0, 1)  # Real-ESRGAN's two-stage chain for this share
    rescale: tuple[float, float] = (0.5, 1.5)  # resampling factors of that chain
    poisson: float = bounded(0.0, 0, 1)  # share of the noise that is Poisson (shot) noise
    poisson_scale: tuple[float, float] = (0.05, 2.0)
    gray_noise: float = bounded(0.0, 0, 1)  # share of the noise that is grey (luminance)


@dataclass(frozen=True)
class OptimConfig:
    """Optimizer and learning-rate schedule (warm-up, then step or cosine decay)."""

    name: str = bounded("adam", choices=("adam", "adamw"))
    lr: float = bounded(1e-4, 0, lo_open=True)
    betas: tuple[float, float] = (0.9, 0.999)
    weight_decay: float = bounded(0.0, 0)
    schedule: str = bounded("step", choices=("step", "cosine", "constant"))
    milestones: tuple[int, ...] = ()  # steps at which 'step' multiplies the rate by gamma
    gamma: float = bounded(0.5, 0, 1, lo_open=True)
    min_lr_ratio: float = bounded(0.0, 0, 1)  # cosine ends at lr * min_lr_ratio
    warmup_steps: int = bounded(0, 0)
    grad_clip: float = bounded(0.0, 0)  # max gradient norm; 0 = off
    ema: float = bounded(0.0, 0, 1)  # EMA decay of the weights (e.g. 0.999); 0 = off


@dataclass(frozen=True)
class RunConfig:
    """Length, hardware and bookkeeping."""

    steps: int = bounded(1000, 1)  # the planned length (the schedule runs over it)
    threads: int = bounded(0, 0)  # CPU threads per process; 0 = torch's default
    device: str = bounded("auto", choices=("auto", "cpu", "cuda"))
    precision: str = bounded("auto", choices=("auto", "fp32", "bf16", "fp16"))
    channels_last: bool = True
    compile: bool = (
        False  # torch.compile the model (measured 14% faster steps on this CPU; ~1 min to compile)
    )
    deterministic: bool = True
    checkpoint_minutes: float = bounded(5.0, 0, lo_open=True)
    log_every: int = bounded(50, 1)


@dataclass(frozen=True)
class ValidateConfig:
    """Validation by the evaluation protocol on held-out training files."""

    every: int = bounded(500, 1)  # steps
    scales: tuple[int, ...] = (2, 4, 8)
    jpeg_quality: tuple[int | None, ...] = (None, 30)  # None = clean LR
    crop: int = bounded(192, 24)  # centre crop of each HR image (a multiple of every scale)


@dataclass(frozen=True)
class PerceptualConfig:
    """Perceptual training (the crisp model): a discriminator judges whole HR patches
    (``data.whole_patches``), and the generator's loss adds, to the pixel L1, the adversarial term,
    discriminator feature matching and a Fourier-spectrum L1 (:mod:`clearzoom.train.adversarial`),
    each with its weight."""

    enabled: bool = False
    width: int = bounded(64, 4)  # the discriminator's first-level channels
    lr: float = bounded(1e-4, 0, lo_open=True)  # the discriminator's learning rate (Adam)
    l1: float = bounded(1.0, 0)
    adversarial: float = bounded(0.1, 0)
    feature_matching: float = bounded(1.0, 0)
    frequency: float = bounded(0.0, 0)
    # Shift output and ground truth together by a random 0..shift-1 pixels (cropped, then
    # reflect-padded) before the discriminator sees them, so the LR pixel grid does not sit at a
    # fixed phase of its stride-8 levels. 0: no shift.
    shift: int = bounded(0, 0)
    # weight of L1 between the output and a teacher's render (data.teacher_pack): distillation
    distill: float = bounded(0.0, 0)
    # weight of the cell-phase loss (adversarial.cell_phase_loss): no pattern with LIIF's cells
    periodicity: float = bounded(0.0, 0)


@dataclass(frozen=True)
class TrainConfig:
    name: str = "run"
    seed: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    degrade: DegradeConfig = field(default_factory=DegradeConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    train: RunConfig = field(default_factory=RunConfig)
    validate: ValidateConfig = field(default_factory=ValidateConfig)
    perceptual: PerceptualConfig = field(default_factory=PerceptualConfig)

    def to_dict(self) -> dict[str, Any]:
        return _plain(dataclasses.asdict(self))


def _plain(x: Any) -> Any:
    if isinstance(x, dict):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def config_from_dict(raw: dict[str, Any]) -> TrainConfig:
    """Validate a config mapping (as read from YAML) into a :class:`TrainConfig`."""
    cfg = build(TrainConfig, raw)
    _cross_checks(cfg)
    return cfg


def _cross_checks(cfg: TrainConfig) -> None:
    d, dg, v, o = cfg.data, cfg.degrade, cfg.validate, cfg.optim
    if not d.train:
        raise ConfigError("data.train: the training image folder is required")
    if d.scale[0] < 1:
        raise ConfigError(f"data.scale: scales must be >= 1, got {list(d.scale)}")
    lo, hi = dg.jpeg_quality
    if not (lo >= 1 and hi <= 100):
        raise ConfigError(f"degrade.jpeg_quality: must lie in 1..100, got {[lo, hi]}")
    if dg.rescale[0] <= 0 or dg.poisson_scale[0] < 0:
        raise ConfigError("degrade.rescale must be > 0 and degrade.poisson_scale >= 0")
    for s in v.scales:
        if s < 1:
            raise ConfigError(f"validate.scales: must be >= 1, got {s}")
        if v.crop % s:
            raise ConfigError(f"validate.crop: {v.crop} is not a multiple of scale {s}")
    for q in v.jpeg_quality:
        if q is not None and not 1 <= q <= 100:
            raise ConfigError(f"validate.jpeg_quality: must be null or 1..100, got {q}")
    if list(o.milestones) != sorted(o.milestones):
        raise ConfigError(f"optim.milestones: must be increasing, got {list(o.milestones)}")
    if not all(0 <= b < 1 for b in o.betas):
        raise ConfigError(f"optim.betas: must lie in [0, 1), got {list(o.betas)}")
    _perceptual_checks(cfg)
    spec = cfg.model.spec
    if not isinstance(spec.get("name"), str) or not isinstance(spec.get("args", {}), dict):
        raise ConfigError("model.spec: expected {name: ..., args: {...}}")


def _perceptual_checks(cfg: TrainConfig) -> None:
    d = cfg.data
    if cfg.perceptual.enabled and not d.whole_patches:
        raise ConfigError("perceptual.enabled: needs data.whole_patches (the discriminator sees images)")
    if d.teacher_pack and not d.whole_patches:
        raise ConfigError("data.teacher_pack: needs data.whole_patches (the pack gives whole patches)")
    if cfg.perceptual.distill > 0 and not (cfg.perceptual.enabled and d.teacher_pack):
        raise ConfigError("perceptual.distill: needs perceptual.enabled and a data.teacher_pack")


def load_config(path: str | os.PathLike, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read and validate a YAML config; ``overrides`` maps dotted keys to values (``data.train``)."""
    path = Path(path)
    raw = read_yaml(path)
    raw.setdefault("name", path.stem)
    for dotted, value in (overrides or {}).items():
        node = raw
        *parents, last = dotted.split(".")
        for p in parents:
            node = node.setdefault(p, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{dotted}: {p} is not a section")
        node[last] = value
    return config_from_dict(raw)
