"""A run's logs (rank 0): ``log.jsonl`` (every record), ``log.csv`` (training records), the
curves (with matplotlib) and TensorBoard (when installed)."""

from __future__ import annotations

import csv
import io
import json
import logging
from pathlib import Path
from typing import Any

from ..atomic import write_atomic

__all__ = ["RunLog"]

log = logging.getLogger(__name__)


class RunLog:
    """The logs of one run folder; on resume, records after the resumed step are dropped."""

    CSV_FIELDS = [
        "step",
        "seconds",
        "cpu_seconds",
        "loss",
        "lr",
        "samples_per_s",
        "queries_per_s",
        "data_fraction",
    ]

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
            keep = [
                ln
                for ln in self.jsonl.read_text().splitlines()
                if ln.strip() and json.loads(ln)["step"] <= step
            ]
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
