"""Everything a training run holds, built (or restored from a checkpoint) before the first step.

The order of construction is part of the contract: the seed, then the network, optimizer, data and
validation set, then the resumed state. A resumed run therefore continues the same trajectory as
an unbroken one (bitwise on CPU with ``train.deterministic``).
"""

from __future__ import annotations

import copy
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ..atomic import write_atomic
from ..errors import ClearZoomError, ConfigError, UnknownModelError
from ..models import registry
from ..models.configs import Normalization
from ..models.liif import LIIF
from ..models.model import Model
from .adversarial import UNetDiscriminator
from .checkpoint import load_state
from .config import TrainConfig
from .data import ImageStore, PatchSampler, list_images, split_files
from .distributed import Dist
from .logs import RunLog
from .schedule import lr_at, resolve_train_precision
from .teacher import PackSampler
from .validate import ValidationSet
from .warm_start import warm_start

__all__ = ["CHECKPOINT", "Run", "setup_run"]

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"


@dataclass
class Run:
    """A run in progress: its parts and its counters (``step``, training seconds, CPU seconds)."""

    cfg: TrainConfig
    out: Path
    d: Dist
    device: torch.device
    precision: str
    norm: Normalization
    net: LIIF  # the module whose weights are saved
    model: Callable[..., torch.Tensor]  # what the step calls: ``net``, wrapped by DDP and/or compiled
    opt: torch.optim.Optimizer
    sampler: PatchSampler | PackSampler
    val: ValidationSet | None  # rank 0 only
    log: RunLog | None  # rank 0 only
    scaler: torch.amp.GradScaler | None = None
    ema: dict[str, torch.Tensor] | None = None
    disc: UNetDiscriminator | None = None  # perceptual training only
    opt_d: torch.optim.Optimizer | None = None
    resumed: bool = False
    step: int = 0
    seconds: float = 0.0
    cpu_seconds: float = 0.0
    last_val: dict[str, float] | None = None

    @property
    def use_cuda(self) -> bool:
        return self.device.type == "cuda"

    @property
    def checkpoint(self) -> Path:
        return self.out / CHECKPOINT

    def snapshot(self) -> dict[str, Any]:
        """Everything :func:`setup_run` needs to continue this run exactly."""
        snap = {
            "config": self.cfg.to_dict(),
            "step": self.step,
            "seconds": self.seconds,
            "cpu_seconds": self.cpu_seconds,
            "model": {k: v.detach().cpu() for k, v in self.net.state_dict().items()},
            "ema": {k: v.cpu() for k, v in self.ema.items()} if self.ema is not None else None,
            "optimizer": self.opt.state_dict(),
            "scheduler": {"schedule": self.cfg.optim.schedule, "lr": lr_at(max(self.step - 1, 0), self.cfg)},
            "scaler": self.scaler.state_dict() if self.scaler is not None else None,
            "rng": {"torch": torch.get_rng_state()},
            "last_validation": self.last_val,
        }
        if self.disc is not None and self.opt_d is not None:
            snap["discriminator"] = {k: v.detach().cpu() for k, v in self.disc.state_dict().items()}
            snap["optimizer_d"] = self.opt_d.state_dict()
        return snap

    def validate(self) -> dict[str, float]:
        """The validation set's measurements of the EMA weights (or the raw ones without EMA)."""
        assert self.val is not None
        eval_net = copy.deepcopy(self.net).eval()
        if self.ema is not None:
            eval_net.load_state_dict(self.ema)
        model = Model(self.cfg.name, self.cfg.model.spec, eval_net, self.norm)
        t = time.perf_counter()
        res = self.val.evaluate(model, self.device)
        res["seconds_validation"] = round(time.perf_counter() - t, 2)
        return res


