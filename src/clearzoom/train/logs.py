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
from ..errors import ConfigError

__all__ = ["RunLog"]

log = logging.getLogger(__name__)


def _step_of(row: dict[str, Any]) -> int | None:
    """The step of a CSV row, None for a row cut short (a run killed mid-write)."""
    if any(v is None for v in row.values()):
        return None
    try:
        return int(row["step"])
    except (KeyError, TypeError, ValueError):
        return None


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
        """Drop records written after the checkpoint we resume from (they will be redone), and a
        last line that a killed run left half-written."""
        if self.jsonl.exists():
            keep = [json.dumps(r) for r in self.records() if r["step"] <= step]
            write_atomic(self.jsonl, "".join(ln + "\n" for ln in keep))
        if self.csv.exists():
            rows = list(csv.DictReader(io.StringIO(self.csv.read_text())))
            self._write_csv([r for r in rows if (s := _step_of(r)) is not None and s <= step])

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
        """The JSONL records; a torn last line (a run killed mid-write) is left out with a warning.

        Raises:
            ConfigError: a line before the last that is not a record (naming the file and line).
        """
        if not self.jsonl.exists():
            return []
        lines = [(n, ln) for n, ln in enumerate(self.jsonl.read_text().splitlines(), 1) if ln.strip()]
        out = []
        for i, (n, ln) in enumerate(lines):
            try:
                record = json.loads(ln)
                if not isinstance(record, dict) or "step" not in record:
                    raise ValueError("no step")
            except ValueError:
                if i == len(lines) - 1:
                    log.warning("%s:%d: a half-written last record, left out", self.jsonl, n)
                    continue
                raise ConfigError(f"{self.jsonl}:{n}: not a log record; fix or delete the line") from None
            out.append(record)
        return out

    def plot(self) -> None:
        try:
            from .curves import plot_curves
        except ImportError:  # matplotlib missing
            return
        plot_curves(self.records(), self.out / "curves.png")

    def close(self) -> None:
        if self.tb is not None:
            self.tb.close()
