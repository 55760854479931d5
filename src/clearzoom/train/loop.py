"""The training loop: one function, :func:`train`, for CPU, GPU and several processes.

* L1 loss on LIIF's normalised colours; Adam or AdamW; warm-up then step or cosine decay;
  gradient clipping; optional EMA of the weights (validation and export use it).
* Precision: fp32, or autocast (bf16 on CPUs with native bf16 and on GPUs, fp16 + grad scaling
  on older GPUs). ``auto`` picks fp32 on CPUs without native bf16, where bf16 is slower.
  ``train.compile`` runs the model through ``torch.compile``.
* Checkpoints every ``train.checkpoint_minutes`` and at the end, atomically, with everything a
  resumed run needs to continue the same trajectory (bitwise on CPU with ``deterministic``).
* Logs (rank 0): ``log.jsonl`` (one record per log interval and per validation), ``log.csv``,
  ``curves.png`` (with matplotlib), TensorBoard (when installed), a progress bar with ETA.
* Under ``torchrun --nproc_per_node N``: DistributedDataParallel (gloo on CPU, nccl on GPU), each
  rank draws its share of the batch from its own shard of the images; rank 0 validates, logs and
  checkpoints.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import logging
import math
import os
import signal
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ..atomic import write_atomic
from ..errors import ConfigError, UnknownModelError
from ..models import registry
from ..models.configs import Normalization
from ..models.model import Model
from ..precision import autocast, cpu_has_fast_bf16
from .checkpoint import load_state, save_state
from .config import TrainConfig, config_from_dict
from .data import ImageStore, PatchSampler, StepBatches, list_images, split_files
from .validate import ValidationSet

__all__ = ["TrainResult", "lr_at", "resolve_train_precision", "train"]

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint.pt"


@dataclass(frozen=True)
class TrainResult:
    checkpoint: Path
    step: int
    seconds: float
    last_validation: dict[str, float] | None


def lr_at(step: int, cfg: TrainConfig) -> float:
    """Learning rate for ``step`` (0-based): linear warm-up, then the schedule over ``train.steps``."""
    o = cfg.optim
    if o.warmup_steps and step < o.warmup_steps:
        return o.lr * (step + 1) / o.warmup_steps
    if o.schedule == "step":
        return o.lr * o.gamma ** sum(step >= m for m in o.milestones)
    if o.schedule == "cosine":
        span = max(1, cfg.train.steps - o.warmup_steps)
        t = min(1.0, (step - o.warmup_steps) / span)
        lo = o.lr * o.min_lr_ratio
        return lo + (o.lr - lo) * 0.5 * (1 + math.cos(math.pi * t))
    return o.lr


def resolve_train_precision(precision: str, device: torch.device) -> str:
    """``auto`` -> bf16 on GPUs that have it (else fp16), bf16 on CPUs with native bf16, else fp32."""
    if precision != "auto":
        if precision == "fp16" and device.type != "cuda":
            raise ConfigError("train.precision: fp16 training needs a CUDA device (use fp32 or bf16)")
        return precision
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "bf16" if cpu_has_fast_bf16() else "fp32"


# ---------------------------------------------------------------------------- distributed
@dataclass(frozen=True)
class _Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def _init_distributed(device_pref: str) -> _Dist:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return _Dist()
    import torch.distributed as dist

    use_cuda = device_pref != "cpu" and torch.cuda.is_available()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    d = _Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    if use_cuda:
        torch.cuda.set_device(d.local_rank)
    return d


def _any_rank(flag: bool, d: _Dist) -> bool:
    """True on every rank if ``flag`` is true on any rank (so that all ranks stop together)."""
    if d.world == 1:
        return flag
    import torch.distributed as dist

    t = torch.tensor([1.0 if flag else 0.0])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())


# ---------------------------------------------------------------------------- EMA
def _ema_update(ema: dict[str, torch.Tensor], net: torch.nn.Module, decay: float, step: int) -> None:
    d = min(decay, (1 + step) / (10 + step))  # short warm-up: early EMA follows the weights
    with torch.no_grad():
        for k, v in net.state_dict().items():
            if v.dtype.is_floating_point:
                ema[k].mul_(d).add_(v.detach(), alpha=1 - d)
            else:
                ema[k].copy_(v)


# ---------------------------------------------------------------------------- logging
class _Logger:
    """Rank-0 run logs: JSONL (all records), CSV (training records), curves, TensorBoard."""

    CSV_FIELDS = ["step", "seconds", "cpu_seconds", "loss", "lr", "samples_per_s", "queries_per_s", "data_fraction"]

    def __init__(self, out: Path, resume_step: int | None):
        self.out = out
        self.jsonl = out / "log.jsonl"
        self.csv = out / "log.csv"
        if resume_step is not None:
            self._truncate(resume_step)
        else:
            for p in (self.jsonl, self.csv):
                p.unlink(missing_ok=True)
        self.tb = None
        try:
            from torch.utils.tensorboard import SummaryWriter

            self.tb = SummaryWriter(str(out / "tensorboard"))
        except (ImportError, ModuleNotFoundError):
            log.debug("TensorBoard not installed; logging to JSONL/CSV only")

    def _truncate(self, step: int) -> None:
        """Drop records written after the checkpoint we resume from (they will be redone)."""
        if self.jsonl.exists():
            keep = [ln for ln in self.jsonl.read_text().splitlines()
                    if ln.strip() and json.loads(ln)["step"] <= step]
            write_atomic(self.jsonl, "".join(ln + "\n" for ln in keep))
        if self.csv.exists():
            rows = list(csv.DictReader(io.StringIO(self.csv.read_text())))
            self._write_csv([r for r in rows if int(r["step"]) <= step])

    def _write_csv(self, rows: list[dict]) -> None:
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=self.CSV_FIELDS, extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
        write_atomic(self.csv, buf.getvalue())

    def write(self, record: dict[str, Any]) -> None:
        with open(self.jsonl, "a", encoding="utf-8") as f:
            f.write(json.dumps(record) + "\n")
        if record["kind"] == "train":
            new = not self.csv.exists()
            with open(self.csv, "a", encoding="utf-8", newline="") as f:
                w = csv.DictWriter(f, fieldnames=self.CSV_FIELDS, extrasaction="ignore")
                if new:
                    w.writeheader()
                w.writerow(record)
        if self.tb is not None:
            for k, v in record.items():
                if isinstance(v, (int, float)) and k not in ("step", "kind"):
                    self.tb.add_scalar(f"{record['kind']}/{k}", v, record["step"])

    def records(self) -> list[dict[str, Any]]:
        if not self.jsonl.exists():
            return []
        return [json.loads(ln) for ln in self.jsonl.read_text().splitlines() if ln.strip()]

    def plot(self) -> None:
        try:
            from .curves import plot_curves
        except ImportError:  # matplotlib missing
            return
        plot_curves(self.records(), self.out / "curves.png")

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()


# ---------------------------------------------------------------------------- the loop
def _prepare_out(out: Path, resume: Path | None, d: _Dist) -> None:
    if d.main:
        out.mkdir(parents=True, exist_ok=True)
        if resume is None and (out / CHECKPOINT).exists():
            raise ConfigError(f"{out / CHECKPOINT} exists: pass --resume {out / CHECKPOINT} to "
                              f"continue that run, or choose another --out")


def train(cfg: TrainConfig, out: str | os.PathLike, *, resume: str | os.PathLike | None = None,
          stop_at_step: int | None = None, minutes: float | None = None,
          budget_minutes: float | None = None, progress: bool = True) -> TrainResult:
    """Train (or continue training) a LIIF model as ``cfg`` says; write the run into ``out``.

    Args:
        cfg: the validated config (:func:`~clearzoom.train.config.load_config`).
        out: run folder: ``checkpoint.pt``, ``config.yaml``, ``log.jsonl``, ``log.csv``,
            ``curves.png``.
        resume: a checkpoint to continue from (same model spec); the schedule, EMA, step count
            and batches continue exactly where it stopped.
        stop_at_step: stop (and checkpoint) after this step although ``train.steps`` is larger.
        minutes: stop (and checkpoint) once this much wall time has passed in this call.
        budget_minutes: stop (and checkpoint) once the run's training compute, summed over all
            its resumed parts and excluding validation, reaches this many minutes: CPU time of
            this process on CPU (so other work on the machine does not shrink a run), wall time
            on GPU.
        progress: show a progress bar on rank 0.

    Errors in the config or the data (missing folder, no usable image, bad values) raise
    :class:`~clearzoom.errors.ConfigError` before any training step.
    """
    out = Path(out)
    resume = Path(resume) if resume is not None else None
    d = _init_distributed(cfg.train.device)
    try:
        return _train(cfg, out, resume, stop_at_step, minutes, budget_minutes, progress, d)
    finally:
        if d.world > 1:
            import torch.distributed as dist

            if dist.is_initialized():
                dist.destroy_process_group()


def _train(cfg: TrainConfig, out: Path, resume: Path | None, stop_at_step: int | None,
           minutes: float | None, budget_minutes: float | None, progress: bool,
           d: _Dist) -> TrainResult:
    t_start = time.perf_counter()
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

    # The model, then the data: every config and data error surfaces before training starts.
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
    net.to(device)
    if rc.channels_last:
        net.to(memory_format=torch.channels_last)
    opt_cls = torch.optim.AdamW if cfg.optim.name == "adamw" else torch.optim.Adam
    opt = opt_cls(net.parameters(), lr=cfg.optim.lr, betas=cfg.optim.betas,
                  weight_decay=cfg.optim.weight_decay)
    files = list_images(cfg.data.train)
    train_files, val_files = split_files(files, cfg.data.val_every)
    store = ImageStore(train_files, cache=cfg.data.cache, predownscale=cfg.data.predownscale,
                       predownscale_formats=cfg.data.predownscale_formats,
                       min_side=cfg.data.min_side)
    if len(store) == 0:
        raise ConfigError(f"data.train: none of the {len(train_files)} training images is usable")
    sampler = PatchSampler(store, cfg.data, cfg.degrade, seed=cfg.seed, rank=d.rank,
                           world_size=d.world)
    val = ValidationSet(val_files, cfg.validate, cfg.data.val_max) if d.main else None
    if d.main:
        log.info("%d training images (%d skipped, %.0f MB cached), %d validation crops",
                 len(store), len(store.skipped), store.nbytes / 1e6, val.num_images)

    scaler = torch.amp.GradScaler("cuda") if precision == "fp16" else None
    step, seconds, cpu_seconds, last_val = 0, 0.0, 0.0, None
    if state is not None:
        net.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        torch.set_rng_state(state["rng"]["torch"])
        step, seconds, last_val = state["step"], state["seconds"], state.get("last_validation")
        cpu_seconds = state.get("cpu_seconds", seconds)
        if d.main:
            log.info("resumed %s at step %d (%.1f min trained)", resume, step, seconds / 60)
    ema = None  # from the loaded weights (or the checkpoint's EMA), never from fresh ones
    if cfg.optim.ema > 0:
        saved = state.get("ema") if state is not None else None
        ema = ({k: v.to(device) for k, v in saved.items()} if saved is not None
               else {k: v.detach().clone() for k, v in net.state_dict().items()})
    model_for_ddp = net
    if d.world > 1:
        from torch.nn.parallel import DistributedDataParallel

        model_for_ddp = DistributedDataParallel(net, device_ids=[d.local_rank] if use_cuda else None)

    if rc.compile:
        model_for_ddp = torch.compile(model_for_ddp)
    logger = _Logger(out, step if state is not None else None) if d.main else None
    if d.main:
        import yaml

        write_atomic(out / "config.yaml", yaml.safe_dump(cfg.to_dict(), sort_keys=False))
        if val is not None and state is None:
            logger.write({"kind": "bicubic", "step": 0, **val.bicubic()})

    end = min(rc.steps, stop_at_step) if stop_at_step is not None else rc.steps
    loader = _loader(sampler, step, end, cfg.data.workers, use_cuda)

    def snapshot() -> dict[str, Any]:
        return {"config": cfg.to_dict(), "step": step, "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "model": {k: v.detach().cpu() for k, v in net.state_dict().items()},
                "ema": {k: v.cpu() for k, v in ema.items()} if ema is not None else None,
                "optimizer": opt.state_dict(),
                "scheduler": {"schedule": cfg.optim.schedule, "lr": lr_at(max(step - 1, 0), cfg)},
                "scaler": scaler.state_dict() if scaler is not None else None,
                "rng": {"torch": torch.get_rng_state()},
                "last_validation": last_val}

    def validate() -> dict[str, float]:
        eval_net = copy.deepcopy(net).eval()
        if ema is not None:
            eval_net.load_state_dict(ema)
        model = Model(cfg.name, cfg.model.spec, eval_net, norm)
        t = time.perf_counter()
        res = val.evaluate(model, device)
        res["seconds_validation"] = round(time.perf_counter() - t, 2)
        return res

    bar = None
    if d.main and progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=end, initial=step, unit="step", dynamic_ncols=True, desc=cfg.name)
    ckpt_path = out / CHECKPOINT
    last_ckpt = time.perf_counter()
    win = {"loss": 0.0, "n": 0, "data": 0.0, "total": 0.0}
    inp_sub, inp_div = norm.inp_sub, norm.inp_div
    net.train()
    stopped_early = interrupted = False
    val_step = step if state is not None else -1
    # SIGTERM (kill, a scheduler, a session ending) stops at the next step with a checkpoint, as
    # Ctrl-C does; background jobs started by a shell ignore SIGINT, so this is how to stop them.
    term = {"flag": False}
    old_term = None
    if threading.current_thread() is threading.main_thread():
        old_term = signal.signal(signal.SIGTERM, lambda *_: term.update(flag=True))
    if d.main and state is None:  # where the run starts from (the test of any training)
        last_val = validate()
        val_step = 0
        logger.write({"kind": "val", "step": 0, "seconds": 0.0, **last_val})
    try:
        it = iter(loader)
        while step < end:
            if term["flag"]:
                raise KeyboardInterrupt
            over = ((minutes is not None and time.perf_counter() - t_start > minutes * 60)
                    or (budget_minutes is not None
                        and (seconds if use_cuda else cpu_seconds) >= budget_minutes * 60))
            if (minutes is not None or budget_minutes is not None) and _any_rank(over, d):
                stopped_early = True
                break
            t0, c0 = time.perf_counter(), time.process_time()
            batch = next(it)
            t1 = time.perf_counter()
            inp = ((batch.inp.to(device, non_blocking=True) - inp_sub) / inp_div)
            if rc.channels_last:
                inp = inp.contiguous(memory_format=torch.channels_last)
            coord = batch.coord.to(device, non_blocking=True)
            cell = batch.cell.to(device, non_blocking=True)
            gt = (batch.gt.to(device, non_blocking=True) - norm.gt_sub) / norm.gt_div
            lr_now = lr_at(step, cfg)
            for g in opt.param_groups:
                g["lr"] = lr_now
            strength = batch.strength.to(device, non_blocking=True)
            with autocast(precision, device):
                pred = model_for_ddp(inp, coord, cell, strength)
            loss = F.l1_loss(pred.float(), gt)
            opt.zero_grad(set_to_none=True)
            if scaler is not None:
                scaler.scale(loss).backward()
                scaler.unscale_(opt)
            else:
                loss.backward()
            if cfg.optim.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(net.parameters(), cfg.optim.grad_clip)
            if scaler is not None:
                scaler.step(opt)
                scaler.update()
            else:
                opt.step()
            if ema is not None:
                _ema_update(ema, net, cfg.optim.ema, step)
            step += 1
            t2 = time.perf_counter()
            seconds += t2 - t0
            cpu_seconds += time.process_time() - c0
            win["loss"] += loss.item()
            win["n"] += 1
            win["data"] += t1 - t0
            win["total"] += t2 - t0
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
            if d.main and (step % rc.log_every == 0 or step == end):
                n = win["n"]
                rate = n * cfg.data.batch / win["total"]
                logger.write({"kind": "train", "step": step, "seconds": round(seconds, 2),
                              "cpu_seconds": round(cpu_seconds, 2),
                              "loss": win["loss"] / n, "lr": lr_now,
                              "samples_per_s": round(rate, 3),
                              "queries_per_s": round(rate * cfg.data.queries, 1),
                              "data_fraction": round(win["data"] / win["total"], 4)})
                win = {"loss": 0.0, "n": 0, "data": 0.0, "total": 0.0}
            if d.main and (step % cfg.validate.every == 0 or step == end):
                last_val = validate()
                val_step = step
                logger.write({"kind": "val", "step": step, "seconds": round(seconds, 2), **last_val})
                logger.plot()
                if bar is not None:
                    bar.write(f"step {step}: " + ", ".join(
                        f"{k} {v:.2f}" for k, v in last_val.items() if k.startswith("x")))
            if d.main and time.perf_counter() - last_ckpt > rc.checkpoint_minutes * 60:
                save_state(ckpt_path, snapshot())
                last_ckpt = time.perf_counter()
    except KeyboardInterrupt:
        stopped_early = interrupted = True
        if d.main:
            log.warning("stopped (Ctrl-C or SIGTERM) at step %d: saving a checkpoint", step)
    finally:
        if bar is not None:
            bar.close()
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
    if d.main:
        if stopped_early and not interrupted and val_step != step:
            last_val = validate()
            logger.write({"kind": "val", "step": step, "seconds": round(seconds, 2), **last_val})
        save_state(ckpt_path, snapshot())
        if stopped_early:
            log.info("stopped at step %d of %d; continue with --resume %s", step, rc.steps, ckpt_path)
        logger.plot()
        logger.close()
    return TrainResult(ckpt_path, step, seconds, last_val)


def _loader(sampler: PatchSampler, start: int, end: int, workers: int, pin: bool):
    ds = StepBatches(sampler, start, end)
    if workers == 0:
        return (ds[i] for i in range(len(ds)))
    return torch.utils.data.DataLoader(ds, batch_size=None, shuffle=False, num_workers=workers,
                                       pin_memory=pin, prefetch_factor=4, persistent_workers=False)


def config_of_checkpoint(path: str | os.PathLike) -> TrainConfig:
    """The (validated) config a training checkpoint was made with."""
    return config_from_dict(load_state(path)["config"])
