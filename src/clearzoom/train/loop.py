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

import logging
import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .checkpoint import save_state
from .config import TrainConfig
from .data import BatchSource, StepBatches
from .distributed import any_rank, init_distributed, shutdown_distributed
from .setup import Run, setup_run
from .step import train_step

__all__ = ["TrainResult", "train"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainResult:
    checkpoint: Path
    step: int
    seconds: float
    last_validation: dict[str, float] | None


def train(
    cfg: TrainConfig,
    out: str | os.PathLike,
    *,
    resume: str | os.PathLike | None = None,
    stop_at_step: int | None = None,
    minutes: float | None = None,
    budget_minutes: float | None = None,
    progress: bool = True,
) -> TrainResult:
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
    t_start = time.perf_counter()
    d = init_distributed(cfg.train.device)
    try:
        run = setup_run(cfg, Path(out), Path(resume) if resume is not None else None, d)
        end = min(cfg.train.steps, stop_at_step) if stop_at_step is not None else cfg.train.steps
        limits = _Limits(t_start, minutes, budget_minutes)
        return _train(run, end, limits, progress)
    finally:
        shutdown_distributed(d)


@dataclass
class _Limits:
    """When to stop before ``end``: wall minutes of this call, or the run's training budget."""

    t_start: float
    minutes: float | None
    budget_minutes: float | None

    def reached(self, run: Run) -> bool | None:
        """None when there is no limit; else whether one is reached (agreed across ranks)."""
        if self.minutes is None and self.budget_minutes is None:
            return None
        over = (self.minutes is not None and time.perf_counter() - self.t_start > self.minutes * 60) or (
            self.budget_minutes is not None
            and (run.seconds if run.use_cuda else run.cpu_seconds) >= self.budget_minutes * 60
        )
        return any_rank(over, run.d)

    def describe(self, run: Run) -> str:
        """Where the run stands against its limits, for the progress bar ("" when none)."""
        parts = []
        if self.budget_minutes is not None:
            used = (run.seconds if run.use_cuda else run.cpu_seconds) / 60
            parts.append(f"budget {used:.0f}/{self.budget_minutes:g} min")
        if self.minutes is not None:
            parts.append(f"wall {(time.perf_counter() - self.t_start) / 60:.0f}/{self.minutes:g} min")
        return ", ".join(parts)


@dataclass
class _Window:
    """Training statistics since the last log record."""

    loss: float = 0.0
    n: int = 0
    data: float = 0.0
    total: float = 0.0

    terms: dict[str, float] = field(default_factory=dict)  # sums of a perceptual run's loss terms

    def add(self, loss: float, data_seconds: float, step_seconds: float, terms: dict[str, float]) -> None:
        self.loss += loss
        self.n += 1
        self.data += data_seconds
        self.total += step_seconds
        for k, v in terms.items():
            self.terms[k] = self.terms.get(k, 0.0) + v

    def record(self, run: Run, lr_now: float) -> dict[str, Any]:
        rate = self.n * run.cfg.data.batch / self.total
        return {
            "kind": "train",
            "step": run.step,
            "seconds": round(run.seconds, 2),
            "cpu_seconds": round(run.cpu_seconds, 2),
            "loss": self.loss / self.n,
            "lr": lr_now,
            "samples_per_s": round(rate, 3),
            "queries_per_s": round(rate * run.cfg.data.queries, 1),
            "data_fraction": round(self.data / self.total, 4),
            **{k: v / self.n for k, v in self.terms.items()},
        }


@dataclass
class _Cadence:
    """What happens after each step: the progress bar, and on rank 0 the log records, validation
    and periodic checkpoints."""

    end: int
    bar: Any
    val_step: int
    limits: _Limits | None = None
    win: _Window = field(default_factory=_Window)
    last_ckpt: float = field(default_factory=time.perf_counter)

    def after_step(
        self, run: Run, loss: float, lr_now: float, data_s: float, step_s: float, terms: dict[str, float]
    ) -> None:
        self.win.add(loss, data_s, step_s, terms)
        if self.bar is not None:
            self.bar.update(1)
            limits = self.limits.describe(run) if self.limits is not None else ""
            self.bar.set_postfix_str(f"loss={loss:.4f}" + (f", {limits}" if limits else ""), refresh=False)
        if not run.d.main:
            return
        assert run.log is not None
        if run.step % run.cfg.train.log_every == 0 or run.step == self.end:
            run.log.write(self.win.record(run, lr_now))
            self.win = _Window()
        if run.step % run.cfg.validate.every == 0 or run.step == self.end:
            self.val_step = _validate(run, self.bar)
        if time.perf_counter() - self.last_ckpt > run.cfg.train.checkpoint_minutes * 60:
            save_state(run.checkpoint, run.snapshot())
            self.last_ckpt = time.perf_counter()


def _train(run: Run, end: int, limits: _Limits, progress: bool) -> TrainResult:
    """The loop: steps until ``end`` or a limit, logging, validating and checkpointing on cadence;
    Ctrl-C or SIGTERM stops at the next step with a checkpoint."""
    loader = _loader(run.sampler, run.step, end, run.cfg.data.workers, run.use_cuda)
    cadence = _Cadence(
        end,
        _progress_bar(run, end) if run.d.main and progress else None,
        val_step=run.step if run.resumed else -1,
        limits=limits,
    )
    run.net.train()
    stopped_early = interrupted = False
    # SIGTERM (kill, a scheduler, a session ending) stops at the next step with a checkpoint, as
    # Ctrl-C does; background jobs started by a shell ignore SIGINT, so this is how to stop them.
    term = {"flag": False}
    old_term = None
    if threading.current_thread() is threading.main_thread():
        old_term = signal.signal(signal.SIGTERM, lambda *_: term.update(flag=True))
    if run.d.main and not run.resumed:  # where the run starts from (the test of any training)
        cadence.val_step = _validate(run, cadence.bar)
    try:
        it = iter(loader)
        while run.step < end:
            if term["flag"]:
                raise KeyboardInterrupt
            if limits.reached(run):
                stopped_early = True
                break
            t0, c0 = time.perf_counter(), time.process_time()
            batch = next(it)
            t1 = time.perf_counter()
            loss, lr_now, terms = train_step(run, batch)
            run.step += 1
            t2 = time.perf_counter()
            run.seconds += t2 - t0
            run.cpu_seconds += time.process_time() - c0
            cadence.after_step(run, loss, lr_now, t1 - t0, t2 - t0, terms)
    except KeyboardInterrupt:
        stopped_early = interrupted = True
        if run.d.main:
            log.warning("stopped (Ctrl-C or SIGTERM) at step %d: saving a checkpoint", run.step)
    finally:
        if cadence.bar is not None:
            cadence.bar.close()
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)
    if run.d.main:
        _finish(
            run,
            validate=stopped_early and not interrupted and cadence.val_step != run.step,
            stopped_early=stopped_early,
        )
    return TrainResult(run.checkpoint, run.step, run.seconds, run.last_val)


