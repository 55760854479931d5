"""Several training processes (``torchrun``): who this process is, and agreeing to stop together."""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

__all__ = ["Dist", "any_rank", "init_distributed", "shutdown_distributed"]


@dataclass(frozen=True)
class Dist:
    """This process's place: its rank among ``world`` processes and its local GPU index."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """Rank 0 validates, logs and checkpoints."""
        return self.rank == 0


def init_distributed(device_pref: str) -> Dist:
    """Join the process group that ``torchrun`` describes (gloo on CPU, nccl on GPU), if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    import torch.distributed as dist

    use_cuda = device_pref != "cpu" and torch.cuda.is_available()
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    d = Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    if use_cuda:
        torch.cuda.set_device(d.local_rank)
    return d


def shutdown_distributed(d: Dist) -> None:
    if d.world > 1:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()


def any_rank(flag: bool, d: Dist) -> bool:
    """True on every rank if ``flag`` is true on any rank (so that all ranks stop together)."""
    if d.world == 1:
        return flag
    import torch.distributed as dist

    t = torch.tensor([1.0 if flag else 0.0])
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item())
