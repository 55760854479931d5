"""Start a run from a trained model's weights, possibly into a deeper encoder (``model.init_from``).

ESRGAN-style fine-tuning starts from the faithful weights; growing capacity on a CPU budget starts
from them too: an EDSR encoder with more residual blocks than the source keeps the source's blocks
first and its last convolution, and each new block starts as the identity (its second convolution
zeroed, so ``x + body(x) = x``). The grown network then computes exactly what the source did, and
training adds what the new blocks can learn.
"""

from __future__ import annotations

import re

import torch

from ..errors import ConfigError
from ..models.edsr import EDSR, ResBlock
from ..models.liif import LIIF

__all__ = ["warm_start"]

_BLOCK = re.compile(r"^encoder\.body\.(\d+)\.")


def _n_blocks(keys: list[str]) -> int:
    """Residual blocks of the EDSR encoder whose state-dict keys these are (0 if none)."""
    found = {int(m[1]) for k in keys if (m := _BLOCK.match(k)) and ".body." in k[m.end() - 1 :]}
    return max(found) + 1 if found else 0


def warm_start(net: LIIF, source: dict[str, torch.Tensor], name: str = "the source") -> int:
    """Load ``source`` (a LIIF state dict) into ``net``; returns how many encoder blocks were added.

    Raises:
        ConfigError: a weight that exists in both with different shapes, a key of ``source`` that
            ``net`` lacks, or a shallower encoder than the source's.
    """
    target = net.state_dict()
    n_src, n_dst = _n_blocks(list(source)), _n_blocks(list(target))
    if n_dst < n_src:
        raise ConfigError(f"model.init_from: {name} has {n_src} encoder blocks, the spec only {n_dst}")
    moved = {}
    for key, value in source.items():
        m = _BLOCK.match(key)
        if m and int(m[1]) == n_src and n_src != n_dst:  # the encoder's last conv moves to the end
            key = f"encoder.body.{n_dst}." + key[m.end() :]
        if key not in target:
            raise ConfigError(f"model.init_from: {name}'s weight {key} has no place in the spec")
        if target[key].shape != value.shape:
            raise ConfigError(
                f"model.init_from: {name}'s {key} is {tuple(value.shape)}, the spec's "
                f"{tuple(target[key].shape)}"
            )
        moved[key] = value
    net.load_state_dict(moved, strict=False)
    if n_dst > n_src and isinstance(net.encoder, EDSR):
        with torch.no_grad():
            for block in list(net.encoder.body)[n_src:n_dst]:
                assert isinstance(block, ResBlock)
                last = block.body[2]
                assert isinstance(last, torch.nn.Conv2d) and last.bias is not None
                last.weight.zero_()
                last.bias.zero_()
    return n_dst - n_src
