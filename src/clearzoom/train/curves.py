"""Training curves (loss and validation PSNR against step) as one PNG. Needs matplotlib."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..atomic import atomic_path  # noqa: E402

__all__ = ["plot_curves"]


def plot_curves(records: list[dict[str, Any]], path: Path) -> Path:
    """Plot ``log.jsonl`` records: training loss, and validation PSNR gain over bicubic per case."""
    train = [r for r in records if r["kind"] == "train"]
    val = [r for r in records if r["kind"] == "val"]
    bicubic = next((r for r in records if r["kind"] == "bicubic"), {})
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4))
    if train:
        ax1.plot([r["step"] for r in train], [r["loss"] for r in train], lw=1)
    ax1.set(xlabel="step", ylabel="L1 loss (normalised)", title="training loss")
    ax1.grid(alpha=0.3)
    keys = [k for k in (val[-1] if val else {}) if k.startswith("x")]
    for k in keys:
        base = bicubic.get(k, 0.0)
        ax2.plot([r["step"] for r in val], [r[k] - base for r in val], marker=".", label=k)
    ax2.axhline(0, color="grey", lw=0.8)
    ax2.set(xlabel="step", ylabel="PSNR-Y gain over bicubic (dB)", title="validation")
    ax2.grid(alpha=0.3)
    if keys:
        ax2.legend(fontsize=8, ncol=2)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)
    return path