def setup_run(cfg: TrainConfig, out: Path, resume: Path | None, d: Dist) -> Run:
    """Build the run ``cfg`` describes in ``out`` (continuing ``resume`` if given).

    Every config and data error surfaces here, as :class:`~clearzoom.errors.ConfigError`, before
    any training step.
    """
    rc = cfg.train
    if rc.threads:
        torch.set_num_threads(rc.threads)
    if rc.deterministic:
        torch.use_deterministic_algorithms(True, warn_only=True)
    if rc.device == "cuda" and not torch.cuda.is_available():
        raise ConfigError("train.device: cuda requested but CUDA is not available")
    use_cuda = rc.device != "cpu" and torch.cuda.is_available()
    device = torch.device("cuda", d.local_rank) if use_cuda else torch.device("cpu")
    precision = resolve_train_precision(rc.precision, device)
    state = load_state(resume) if resume is not None else None
    if state is not None and state["config"]["model"]["spec"] != cfg.model.spec:
        raise ConfigError(f"--resume {resume}: its model.spec differs from the config's")
    _prepare_out(out, resume, d)
    norm, net, opt = _build_model(cfg, device, warm=state is None)
    if cfg.perceptual.enabled and d.world > 1:
        raise ConfigError("perceptual.enabled: perceptual training runs in one process for now")
    disc, opt_d = _build_discriminator(cfg, device)
    sampler, val = _build_data(cfg, d)
    run = Run(
        cfg,
        out,
        d,
        device,
        precision,
        norm,
        net,
        net,
        opt,
        sampler,
        val,
        None,
        scaler=torch.amp.GradScaler("cuda") if precision == "fp16" else None,
    )
    run.disc, run.opt_d = disc, opt_d
    if state is not None:
        _restore(run, state, resume)
    if cfg.optim.ema > 0:  # from the loaded weights (or the checkpoint's EMA), never from fresh ones
        saved = state.get("ema") if state is not None else None
        run.ema = (
            {k: v.to(device) for k, v in saved.items()}
            if saved is not None
            else {k: v.detach().clone() for k, v in net.state_dict().items()}
        )
    if d.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        run.model = DistributedDataParallel(net, device_ids=[d.local_rank] if use_cuda else None)
    if rc.compile:
        run.model = torch.compile(run.model)
    if d.main:
        _start_logs(run)
    return run


def _prepare_out(out: Path, resume: Path | None, d: Dist) -> None:
    if d.main:
        out.mkdir(parents=True, exist_ok=True)
        if resume is None and (out / CHECKPOINT).exists():
            raise ConfigError(
                f"{out / CHECKPOINT} exists: pass --resume {out / CHECKPOINT} to "
                f"continue that run, or choose another --out"
            )


def _build_model(
    cfg: TrainConfig, device: torch.device, *, warm: bool
) -> tuple[Normalization, LIIF, torch.optim.Optimizer]:
    """The normalisation, the network (seeded, or warm-started from ``model.init_from`` when
    ``warm``: a resumed run takes its weights from its checkpoint) and the optimizer."""
    try:
        norm = Normalization.from_dict(cfg.model.normalization)
    except (KeyError, TypeError, ValueError):
        raise ConfigError("model.normalization: needs inp_sub, inp_div, gt_sub, gt_div") from None
    torch.manual_seed(cfg.seed)
    try:
        net = registry.make(cfg.model.spec)
    except UnknownModelError as exc:
        raise ConfigError(f"model.spec: {exc}") from None
    except TypeError as exc:
        raise ConfigError(f"model.spec: bad arguments ({exc})") from None
    if not isinstance(net, LIIF):
        raise ConfigError(f"model.spec: clearzoom trains LIIF models, not {cfg.model.spec.get('name')!r}")
    if warm and cfg.model.init_from:
        _warm_start(net, cfg.model.init_from)
    net.to(device)
    if cfg.train.channels_last:
        net.to(memory_format=torch.channels_last)  # type: ignore[call-overload]  # (missing from torch's stubs)
    opt_cls = torch.optim.AdamW if cfg.optim.name == "adamw" else torch.optim.Adam
    opt = opt_cls(
        net.parameters(), lr=cfg.optim.lr, betas=cfg.optim.betas, weight_decay=cfg.optim.weight_decay
    )
    return norm, net, opt