def _progress_bar(run: Run, end: int):
    """Steps done of the schedule's ``end``; the postfix says where a time budget stands (the run
    may stop there first) and when it is validating; validation time is left out of the rate."""
    from tqdm.auto import tqdm

    return tqdm(total=end, initial=run.step, unit="step", dynamic_ncols=True, desc=run.cfg.name)


def _validate(run: Run, bar) -> int:
    """Validate, log the record (and the curves after the first step); returns the step."""
    if bar is not None:
        bar.set_postfix_str(f"validating at step {run.step}", refresh=True)
    run.last_val = run.validate()
    if bar is not None:
        bar.unpause()  # the step rate (and so the ETA) leaves the validation's time out
    assert run.log is not None
    run.log.write(
        {
            "kind": "val",
            "step": run.step,
            "seconds": round(run.seconds, 2) if run.step else 0.0,
            **run.last_val,
        }
    )
    if run.step:
        run.log.plot()
        if bar is not None:
            bar.write(
                f"step {run.step}: "
                + ", ".join(f"{k} {v:.2f}" for k, v in run.last_val.items() if k.startswith("x"))
            )
    return run.step


def _finish(run: Run, *, validate: bool, stopped_early: bool) -> None:
    """Rank 0 at the end: validate where the run stopped (unless just done), save, plot, close."""
    assert run.log is not None
    if validate:
        run.last_val = run.validate()
        run.log.write({"kind": "val", "step": run.step, "seconds": round(run.seconds, 2), **run.last_val})
    save_state(run.checkpoint, run.snapshot())
    if stopped_early:
        log.info(
            "stopped at step %d of %d; continue with --resume %s",
            run.step,
            run.cfg.train.steps,
            run.checkpoint,
        )
    run.log.plot()
    run.log.close()


def _loader(sampler: BatchSource, start: int, end: int, workers: int, pin: bool):
    ds = StepBatches(sampler, start, end)
    if workers == 0:
        return (ds[i] for i in range(len(ds)))
    return torch.utils.data.DataLoader(
        ds,
        batch_size=None,
        shuffle=False,
        num_workers=workers,
        pin_memory=pin,
        prefetch_factor=4,
        persistent_workers=False,
    )
