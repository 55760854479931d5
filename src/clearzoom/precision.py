"""Devices and numeric precision: what this machine can run, and the autocast of each precision.

At the bottom of the package (torch only), so that models, inference, training and benchmarks
share one answer to "is bf16 native here?" and one autocast.
"""

from __future__ import annotations

import contextlib

import torch

__all__ = [
    "PRECISIONS",
    "autocast",
    "cpu_has_fast_bf16",
    "int8_available",
    "resolve_device",
    "resolve_precision",
]

PRECISIONS = ("auto", "fp32", "int8", "bf16", "fp16")


def resolve_device(device: str | torch.device | None) -> torch.device:
    """``auto``/None -> CUDA if available, else CPU."""
    if device is None or str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    dev = torch.device(device)
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' requested but CUDA is not available")
    return dev


def cpu_has_fast_bf16() -> bool:
    """True when oneDNN reports native bf16 on this CPU (AVX-512 BF16 / AMX).

    Without it, bf16 matmuls are emulated and much slower than fp32 (measured 50x on an AVX2-only
    EPYC, see benchmarks/), so ``auto`` keeps fp32 there.
    """
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # pragma: no cover - older/odd builds
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto`` -> fp16 on CUDA, bf16 on CPUs with native bf16, int8 on other CPUs.

    ``int8`` quantises only the MLP's hidden layers (dynamic int8, fbgemm), which carry most of the
    work; everything else stays fp32. ``fp32`` is exact. The PSNR cost of each is measured in
    benchmarks/ (``auto`` must stay within 0.05 dB of fp32).
    """
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    if precision != "auto":
        return precision
    if device.type == "cuda":
        return "fp16"
    if cpu_has_fast_bf16():
        return "bf16"
    return "int8" if int8_available() else "fp32"


def int8_available() -> bool:
    """True when this torch build has the fbgemm engine that dynamic int8 needs."""
    return "fbgemm" in torch.backends.quantized.supported_engines


def autocast(precision: str, device: torch.device) -> contextlib.AbstractContextManager:
    """The autocast context of a resolved precision: none for fp32 and int8 (int8 quantises
    layers, not activations), bf16 or fp16 autocast otherwise."""
    if precision in ("fp32", "int8"):
        return contextlib.nullcontext()
    dtype = torch.bfloat16 if precision == "bf16" else torch.float16
    return torch.autocast(device.type, dtype=dtype)