def _build_discriminator(
    cfg: TrainConfig, device: torch.device
) -> tuple[UNetDiscriminator | None, torch.optim.Optimizer | None]:
    """The discriminator and its optimizer of a perceptual run (built after the network, so the
    generator's initial weights do not depend on whether the run is perceptual)."""
    if not cfg.perceptual.enabled:
        return None, None
    disc = UNetDiscriminator(width=cfg.perceptual.width).to(device)
    return disc, torch.optim.Adam(disc.parameters(), lr=cfg.perceptual.lr, betas=(0.9, 0.99))


def _warm_start(net: LIIF, source: str) -> None:
    from ..checkpoints.loading import load_model

    try:
        model = load_model(source)
    except ClearZoomError as exc:
        raise ConfigError(f"model.init_from: {exc}") from None
    added = warm_start(net, model.net.state_dict(), model.name)
    log.info("started from %s%s", model.name, f" with {added} identity encoder block(s)" if added else "")


def _build_data(cfg: TrainConfig, d: Dist) -> tuple[PatchSampler | PackSampler, ValidationSet | None]:
    files = list_images(cfg.data.train)
    train_files, val_files = split_files(files, cfg.data.val_every)
    store = ImageStore(
        train_files,
        cache=cfg.data.cache,
        predownscale=cfg.data.predownscale,
        predownscale_formats=cfg.data.predownscale_formats,
        min_side=cfg.data.min_side,
    )
    if len(store) == 0:
        raise ConfigError(f"data.train: none of the {len(train_files)} training images is usable")
    sampler: PatchSampler | PackSampler
    if cfg.data.teacher_pack:  # distillation: the pack's crops, with the teacher's renders
        sampler = PackSampler(cfg.data.teacher_pack, cfg.data, seed=cfg.seed, rank=d.rank, world_size=d.world)
    else:
        sampler = PatchSampler(store, cfg.data, cfg.degrade, seed=cfg.seed, rank=d.rank, world_size=d.world)
    val = ValidationSet(val_files, cfg.validate, cfg.data.val_max) if d.main else None
    if val is not None:
        log.info(
            "%d training images (%d skipped, %.0f MB cached), %d validation crops",
            len(store),
            len(store.skipped),
            store.nbytes / 1e6,
            val.num_images,
        )
    return sampler, val


def _restore(run: Run, state: dict[str, Any], resume: Path | None) -> None:
    run.net.load_state_dict(state["model"])
    run.opt.load_state_dict(state["optimizer"])
    if run.scaler is not None and state.get("scaler"):
        run.scaler.load_state_dict(state["scaler"])
    torch.set_rng_state(state["rng"]["torch"])
    run.step, run.seconds = state["step"], state["seconds"]
    run.last_val = state.get("last_validation")
    run.cpu_seconds = state.get("cpu_seconds", run.seconds)
    if run.disc is not None and run.opt_d is not None:
        if not state.get("discriminator"):
            raise ConfigError(f"--resume {resume}: not a perceptual run's checkpoint (no discriminator)")
        run.disc.load_state_dict(state["discriminator"])
        run.opt_d.load_state_dict(state["optimizer_d"])
    run.resumed = True
    if run.d.main:
        log.info("resumed %s at step %d (%.1f min trained)", resume, run.step, run.seconds / 60)


def _start_logs(run: Run) -> None:
    import yaml

    run.log = RunLog(run.out, run.step if run.resumed else None)
    write_atomic(run.out / "config.yaml", yaml.safe_dump(run.cfg.to_dict(), sort_keys=False))
    if run.val is not None and not run.resumed:
        run.log.write({"kind": "bicubic", "step": 0, **run.val.bicubic()})
